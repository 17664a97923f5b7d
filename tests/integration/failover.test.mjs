// Integration: priority groups and failover through the real `sluice`. Providers live on
// separate sluice-mock instances (one answering 503 to everything, one 429, one slow, a port
// nobody listens on, a server that resets every connection) next to a healthy mock; each
// Backend puts a failing provider in group 0 and a healthy one in group 1. A request must come
// back from the healthy provider, say so in x-sluice-provider / x-sluice-attempts, and never
// be sent twice to the provider that failed it.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { parseSse } from '../lib/providers.mjs';

let healthy;
let sick503;
let sick429;
let slow;
let sickEject;
let resetServer;
let deadPort;
let sluice;
const resetConnections = { count: 0 };

function provider(name, kind, port, extra = '') {
  const auth = kind === 'anthropic' ? '{kind: Inline, inline: sk-ant}' : '{kind: Inline, inline: sk-test}';
  return `      - name: ${name}
        ${kind}: {authToken: ${auth}${extra}}
        host: 127.0.0.1
        port: ${port}
`;
}

function backend(name, groups, spec = '') {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
${spec}  ai:
    priorityGroups:
${groups.map((g) => `    - providers:\n${g.join('')}`).join('')}`;
}

// A TrafficPolicy on one rule of the route (sectionName).
function policy(rule, spec) {
  return `apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${rule}}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: failover, sectionName: ${rule}}]
  ${spec}
`;
}

before(async () => {
  healthy = await startMock();
  sick503 = await startMock(['--status', '503', '--log-requests']);
  sick429 = await startMock(['--status', '429', '--log-requests']);
  slow = await startMock(['--latency-ms', '3000']);
  sickEject = await startMock(['--status', '503', '--log-requests']);
  deadPort = await freePort();
  resetServer = net.createServer((socket) => {
    resetConnections.count += 1;
    socket.once('data', () => socket.resetAndDestroy());
    socket.on('error', () => {});
  });
  await new Promise((resolve) => resetServer.listen(0, '127.0.0.1', resolve));
  const resetPort = resetServer.address().port;
  const docs = [
    backend('fo-503', [[provider('sick', 'openai', sick503.port)], [provider('claude', 'anthropic', healthy.port)]]),
    backend('fo-429', [[provider('limited', 'openai', sick429.port)], [provider('backup', 'openai', healthy.port)]]),
    backend('fo-refused', [[provider('gone', 'openai', deadPort)], [provider('backup', 'openai', healthy.port)]]),
    backend('fo-reset', [[provider('resetting', 'openai', resetPort)], [provider('backup', 'openai', healthy.port)]]),
    backend('fo-timeout', [[provider('slow', 'openai', slow.port)], [provider('backup', 'openai', healthy.port)]],
      '  timeouts: {firstByte: 300ms}\n'),
    backend('fo-same-group', [[provider('sick', 'openai', sick503.port), provider('fine', 'openai', healthy.port)]]),
    backend('all-down', [[provider('sick', 'openai', sick503.port)], [provider('gone', 'openai', deadPort)]]),
    backend('models', [[provider('m1', 'openai', healthy.port, ', model: model-one')], [provider('m2', 'anthropic', healthy.port, ', model: model-two')]]),
    backend('fo-slow', [[provider('slow', 'openai', slow.port)], [provider('backup', 'openai', healthy.port)]]),
    backend('fo-ra', [[provider('limited', 'openai', sick429.port)], [provider('backup', 'openai', healthy.port)]]),
    `${backend('fo-eject', [[provider('flaky', 'openai', sickEject.port)], [provider('backup', 'openai', healthy.port)]])}    outlierDetection: {consecutiveFailures: 2, baseEjectionTime: 400ms, maxEjectionPercent: 50}
`,
    `${backend('fo-nosecret', [[`      - name: locked
        openai: {authToken: {kind: SecretRef, secretRef: {name: missing-secret}}}
        host: 127.0.0.1
        port: ${healthy.port}
`], [provider('backup', 'openai', healthy.port)]])}`,
    policy('no-retry', 'retry: {attempts: 1}'),
    policy('only-5xx', 'retry: {retryOn: [5xx]}'),
    policy('backoff', 'retry: {backoffBaseInterval: 200ms, backoffMaxInterval: 1s}'),
    policy('per-try', 'retry: {perTryTimeout: 200ms}'),
    `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: single-sick}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: 127.0.0.1
      port: ${sick503.port}
