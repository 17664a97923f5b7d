// bench/response_cache.mjs: how much faster a response-cache hit is served than the provider
// answers the same request. Starts sluice-mock (answering after MOCK_LATENCY_MS) and Sluice with
// `ai.cache.exact` on its route, then sends REQUESTS sequential requests each way on one
// keep-alive connection: misses (`Cache-Control: no-cache`, so the mock answers every time) and
// hits of one stored answer, for a complete reply and for a stream. Prints the median and p99
// latency of each and the hit's speed-up; the target is a hit at least 5x faster.
//
//   node bench/response_cache.mjs      (env: REQUESTS [200], MOCK_LATENCY_MS [20], SLUICE_BIN_DIR)
import http from 'node:http';
import { startMock, startSluice, routeYaml } from '../tests/lib/harness.mjs';
import { aiBackend } from '../tests/lib/config_yaml.mjs';

const REQUESTS = Number(process.env.REQUESTS ?? 200);
const MOCK_LATENCY_MS = Number(process.env.MOCK_LATENCY_MS ?? 20);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, cache: res.headers['x-sluice-cache'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

async function measure(url, body, headers, expected) {
  const times = [];
  for (let i = 0; i < REQUESTS; ++i) {
    const { ms, cache } = await post(url, body, headers);
    if (cache !== expected) throw new Error(`expected x-sluice-cache: ${expected}, got ${cache}`);
    times.push(ms);
  }
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

const mock = await startMock(['--latency-ms', String(MOCK_LATENCY_MS)]);
const config = `${aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-bench}}', mock.port)}\
${routeYaml({ rules: '  - name: chat\n    matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: openai}]\n' })}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cache}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  ai:
    cache: {exact: {ttl: 1h, store: Memory}}
`;
const sluice = await startSluice({ config });
try {
  const url = `${sluice.url}/v1/chat/completions`;
  const rows = [];
  for (const stream of [false, true]) {
    const body = JSON.stringify({ model: 'gpt-bench', stream, messages: [{ role: 'user', content: 'benchmark question' }] });
    const miss = await measure(url, body, { 'cache-control': 'no-cache' }, 'miss');
    const hit = await measure(url, body, {}, 'hit');
    rows.push({ kind: stream ? 'stream' : 'complete', miss, hit, speedup: miss.p50 / hit.p50 });
  }
  console.log(`| reply (mock latency ${MOCK_LATENCY_MS} ms, ${REQUESTS} requests) | miss p50 ms | miss p99 ms | hit p50 ms | hit p99 ms | hit speed-up (p50) |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.kind} | ${r.miss.p50.toFixed(2)} | ${r.miss.p99.toFixed(2)} | ${r.hit.p50.toFixed(2)} | ${r.hit.p99.toFixed(2)} | ${r.speedup.toFixed(1)}x${r.speedup >= 5 ? '' : ' (below the 5x target)'} |`);
} finally {
  agent.destroy();
  await sluice.stop();
  await mock.stop();
}
