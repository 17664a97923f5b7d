// bench/reload_under_load.mjs: what SIGHUP reloads cost a loaded gateway. CLIENTS keep-alive
// clients send chat completions through Sluice (WORKERS workers) to one sluice-mock for PHASE
// seconds without reloads, then PHASE seconds while the config is reloaded RELOADS times (two
// configs that differ only in a route nobody uses, so every provider and endpoint is kept).
// Prints, per phase: requests, requests failed (must be 0) and the new upstream connections the
// mock accepted (read from x-mock-connection-id, a running count: a fresh probe connection's id
// minus one is how many the mock accepted before it).
// Run from tests/ (for the harness): SLUICE_BIN_DIR=../build/bin/ node ../bench/reload_under_load.mjs
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { routeYaml, startMock, startSluice } from '../tests/lib/harness.mjs';

const CLIENTS = Number(process.env.CLIENTS ?? 32);
const WORKERS = Number(process.env.WORKERS ?? 2);
const PHASE = Number(process.env.PHASE ?? 5);
const RELOADS = Number(process.env.RELOADS ?? 10);

const mock = await startMock(['--threads', '2']);
const config = (spare) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: llm}
spec:
  type: AI
  timeouts: {poolIdle: 60s}
  ai:
    outlierDetection: {consecutiveFailures: 5, baseEjectionTime: 30s}
    priorityGroups:
    - providers:
      - name: primary
        openai: {authToken: {kind: Inline, inline: k}}
        host: 127.0.0.1
        port: ${mock.port}
---
${routeYaml({ name: 'r', rules: `  - matches: [{path: {type: PathPrefix, value: /v1/}}]\n    backendRefs: [{name: llm}]\n  - matches: [{path: {type: PathPrefix, value: /${spare}/}}]\n    backendRefs: [{name: llm}]\n` })}`;
const sluice = await startSluice({ config: config('spare-a'), workers: WORKERS });
const gatewayDoc = readFileSync(sluice.file, 'utf8').split('---')[0];

// Upstream connections the mock accepted so far (the probe's own excluded).
function acceptedSoFar() {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: mock.port, path: '/v1/models', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(res.headers['x-mock-connection-id']) - 1));
    }).on('error', reject);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
function chat() {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: sluice.port, path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

async function load(seconds, during) {
  const stats = { requests: 0, failed: 0 };
  const end = Date.now() + seconds * 1000;
  const client = async () => {
    while (Date.now() < end) {
      stats.requests += 1;
      if (!(await chat())) stats.failed += 1;
    }
  };
  await Promise.all([...Array(CLIENTS)].map(client).concat(during ? [during(end)] : []));
  return stats;
}

let generation = 1;
async function reloadTo(spare) {
  writeFileSync(sluice.file, `${gatewayDoc}---\n${config(spare)}`);
  generation += 1;
  sluice.proc.kill('SIGHUP');
  for (;;) {
    const status = await (await fetch(`${sluice.adminUrl}/status`)).json();
    if (status.generation === generation) return;
    await sleep(10);
  }
}

await load(1);  // warm-up: every client's upstream connection opened
const c0 = await acceptedSoFar();
const steady = await load(PHASE);
const c1 = (await acceptedSoFar()) - 1;  // minus the first probe
const reloading = await load(PHASE, async (end) => {
  const gap = (end - Date.now()) / (RELOADS + 1);
  for (let i = 0; i < RELOADS; i++) {
    await sleep(gap);
    await reloadTo(i % 2 === 0 ? 'spare-b' : 'spare-a');
  }
});
const c2 = (await acceptedSoFar()) - 2;  // minus both earlier probes
const line = (name, s, conns) =>
  `${name.padEnd(20)} requests ${String(s.requests).padStart(7)}  failed ${s.failed}  new upstream connections ${conns}`;
console.log(`CLIENTS=${CLIENTS} WORKERS=${WORKERS} PHASE=${PHASE}s RELOADS=${RELOADS}; upstream connections after warm-up: ${c0}`);
console.log(line('no reloads', steady, c1 - c0));
console.log(line(`${RELOADS} reloads`, reloading, c2 - c1));
agent.destroy();
await sluice.stop();
await mock.stop();
process.exit(steady.failed + reloading.failed === 0 ? 0 : 1);