`,
    routeYaml({
      name: 'failover',
      rules: [
        ...['fo-503', 'fo-429', 'fo-refused', 'fo-reset', 'fo-timeout', 'fo-same-group', 'all-down', 'models', 'single-sick'].map(
          (name) => [name, name],
        ),
        ['no-retry', 'fo-503'],
        ['only-5xx', 'fo-429'],
        ['backoff', 'fo-refused'],
        ['per-try', 'fo-slow'],
        ['fo-eject', 'fo-eject'],
        ['fo-nosecret', 'fo-nosecret'],
        ['fo-ra', 'fo-ra'],
      ]
        .map(([name, backendName]) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}/}}]
    backendRefs: [{name: ${backendName}}]
`)
        .join(''),
    }),
  ];
  sluice = await startSluice({ config: docs.join('---\n') });
});

after(async () => {
  await sluice?.stop();
  for (const m of [healthy, sick503, sick429, slow, sickEject]) await m?.stop();
  resetServer?.close();
});

async function chat(prefix, extra = {}, headers = {}) {
  const response = await fetch(`${sluice.url}/${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], ...extra }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

// The requests a mock answered, without the model fetcher's list calls (GET /v1/models, which
// reach every provider that lists its models, in the background).
const requestsTo = (mock) =>
  mock.stderr.filter((l) => l.includes('"msg":"request"') && !l.includes('"target":"/v1/models"')).length;

describe('failover to the next priority group before the first byte', () => {
  for (const [prefix, failing] of [
    ['fo-503', 'sick'],
    ['fo-429', 'limited'],
    ['fo-refused', 'gone'],
    ['fo-reset', 'resetting'],
    ['fo-timeout', 'slow'],
  ]) {
    // The mock's 429 carries Retry-After: 1 by default, which would hold the provider; 0 does not.
    const headers = prefix === 'fo-429' ? { 'x-mock-retry-after': '0' } : {};
    test(`${prefix}: non-streaming`, async () => {
      const res = await chat(prefix, {}, headers);
      assert.equal(res.status, 200, res.text);
      assert.notEqual(res.headers.get('x-sluice-provider'), failing);
      assert.equal(res.headers.get('x-sluice-attempts'), '2');
      assert.equal(JSON.parse(res.text).object, 'chat.completion');
    });
    test(`${prefix}: streaming`, async () => {
      const res = await chat(prefix, { stream: true }, headers);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('x-sluice-attempts'), '2');
      const events = parseSse(res.text);
      assert.equal(events.at(-1).data, '[DONE]', res.text);
      assert.ok(events.slice(0, -1).every((e) => e.data.object === 'chat.completion.chunk'));
    });
  }

  test('the failed provider is never asked twice for one request', async () => {
    await new Promise((r) => setTimeout(r, 60)); // earlier requests' log lines arrive first
    const before503 = requestsTo(sick503);
    const before429 = requestsTo(sick429);
    for (let i = 0; i < 5; i++) {
      assert.equal((await chat('fo-503')).status, 200);
      assert.equal((await chat('fo-429', {}, { 'x-mock-retry-after': '0' })).status, 200);
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(requestsTo(sick503) - before503, 5);
    assert.equal(requestsTo(sick429) - before429, 5);
  });

  test('failover crosses formats: group 1 speaks Anthropic, the client still gets OpenAI', async () => {
    const res = await chat('fo-503');
    assert.equal(res.headers.get('x-sluice-provider'), 'claude');
    assert.equal(res.headers.get('x-mock-path'), '/v1/messages');
  });

  test('within a group, a failing provider gives way to its sibling', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await chat('fo-same-group');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('x-sluice-provider'), 'fine');
    }
  });

  test('every provider failing: the last one answers, naming the attempts', async () => {
    const res = await chat('all-down');
    assert.equal(res.status, 502, res.text);
    assert.equal(res.headers.get('x-sluice-attempts'), '2');
    const body = JSON.parse(res.text);
    assert.ok(body.error.message.includes('gone'), res.text);
  });

  test('a Backend with a single provider is not retried: its 503 reaches the client', async () => {
    await new Promise((r) => setTimeout(r, 60)); // earlier requests' log lines arrive first
    const before = requestsTo(sick503);
    const res = await chat('single-sick');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('x-sluice-attempts'), '1');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(requestsTo(sick503) - before, 1);
  });

  test('the access log names the provider and the attempts', async () => {
    await chat('fo-refused');
    const line = await sluice.waitForAccessLog((l) => l.backend === 'fo-refused' && l.attempts === 2);
    assert.equal(line.provider, 'backup');
    assert.equal(line.status, 200);
    assert.equal(line.error, undefined, 'it succeeded: no error');
    assert.match((line.failover_reasons ?? []).join('; '), /gone/, 'the failed attempt is named');
  });

  test('GET /v1/models lists the models of every provider', async () => {
    const response = await fetch(`${sluice.url}/models/v1/models`);
    const list = await response.json();
    assert.deepEqual(list.data.map((m) => m.id), ['model-one', 'model-two']);
  });
});

describe('a TrafficPolicy retry section shapes the failover', () => {
  test('attempts: 1 turns failover off: the 503 reaches the client, the fallback is never asked', async () => {
    await new Promise((r) => setTimeout(r, 60)); // earlier requests' log lines arrive first
    const before = requestsTo(sick503);
    const res = await chat('no-retry');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('x-sluice-attempts'), '1');
    assert.equal(res.headers.get('x-sluice-provider'), 'sick');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(requestsTo(sick503) - before, 1);
  });

  test('retryOn without 429: a rate-limited answer is not retried', async () => {
    const res = await chat('only-5xx');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('x-sluice-attempts'), '1');
  });

  test('backoff: the retry waits at least half the base interval (jitter in the upper half)', async () => {
    const started = Date.now();
    const res = await chat('backoff');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-sluice-attempts'), '2');
    assert.ok(Date.now() - started >= 100, `failover took ${Date.now() - started} ms`);
  });

  test('perTryTimeout: a slow first provider is given up for the next one', async () => {
    const started = Date.now();
    const res = await chat('per-try');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-sluice-provider'), 'backup');
    assert.equal(res.headers.get('x-sluice-attempts'), '2');
    assert.ok(Date.now() - started < 2500, 'well before the slow provider would have answered (3 s)');
  });
});

describe('outlier detection', () => {
  test('a provider failing in a row is ejected, skipped, then probed back after its ejection time', async () => {
    const asked = () => requestsTo(sickEject);
    const settle = () => new Promise((r) => setTimeout(r, 30));
    // Two failures in a row: each request still succeeds through the fallback.
    for (let i = 0; i < 2; i++) {
      const res = await chat('fo-eject');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-sluice-attempts'), '2');
    }
    await settle();
    const afterEjection = asked();
    assert.equal(afterEjection, 2);
    // Ejected: the fallback answers at once and the flaky provider is not asked.
    for (let i = 0; i < 3; i++) {
      const res = await chat('fo-eject');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-sluice-provider'), 'backup');
      assert.equal(res.headers.get('x-sluice-attempts'), '1');
    }
    await settle();
    assert.equal(asked(), afterEjection, 'an ejected provider gets no traffic');
    assert.ok(sluice.stderr.some((l) => l.includes('"msg":"provider ejected"') && l.includes('"provider":"flaky"')));
    // /status shows it.
    const status = await (await fetch(`${sluice.adminUrl}/status`)).json();
    const eject = status.backends.find((b) => b.name === 'fo-eject');
    const flaky = eject.groups[0].providers[0];
    assert.equal(flaky.name, 'flaky');
    assert.equal(flaky.health.ejected, true);
    assert.ok(flaky.health.ejected_for_ms > 0 && flaky.health.ejected_for_ms <= 400);
    assert.equal(flaky.health.ejections, 1);
    assert.equal(eject.groups[1].providers[0].health.ejected, false);
    assert.equal(eject.outlier_detection.consecutive_failures, 2);
    // After the ejection time the next request probes it again.
    await new Promise((r) => setTimeout(r, 450));
    const probe = await chat('fo-eject');
    assert.equal(probe.status, 200);
    assert.equal(probe.headers.get('x-sluice-attempts'), '2', 'the probe went to the flaky provider first');
    await settle();
    assert.equal(asked(), afterEjection + 1);
  });
});

test('/status lists every Backend, its groups and providers, without secrets', async () => {
  const response = await fetch(`${sluice.adminUrl}/status`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /application\/json/);
  const text = await response.text();
  assert.ok(!text.includes('sk-test') && !text.includes('sk-ant'), 'no key in /status');
  const status = JSON.parse(text);
  const fo = status.backends.find((b) => b.name === 'fo-503');
  assert.deepEqual(fo.groups.map((g) => g.providers.map((p) => p.name)), [['sick'], ['claude']]);
  assert.equal(fo.groups[1].providers[0].format, 'anthropic');
  assert.equal(fo.groups[0].providers[0].available, true);
  assert.equal(fo.outlier_detection, null);
});

test('a provider whose Secret is missing is left out with a visible reason; its group fails over', async () => {
  const res = await chat('fo-nosecret');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('x-sluice-provider'), 'backup');
  assert.equal(res.headers.get('x-sluice-attempts'), '1', 'the locked provider is not even tried');
  const status = await (await fetch(`${sluice.adminUrl}/status`)).json();
  const locked = status.backends.find((b) => b.name === 'fo-nosecret').groups[0].providers[0];
  assert.equal(locked.available, false);
  assert.match(locked.unavailable_reason, /Secret "missing-secret" not found/);
});

test('metrics count attempts by outcome and ejections, per backend and provider', async () => {
  await chat('fo-503');
  const text = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
  const value = (series) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  assert.ok(value('sluice_upstream_attempts_total{backend="fo-503",provider="sick",outcome="failover"}') >= 1, text);
  assert.ok(value('sluice_upstream_attempts_total{backend="fo-503",provider="claude",outcome="success"}') >= 1);
  assert.ok(value('sluice_upstream_attempts_total{backend="single-sick",provider="single-sick",outcome="failure"}') >= 1);
  assert.ok(value('sluice_provider_ejections_total{backend="fo-eject",provider="flaky"}') >= 1, 'the outlier test ejected it');
});

describe('several API keys per provider', () => {
  let keyMock;
  let gw;
  before(async () => {
    keyMock = await startMock(['--key-status', 'revoked=401', '--key-status', 'spent=429', '--log-requests']);
    const fallback = await startMock();
    const config = [
      `apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {apiKey: revoked, apiKey2: spent, apiKey3: good}
---
apiVersion: v1
kind: Secret
metadata: {name: dead-keys}
stringData: {apiKey: revoked, apiKey2: spent}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: rotating}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: keys}}}
      host: 127.0.0.1
      port: ${keyMock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: exhausted}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
      - name: spent-provider
        openai: {authToken: {kind: SecretRef, secretRef: {name: dead-keys}}}
        host: 127.0.0.1
        port: ${keyMock.port}
    - providers:
      - name: other
        openai: {authToken: {kind: Inline, inline: fine}}
        host: 127.0.0.1
        port: ${fallback.port}
