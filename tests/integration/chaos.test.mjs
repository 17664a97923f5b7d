// Chaos: two priority groups of two providers each, while providers go down on a schedule:
// A answers 503 half the time, B resets connections half the time (in the other half), C is
// killed and restarted by this test (connection refused while down), D stays up. A fixed number
// of requests (streaming and not, bounded in count and time, loopback only) goes through the
// real `sluice`: every request must end, with a complete reply or a well-formed error, and at
// least 99.9% must succeed since D is always up. The summary is printed.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { parseSse } from '../lib/providers.mjs';

const REQUESTS = 2000;
const CONCURRENCY = 12;

let a;
let b;
let c;
let d;
let cPort;
let sluice;
let stopChaos = false;
let chaosLoop;
let kills = 0;

function provider(name, port) {
  return `      - name: ${name}
        openai: {authToken: {kind: Inline, inline: sk-test}}
        host: 127.0.0.1
        port: ${port}
`;
}

before(async () => {
  a = await startMock(['--outage', '300/150/0/503']);
  b = await startMock(['--outage', '300/150/150/reset']);
  c = await startMock();
  cPort = c.port;
  d = await startMock();
  const config = [
    `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: chaos}
spec:
  type: AI
  timeouts: {connect: 500ms, firstByte: 2s}
  ai:
    priorityGroups:
    - providers:
${provider('a', a.port)}${provider('b', b.port)}    - providers:
${provider('c', cPort)}${provider('d', d.port)}    outlierDetection: {consecutiveFailures: 3, baseEjectionTime: 100ms, maxEjectionPercent: 50}
`,
    routeYaml({ name: 'chaos', rules: '  - backendRefs: [{name: chaos}]\n' }),
  ].join('---\n');
  sluice = await startSluice({ config, workers: 2 });
  // C dies for 100 ms every 250 ms.
  chaosLoop = (async () => {
    while (!stopChaos) {
      await new Promise((r) => setTimeout(r, 250));
      if (stopChaos) break;
      await c.stop('SIGKILL');
      kills += 1;
      await new Promise((r) => setTimeout(r, 100));
      if (stopChaos) break;
      c = await startMock([], { port: cPort });
    }
  })();
});

after(async () => {
  stopChaos = true;
  await chaosLoop;
  await sluice?.stop();
  for (const m of [a, b, c, d]) await m?.stop();
});

async function one(i) {
  const stream = i % 2 === 1;
  const started = Date.now();
  const response = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: `request ${i}` }] }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  const ms = Date.now() - started;
  const attempts = Number(response.headers.get('x-sluice-attempts') ?? '0');
  if (response.status === 200) {
    if (stream) {
      const events = parseSse(text);
      const complete = events.at(-1)?.data === '[DONE]' && events.slice(0, -1).every((e) => e.data.object === 'chat.completion.chunk');
      return { ok: complete, ms, attempts, why: complete ? '' : `incomplete stream: ${text.slice(-200)}` };
    }
    const body = JSON.parse(text);
    return { ok: body.object === 'chat.completion', ms, attempts, why: '' };
  }
  // A failure must still be a well-formed OpenAI error.
  const body = JSON.parse(text);
  assert.ok(body.error && typeof body.error.message === 'string', `malformed error: ${text}`);
  return { ok: false, ms, attempts, why: `${response.status}: ${body.error.message}` };
}

test(`chaos: ${REQUESTS} requests while providers fail on a schedule`, async () => {
  const results = [];
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        results.push(await one(i));
      }
    }),
  );
  const elapsed = Date.now() - started;
  const successes = results.filter((r) => r.ok).length;
  const failovers = results.filter((r) => r.attempts > 1).length;
  const errors = results.filter((r) => !r.ok);
  const maxMs = Math.max(...results.map((r) => r.ms));
  console.log(
    `chaos summary: ${results.length} requests in ${elapsed} ms, ${successes} succeeded, ${failovers} failed over, ` +
      `${errors.length} errors, max latency ${maxMs} ms, provider C killed ${kills} times` +
      (errors.length ? `; first errors: ${errors.slice(0, 3).map((e) => e.why).join(' | ')}` : ''),
  );
  assert.equal(results.length, REQUESTS, 'every request ended');
  assert.ok(failovers > 0, 'the schedule did cause failovers');
  assert.ok(kills > 0, 'provider C was killed during the run');
  assert.ok(successes / REQUESTS >= 0.999, `${successes}/${REQUESTS} succeeded`);
});
