// bench/limits_overrun.mjs: how far concurrent clients get past one global limit shared by two
// replicas (issue 11: "with 2 replicas and 64 concurrent clients against one limit, the overrun
// is 0 requests and at most one reservation's worth of tokens"). A measurement: it prints
// tables, it asserts nothing.
//
// One redis-server (tests/lib/redis.mjs), one sluice-mock, two Sluice replicas (WORKERS workers
// each) sharing the Redis. CLIENTS clients, each a loop of chat completions alternating between
// the replicas, hammer one limit until each has been refused (429) once; each answer waits
// LATENCY_MS at the mock, so many reservations are in flight when the limit is reached. TRIALS
// trials per limit, Redis flushed between them:
//   requests: {requests: REQUESTS, unit: Day, by: [route]}: admitted (200s) − the limit = overrun;
//   tokens:   {tokens: TOKENS, unit: Day, by: [route]} (count Total): each request reserves its
//             estimate (body bytes / 4 + max_tokens MAX_TOKENS) and settles to the real usage.
//             Printed: the reservation (from the first answer's x-ratelimit-remaining-tokens),
//             the sum of the admitted answers' usage.total_tokens, the bucket left in Redis once
//             every settle is in, and the overrun = usage − the limit (negative: under it).
// A Day unit, so refill during a trial (a few seconds) is a small fraction of a token or request.
//
// Run from tests/ (for the harness):
//   SLUICE_BIN_DIR=../build/bin/ node ../bench/limits_overrun.mjs
// Environment: CLIENTS [64], WORKERS [2], TRIALS [3], REQUESTS [200], TOKENS [20000],
// MAX_TOKENS [64], LATENCY_MS [20].
import { setTimeout as sleep } from 'node:timers/promises';
import { startMock, startSluice } from '../tests/lib/harness.mjs';
import { startRedis, redisInstalled } from '../tests/lib/redis.mjs';

const CLIENTS = Number(process.env.CLIENTS ?? 64);
const WORKERS = Number(process.env.WORKERS ?? 2);
const TRIALS = Number(process.env.TRIALS ?? 3);
const REQUESTS = Number(process.env.REQUESTS ?? 200);
const TOKENS = Number(process.env.TOKENS ?? 20000);
const MAX_TOKENS = Number(process.env.MAX_TOKENS ?? 64);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 20);

if (!redisInstalled()) {
  console.error('limits_overrun: redis-server is not installed (scripts/install-deps.sh)');
  process.exit(1);
}

const redis = await startRedis();
const mock = await startMock(['--threads', '2', '--chunks', '4']);
const config = (limit) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: llm}
spec:
  type: AI
  ai: {llm: {openai: {authToken: {kind: Inline, inline: sk-p}}, host: 127.0.0.1, port: ${mock.port}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: llm}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: limit}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  rateLimit:
    global:
      limits:
      - ${limit}
