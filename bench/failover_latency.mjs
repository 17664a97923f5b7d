// bench/failover_latency.mjs: what a connect-refused failover adds on loopback. One Backend with
// a single healthy provider, one whose group 0 is a port nobody listens on and group 1 the same
// healthy mock; 400 interleaved sequential requests each after a warm-up; prints medians and p99.
// Run from tests/ (for the harness and node_modules): SLUICE_BIN_DIR=../build/bin/ node ../bench/failover_latency.mjs
import { freePort, routeYaml, startMock, startSluice } from '../tests/lib/harness.mjs';
const mock = await startMock();
const dead = await freePort();
const be = (name, groups) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    priorityGroups:
${groups.map((port, i) => `    - providers:\n      - name: p${i}\n        openai: {authToken: {kind: Inline, inline: k}}\n        host: 127.0.0.1\n        port: ${port}\n`).join('')}`;
const config = [be('healthy', [mock.port]), be('failover', [dead, mock.port]),
  routeYaml({ name: 'r', rules: `  - matches: [{path: {type: PathPrefix, value: /healthy/}}]\n    backendRefs: [{name: healthy}]\n  - matches: [{path: {type: PathPrefix, value: /failover/}}]\n    backendRefs: [{name: failover}]\n` })].join('---\n');
const sluice = await startSluice({ config, gatewayExtra: '', workers: 1 });
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
async function time(prefix) {
  const t0 = process.hrtime.bigint();
  const r = await fetch(`${sluice.url}/${prefix}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await r.text();
  if (r.status !== 200) throw new Error('status ' + r.status);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const h = [], f = [];
for (let i = 0; i < 50; i++) { await time('healthy'); await time('failover'); }
for (let i = 0; i < 400; i++) { h.push(await time('healthy')); f.push(await time('failover')); }
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
const p99 = (a) => a.sort((x, y) => x - y)[Math.floor(a.length * 0.99)];
console.log(`healthy median ${med(h).toFixed(3)} ms p99 ${p99(h).toFixed(3)} ms; connect-refused failover median ${med(f).toFixed(3)} ms p99 ${p99(f).toFixed(3)} ms; added median ${(med(f) - med(h)).toFixed(3)} ms`);
await sluice.stop(); await mock.stop();