`,
      routeYaml({
        name: 'keys',
        rules: `  - matches: [{path: {type: PathPrefix, value: /rotating/}}]
    backendRefs: [{name: rotating}]
  - matches: [{path: {type: PathPrefix, value: /exhausted/}}]
    backendRefs: [{name: exhausted}]
`,
      }),
    ].join('---\n');
    gw = await startSluice({ config });
    gw.fallback = fallback;
  });
  after(async () => {
    await gw?.stop();
    await gw?.fallback?.stop();
    await keyMock?.stop();
  });

  // x-mock-retry-after: 0 keeps the mock's 429 from asking for a pause (which would hold the
  // whole provider, see the Retry-After test): these tests are about the keys.
  const ask = async (prefix) => {
    const response = await fetch(`${gw.url}/${prefix}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-retry-after': '0' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  };

  test('refused and spent keys are benched; requests keep succeeding with the good key', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await ask('rotating');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-mock-authorization'), 'Bearer good');
    }
    await new Promise((r) => setTimeout(r, 50));
    const refusals = keyMock.stderr.filter((l) => (l.includes('"status":401') || l.includes('"status":429')) &&
      !l.includes('"target":"/v1/models"')).length;
    assert.equal(refusals, 2, 'each bad key was tried once, then benched');
    assert.ok(gw.stderr.some((l) => l.includes('"msg":"API key benched"') && l.includes('"status":401')));
    assert.ok(gw.stderr.some((l) => l.includes('"msg":"API key benched"') && l.includes('"status":429')));
    const status = await (await fetch(`${gw.adminUrl}/status`)).json();
    const keys = status.backends.find((b) => b.name === 'rotating').groups[0].providers[0].keys;
    assert.deepEqual(keys.map((k) => k.benched), [true, true, false]);
    assert.ok(keys[0].benched_for_ms > 0);
    assert.ok(!JSON.stringify(status).includes('revoked'), 'no key value in /status');
  });

  test('every key benched: the provider is skipped with a clear reason, the next group serves', async () => {
    const first = await ask('exhausted');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers.get('x-sluice-provider'), 'other');
    const again = await ask('exhausted');
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-sluice-provider'), 'other');
    assert.equal(again.headers.get('x-sluice-attempts'), '2');
    const line = await gw.waitForAccessLog(
      (l) => l.backend === 'exhausted' && /every API key is benched/.test((l.failover_reasons ?? []).join('; ')),
    );
    assert.match(line.failover_reasons.join('; '), /spent-provider/);
  });
});