`;
const gatewayExtra = `  redis: {address: "127.0.0.1:${redis.port}", keyPrefix: "o:"}\n`;

const body = JSON.stringify({
  model: 'gpt-4o-mini',
  max_tokens: MAX_TOKENS,
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'How many requests does a shared limit let through?' },
  ],
});
const chat = (replica) =>
  fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-latency-ms': String(LATENCY_MS) },
    body,
  });

// The fields of the one limit's Redis hash.
function bucket() {
  const keys = redis.cli(['--scan', '--pattern', 'o:{limits}:rl:*']).split('\n').filter(Boolean);
  if (keys.length !== 1) return { key: keys.join(' '), fields: {} };
  const flat = redis.cli(['HGETALL', keys[0]]).split('\n');
  const fields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return { key: keys[0], fields };
}

// CLIENTS loops until each was refused once: {admitted, refused, other, usage (sum of
// usage.total_tokens of the admitted), ms}.
async function hammer(replicas) {
  const out = { admitted: 0, refused: 0, other: {}, usage: 0 };
  const start = Date.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = client; ; ++n) {
        const res = await chat(replicas[n % replicas.length]);
        const text = await res.text();
        if (res.status === 200) {
          out.admitted += 1;
          out.usage += JSON.parse(text).usage?.total_tokens ?? 0;
        } else if (res.status === 429) {
          out.refused += 1;
          return;
        } else {
          out.other[res.status] = (out.other[res.status] ?? 0) + 1;
          if (Object.values(out.other).reduce((a, b) => a + b, 0) > 100) return;
        }
      }
    }),
  );
  out.ms = Date.now() - start;
  return out;
}

async function replicasWith(limit) {
  const text = config(limit);
  return Promise.all([0, 1].map(() => startSluice({ config: text, gatewayExtra, workers: WORKERS })));
}

const evalshaCalls = () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(redis.cli(['INFO', 'commandstats']))?.[1] ?? 0);

console.log(
  `limits_overrun: ${CLIENTS} clients, 2 replicas × ${WORKERS} workers, 1 redis-server, mock latency ${LATENCY_MS} ms, ` +
    `${TRIALS} trial(s) per limit\n`,
);
try {
  // Requests.
  let replicas = await replicasWith(`{requests: ${REQUESTS}, unit: Day, by: [route]}`);
  console.log(`Request limit: ${REQUESTS} requests/Day by route\n`);
  console.log('| Trial | Admitted | Limit | Overrun (requests) | Refused | Other statuses | Seconds | EVALSHA / answer |');
  console.log('|---:|---:|---:|---:|---:|---|---:|---:|');
  for (let trial = 1; trial <= TRIALS; ++trial) {
    redis.cli(['FLUSHALL']);
    redis.cli(['CONFIG', 'RESETSTAT']);
    const r = await hammer(replicas);
    await sleep(300);
    const answers = r.admitted + r.refused + Object.values(r.other).reduce((a, b) => a + b, 0);
    console.log(
      `| ${trial} | ${r.admitted} | ${REQUESTS} | ${r.admitted - REQUESTS} | ${r.refused} | ${JSON.stringify(r.other)} | ` +
        `${(r.ms / 1000).toFixed(2)} | ${(evalshaCalls() / answers).toFixed(2)} |`,
    );
  }
  await Promise.all(replicas.map((s) => s.stop()));

  // Tokens.
  replicas = await replicasWith(`{tokens: ${TOKENS}, unit: Day, by: [route]}`);
  console.log(`\nToken limit: ${TOKENS} tokens/Day by route (count Total), max_tokens ${MAX_TOKENS}\n`);
  console.log(
    '| Trial | Reservation (tokens) | Admitted | Usage of the admitted (tokens) | Bucket left in Redis | Limit − usage | ' +
      'Overrun = usage − limit (tokens) | Refused | Other statuses | Seconds |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|');
  for (let trial = 1; trial <= TRIALS; ++trial) {
    redis.cli(['FLUSHALL']);
    // One request alone first: its reservation is what the header says was taken, its usage what
    // came back.
    const first = await chat(replicas[0]);
    const firstBody = await first.json();
    const reservation = TOKENS - Number(first.headers.get('x-ratelimit-remaining-tokens'));
    const r = await hammer(replicas);
    r.admitted += 1;
    r.usage += firstBody.usage?.total_tokens ?? 0;
    await sleep(500);  // the last settles
    const left = Number(bucket().fields.tokens);
    console.log(
      `| ${trial} | ${reservation} | ${r.admitted} | ${r.usage} | ${left.toFixed(1)} | ${TOKENS - r.usage} | ` +
        `${r.usage - TOKENS} | ${r.refused} | ${JSON.stringify(r.other)} | ${(r.ms / 1000).toFixed(2)} |`,
    );
  }
  await Promise.all(replicas.map((s) => s.stop()));
  console.log(
    `\nRefill during a trial: ${(REQUESTS / 86400).toFixed(4)} requests/s and ${(TOKENS / 86400).toFixed(3)} tokens/s ` +
      '(Day unit): the bucket left may exceed limit − usage by that much times the seconds since the first request.',
  );
} finally {
  await mock.stop();
  await redis.stop();
}
