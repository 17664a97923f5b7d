// Runtime state across SIGHUP reloads: a provider's health (here an ejection) survives a reload
// that keeps the provider and is gone after one that removes it; upstream keep-alive connections
// survive a reload that keeps their endpoint (plain and TLS, seen through the mock's
// x-mock-connection-id), and a changed endpoint (another CA bundle) gets a new connection.
// One worker, so every request shares one upstream pool.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chatBody, routeYaml, startMock, startSluice, tempDir } from '../lib/harness.mjs';

let dir;
let healthy;
let sick;
let tlsMock;
let sluice;
let gatewayDoc;
let generation = 1;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const b64 = (text) => Buffer.from(text).toString('base64');

// The whole configuration; `flaky`: whether Backend "fo" still has its failing provider;
// `caPem`: the CA bundle the TLS Backend trusts; `extra`: one more rule (a change nothing uses).
function config({ flaky = true, caPem, extra = false }) {
  const provider = (name, port) => `      - name: ${name}
        openai: {authToken: {kind: Inline, inline: sk-test}}
        host: 127.0.0.1
        port: ${port}
`;
  const groups = [...(flaky ? [[provider('flaky', sick.port)]] : []), [provider('backup', healthy.port)]];
  const rule = (name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}/}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1/}}}]
    backendRefs: [{name: ${name}}]
`;
  const extraRule = `  - name: extra
    matches: [{path: {type: PathPrefix, value: /extra/}}]
    backendRefs: [{name: plain}]
`;
  return `apiVersion: v1
kind: Secret
metadata: {name: ca}
data: {ca.crt: ${b64(caPem)}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: fo}
spec:
  type: AI
  timeouts: {poolIdle: 60s}
  ai:
    outlierDetection: {consecutiveFailures: 1, baseEjectionTime: 60s, maxEjectionPercent: 50}
    priorityGroups:
${groups.map((g) => `    - providers:\n${g.join('')}`).join('')}---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: plain}
spec:
  type: AI
  timeouts: {poolIdle: 60s}
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: 127.0.0.1
      port: ${healthy.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: tls}
spec:
  type: AI
  timeouts: {poolIdle: 60s}
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: localhost
      port: ${tlsMock.port}
      tls: {mode: Enabled, caCertificateRef: {name: ca}}
---
${routeYaml({ name: 'reload', rules: ['fo', 'plain', 'tls'].map(rule).join('') + (extra ? extraRule : '') })}`;
}

let testCa;
let otherCa;

before(async () => {
  dir = tempDir('sluice-reload-');
  for (const ca of ['test-ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.crt`);
  }
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'test-ca.crt', '-CAkey', 'test-ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.crt');
  testCa = readFileSync(path.join(dir, 'test-ca.crt'), 'utf8');
  otherCa = readFileSync(path.join(dir, 'other-ca.crt'), 'utf8');
  healthy = await startMock();
  sick = await startMock(['--status', '503', '--log-requests']);
  tlsMock = await startMock(['--tls-cert', path.join(dir, 'server.crt'), '--tls-key', path.join(dir, 'server.key')]);
  sluice = await startSluice({ config: config({ caPem: testCa }), workers: 1 });
  gatewayDoc = readFileSync(sluice.file, 'utf8').split('---')[0];
});

after(async () => {
  await sluice?.stop();
  await Promise.all([healthy?.stop(), sick?.stop(), tlsMock?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function status() {
  return (await fetch(`${sluice.adminUrl}/status`)).json();
}

// Writes the configuration, sends SIGHUP and waits until /status shows the new generation.
async function reload(options) {
  writeFileSync(sluice.file, `${gatewayDoc}---\n${config(options)}`);
  generation += 1;
  sluice.proc.kill('SIGHUP');
  for (let i = 0; i < 100; i++) {
    if ((await status()).generation === generation) return;
    await sleep(20);
  }
  throw new Error(`reload to generation ${generation} not seen: ${sluice.stderr.join('\n')}`);
}

async function chat(prefix) {
  const res = await fetch(`${sluice.url}/${prefix}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return {
    provider: res.headers.get('x-sluice-provider'),
    attempts: res.headers.get('x-sluice-attempts'),
    connection: res.headers.get('x-mock-connection-id'),
  };
}

async function flakyHealth() {
  const fo = (await status()).backends.find((b) => b.name === 'fo');
  const flaky = fo.groups.flatMap((g) => g.providers).find((p) => p.name === 'flaky');
  return flaky?.health;
}

// Without the model fetcher's list calls (GET /v1/models, in the background).
const sickRequests = () =>
  sick.stderr.filter((l) => l.includes('"msg":"request"') && !l.includes('"target":"/v1/models"')).length;

// The mock's request log arrives on its stderr a little after the response.
async function sickRequestsReach(count) {
  for (let i = 0; i < 100 && sickRequests() < count; i++) await sleep(20);
  return sickRequests();
}

test('an ejected provider stays ejected across a reload that keeps it; removed and re-added, it starts healthy', async () => {
  const first = await chat('fo');
  assert.equal(first.provider, 'backup');
  assert.equal(first.attempts, '2', 'flaky answered 503 first');
  assert.equal((await flakyHealth()).ejected, true);
  const reached = await sickRequestsReach(1);
  assert.equal(reached, 1);

  await reload({ caPem: testCa, extra: true });
  const kept = await flakyHealth();
  assert.equal(kept.ejected, true, 'still ejected after the reload');
  assert.equal(kept.ejections, 1);
  assert.ok(kept.ejected_for_ms > 30_000, `the same ejection, not a new one (${kept.ejected_for_ms} ms left)`);
  const after = await chat('fo');
  assert.equal(after.provider, 'backup');
  assert.equal(after.attempts, '1', 'the ejected provider is not tried first');
  await sleep(200);
  assert.equal(sickRequests(), reached, 'no request reached the ejected provider');

  await reload({ caPem: testCa, flaky: false });
  assert.equal(await flakyHealth(), undefined);
  await reload({ caPem: testCa });
  const fresh = await flakyHealth();
  assert.equal(fresh.ejected, false, 're-added: healthy');
  assert.equal(fresh.ejections, 0);
  const again = await chat('fo');
  assert.equal(again.attempts, '2', 'tried first again');
  assert.equal(await sickRequestsReach(reached + 1), reached + 1);
});

test('upstream connections stay warm across reloads; a changed CA bundle gets a new connection', async () => {
  const plain = await chat('plain');
  const tls = await chat('tls');
  assert.equal((await chat('plain')).connection, plain.connection, 'keep-alive before any reload');
  assert.equal((await chat('tls')).connection, tls.connection);

  await reload({ caPem: testCa, extra: true });
  assert.equal((await chat('plain')).connection, plain.connection, 'the plain connection survived the reload');
  assert.equal((await chat('tls')).connection, tls.connection, 'the TLS connection survived the reload');
  await reload({ caPem: testCa });
  assert.equal((await chat('plain')).connection, plain.connection, 'and another one');
  assert.equal((await chat('tls')).connection, tls.connection);

  await reload({ caPem: testCa + otherCa });
  const changed = await chat('tls');
  assert.notEqual(changed.connection, tls.connection, 'other trust settings: a new connection');
  assert.equal((await chat('tls')).connection, changed.connection, 'which is pooled in turn');
  assert.equal((await chat('plain')).connection, plain.connection, 'the unchanged endpoint kept its connection');
});