describe('retry budget', () => {
  let slowBackup;
  let storm;
  let gw;
  before(async () => {
    storm = await startMock(['--status', '503']);
    slowBackup = await startMock(['--latency-ms', '400']);
    const config = [
      backend('storm', [[provider('dead', 'openai', storm.port)], [provider('slow-backup', 'openai', slowBackup.port)]]),
      `apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: storm-budget}
spec:
  targetRefs: [{kind: Backend, name: storm}]
  retry: {budgetPercent: 0}
`,
      routeYaml({ name: 'storm', rules: '  - backendRefs: [{name: storm}]\n' }),
    ].join('---\n');
    gw = await startSluice({ config, workers: 1 });
  });
  after(async () => {
    await gw?.stop();
    await storm?.stop();
    await slowBackup?.stop();
  });

  // The budget is asked before a provider's answer is dropped: a request the budget stops gets
  // that provider's real answer (status and body), not a synthetic 503.
  test('a storm of failures retries at most the minimum concurrency (3) at once; the rest get the provider\'s own answer', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const response = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
        });
        return {
          status: response.status,
          provider: response.headers.get('x-sluice-provider'),
          attempts: response.headers.get('x-sluice-attempts'),
          body: await response.json(),
        };
      }),
    );
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 503);
    assert.ok(served.length >= 1 && served.length <= 3, `${served.length} retried and served`);
    assert.equal(served.length + refused.length, 10, JSON.stringify(results.map((r) => r.status)));
    for (const r of served) assert.deepEqual([r.provider, r.attempts], ['slow-backup', '2']);
    for (const r of refused) {
      assert.deepEqual([r.provider, r.attempts], ['dead', '1'], JSON.stringify(r));
      assert.notEqual(r.body.error.code, 'retry_budget_exhausted');
    }
  });
});

