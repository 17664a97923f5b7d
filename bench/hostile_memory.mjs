// bench/hostile_memory.mjs: Sluice's memory under hostile client connections. Starts sluice-mock
// and sluice (1 worker, default limits), records the idle RSS, then opens 100 hostile connections
// at once, of six kinds (tests/lib/hostile.mjs): an endless chunk extension, endless trailer fields,
// endless header lines, a huge header block, slowloris headers (one short header line every
// 500 ms) and a slow body trickle (64 bytes every 100 ms). A connection that is refused or closed
// is not replaced. Runs them for DURATION seconds (default 10), samples VmRSS every 50 ms and
// prints a table: idle RSS, peak RSS, delta, and per kind what the connections got. A
// measurement, not a test (target: peak < idle + 64 MiB); exits 0 either way. Each connection
// sends at most PER_CONN_MIB (default 16) MiB; as a safety net for a gateway that buffers without
// bound, every connection is cut once RSS exceeds idle + ABORT_MIB (default 1024) MiB.
// Run from tests/ (for the harness): SLUICE_BIN_DIR=../build/bin/ node ../bench/hostile_memory.mjs
import { aiBackendYaml, startMock, startSluice } from '../tests/lib/harness.mjs';
import { MiB, hostileConnection, kinds, rssBytes } from '../tests/lib/hostile.mjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

const durationMs = Number(process.env.DURATION ?? 10) * 1000;
const perConn = Number(process.env.PER_CONN_MIB ?? 16) * (1 << 20);
const abortAbove = Number(process.env.ABORT_MIB ?? 1024) * (1 << 20);
const mock = await startMock();
const sluice = await startSluice({
  config: `${aiBackendYaml({ port: mock.port })}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: mock}]
`,
});
const pid = sluice.proc.pid;
await sleep(500);
const idle = rssBytes(pid);

// 100 connections: 17 of each kind but slow body (15).
const plan = [
  ['chunkExtension', 17, 0],
  ['trailers', 17, 0],
  ['headerLines', 17, 0],
  ['hugeHeader', 17, 0],
  ['slowloris', 17, 500],
  ['slowBody', 15, 100],
];
// RSS is sampled on a worker thread: the main thread is busy writing to 100 sockets.
const sampler = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   const fs = require('node:fs');
   let peak = 0, samples = 0, stop = false;
   parentPort.on('message', () => { stop = true; parentPort.postMessage({ peak, samples }); process.exit(0); });
   const tick = () => {
     if (stop) return;
     const m = /^VmRSS:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/' + workerData.pid + '/status', 'utf8'));
     const rss = m ? Number(m[1]) * 1024 : 0;
     samples++;
     if (rss > peak) peak = rss;
     if (rss - workerData.idle > workerData.abortAbove) parentPort.postMessage({ abort: true });
     setTimeout(tick, 50);
   };
   tick();`,
  { eval: true, workerData: { pid, idle, abortAbove } },
);
let aborted = false;
const cutters = [];
const finalStats = new Promise((resolve) =>
  sampler.on('message', (m) => {
    if (m.abort) {
      if (!aborted) for (const c of cutters) c();
      aborted = true;
    } else resolve(m);
  }),
);
const started = Date.now();
const runs = plan.flatMap(([kind, n, paceMs]) =>
  Array.from({ length: n }, () =>
    hostileConnection(sluice.port, kinds[kind], { total: perConn, paceMs, durationMs, closeWaitMs: 500, onSocket: (s) => cutters.push(() => s.destroy()) })
      .then((r) => ({ kind, ...r }))),
);
const results = await Promise.all(runs);
sampler.postMessage('stop');
const { peak: sampledPeak, samples } = await finalStats;
const peak = Math.max(idle, sampledPeak);
const elapsed = (Date.now() - started) / 1000;
await sleep(1000);
const after = rssBytes(pid);

const mib = (b) => (b / MiB).toFixed(1);
console.log(`\nSluice RSS under 100 hostile connections (${elapsed.toFixed(1)} s, ${samples} RSS samples)\n`);
console.log('| idle RSS | peak RSS | delta | RSS 1 s after |');
console.log('|---|---|---|---|');
console.log(`| ${mib(idle)} MiB | ${mib(peak)} MiB | +${mib(peak - idle)} MiB | ${mib(after)} MiB |`);
console.log('\n| kind | connections | outcomes (status or close, count) | sent per connection (median / max) |');
console.log('|---|---|---|---|');
for (const [kind, n] of plan) {
  const rs = results.filter((r) => r.kind === kind);
  const outcomes = {};
  for (const r of rs) {
    const o = r.status !== null ? `${r.status}${r.closed ? '+close' : ''}` : r.closed ? `closed${r.error ? ` (${r.error})` : ''}` : r.sent >= perConn ? 'all sent, no answer' : 'open at end';
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  const sorted = rs.map((r) => r.sent).sort((a, b) => a - b);
  const fmt = (b) => (b >= MiB ? `${mib(b)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  console.log(`| ${kind} | ${n} | ${Object.entries(outcomes).map(([k, v]) => `${k} ×${v}`).join(', ')} | ${fmt(sorted[Math.floor(rs.length / 2)])} / ${fmt(sorted.at(-1))} |`);
}
if (aborted) console.log(`\naborted: RSS passed idle + ${abortAbove / MiB} MiB, every connection was cut`);
console.log(`\ntarget: peak < idle + 64 MiB: ${peak - idle < 64 * MiB ? 'met' : 'NOT met'}`);
await sluice.stop();
await mock.stop();