test('Retry-After on a 429 keeps that provider at the back of the order for that long', async () => {
  const asked = () => requestsTo(sick429);
  const settle = () => new Promise((r) => setTimeout(r, 30));
    await new Promise((r) => setTimeout(r, 60)); // earlier requests' log lines arrive first
  const before = asked();
  const first = await chat('fo-ra', {}, { 'x-mock-retry-after': '1' });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('x-sluice-attempts'), '2');
  for (let i = 0; i < 3; i++) {
    const res = await chat('fo-ra');
    assert.equal(res.headers.get('x-sluice-provider'), 'backup');
    assert.equal(res.headers.get('x-sluice-attempts'), '1', 'the provider that asked for a pause is not asked');
  }
  await settle();
  assert.equal(asked() - before, 1);
  const status = await (await fetch(`${sluice.adminUrl}/status`)).json();
  const limited = status.backends.find((b) => b.name === 'fo-ra').groups[0].providers[0];
  assert.ok(limited.health.held_for_ms > 0 && limited.health.held_for_ms <= 1000, JSON.stringify(limited.health));
  await new Promise((r) => setTimeout(r, 1050));
  const after = await chat('fo-ra');
  assert.equal(after.headers.get('x-sluice-attempts'), '2', 'after the pause it is tried first again');
});

describe('circuit breaker', () => {
  let busy;
  let gw;
  before(async () => {
    busy = await startMock(['--latency-ms', '300']);
    const config = [
      `${backend('breaker', [[provider('busy', 'openai', busy.port)], [provider('overflow', 'openai', busy.port)]])}    circuitBreaker: {maxRequests: 2}
`,
      routeYaml({ name: 'breaker', rules: '  - backendRefs: [{name: breaker}]\n' }),
    ].join('---\n');
    gw = await startSluice({ config, workers: 1 });
  });
  after(async () => {
    await gw?.stop();
    await busy?.stop();
  });

  test('a provider at maxRequests in flight takes no more: the rest go to the next provider, then a 503', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const response = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
        });
        return { status: response.status, provider: response.headers.get('x-sluice-provider'), body: await response.json() };
      }),
    );
    const by = (p) => results.filter((r) => r.status === 200 && r.provider === p).length;
    const open = results.filter((r) => r.status === 503 && r.body.error.code === 'circuit_open');
    assert.equal(by('busy'), 2, JSON.stringify(results.map((r) => [r.status, r.provider])));
    assert.equal(by('overflow'), 2);
    assert.equal(open.length, 2);
    assert.match(open[0].body.error.message, /maxRequests/);
  });
});

describe('active health checks', () => {
  let flappy;
  let flappyPort;
  let backup;
  let gw;
  const waitFor = async (predicate, ms = 3000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await predicate()) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  };
  before(async () => {
    flappy = await startMock(['--status', '503', '--log-requests']);
    flappyPort = flappy.port;
    backup = await startMock();
    const config = [
      `${backend('hc', [[provider('flappy', 'openai', flappyPort)], [provider('backup', 'openai', backup.port)]])}    healthCheck: {interval: 100ms, timeout: 300ms, unhealthyThreshold: 2, healthyThreshold: 1, path: /v1/models}
`,
      routeYaml({ name: 'hc', rules: '  - backendRefs: [{name: hc}]\n' }),
    ].join('---\n');
    gw = await startSluice({ config });
  });
  after(async () => {
    await gw?.stop();
    await flappy?.stop();
    await backup?.stop();
  });
  const ask = async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await response.text();
    return { status: response.status, provider: response.headers.get('x-sluice-provider'), attempts: response.headers.get('x-sluice-attempts') };
  };
  const flappyState = async () => {
    const status = await (await fetch(`${gw.adminUrl}/status`)).json();
    return status.backends.find((b) => b.name === 'hc').groups[0].providers[0].health.active_check;
  };

  test('failing checks make a provider unhealthy: requests go straight to the next one', async () => {
    assert.ok(await waitFor(async () => (await flappyState()) === 'unhealthy'), 'flappy became unhealthy');
    const checks = flappy.stderr.filter((l) => l.includes('"target":"/v1/models"')).length;
    assert.ok(checks >= 2, `the checks reached the provider (${checks})`);
    const res = await ask();
    assert.equal(res.status, 200);
    assert.equal(res.provider, 'backup');
    assert.equal(res.attempts, '1');
    assert.ok(gw.stderr.some((l) => l.includes('"msg":"provider unhealthy"') && l.includes('"provider":"flappy"')));
  });

  test('passing checks bring it back', async () => {
    await flappy.stop();
    flappy = await startMock([], { port: flappyPort });
    assert.ok(await waitFor(async () => (await flappyState()) === 'healthy'), 'flappy became healthy again');
    const res = await ask();
    assert.equal(res.provider, 'flappy');
    assert.equal(res.attempts, '1');
    assert.ok(gw.stderr.some((l) => l.includes('"msg":"provider healthy again"')));
  });
});

test('a Secret that disappears at reload: its provider becomes unavailable with the reason, traffic fails over', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const secretDoc = `apiVersion: v1
kind: Secret
metadata: {name: rotating-secret}
stringData: {apiKey: sk-1}
`;
  const rest = [
    backend('reloaded', [[`      - name: keyed
        openai: {authToken: {kind: SecretRef, secretRef: {name: rotating-secret}}}
        host: 127.0.0.1
        port: ${healthy.port}
`], [provider('backup', 'openai', healthy.port)]]),
    routeYaml({ name: 'reloaded', rules: '  - backendRefs: [{name: reloaded}]\n' }),
  ].join('---\n');
  const gw = await startSluice({ config: `${secretDoc}---\n${rest}` });
  try {
    const ask = async () => {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await r.text();
      return { status: r.status, provider: r.headers.get('x-sluice-provider'), auth: r.headers.get('x-mock-authorization') };
    };
    const before = await ask();
    assert.equal(before.provider, 'keyed');
    assert.equal(before.auth, 'Bearer sk-1');
    const gatewayDoc = readFileSync(gw.file, 'utf8').split('---')[0];
    writeFileSync(gw.file, `${gatewayDoc}---\n${rest}`);  // the Secret is gone
    gw.proc.kill('SIGHUP');
    let after;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await ask();
      if (after.provider === 'backup') break;
    }
    assert.equal(after.status, 200);
    assert.equal(after.provider, 'backup', 'traffic failed over once the Secret was gone');
    assert.ok(gw.stderr.some((l) => l.includes('rotating-secret')), 'the reload warned about the missing Secret');
    const status = await (await fetch(`${gw.adminUrl}/status`)).json();
    const keyed = status.backends.find((b) => b.name === 'reloaded').groups[0].providers[0];
    assert.equal(keyed.available, false);
    assert.match(keyed.unavailable_reason, /Secret "rotating-secret" not found/);
  } finally {
    await gw.stop();
  }
});
