// Integration: an https:// OTLP endpoint, through the real `sluice` and sluice-mock, with a
// certificate made at test time (openssl CLI) for a TLS OTLP receiver (tests/lib/otlp_receiver.mjs).
// - The collector's certificate is verified against the system CA bundle (OpenSSL's default
//   paths, so SSL_CERT_FILE names the test CA): spans arrive; the host name is checked too.
// - Without the CA trusted, nothing is delivered: the handshake fails and the operational log
//   says so.
// - insecureSkipVerify: true delivers without verifying, every export over one TLS connection.
// - validate accepts an https endpoint and warns about insecureSkipVerify on an http one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiBackendYaml, gatewayYaml, routeYaml, runValidate, startMock, startSluice, tempDir } from '../lib/harness.mjs';
import { makeCa, makeCert } from '../lib/certs.mjs';
import { startOtlpReceiver } from '../lib/otlp_receiver.mjs';

let dir;
let mock;
let receiver;
const gateways = [];


const config = (port) =>
  [
    aiBackendYaml({ name: 'mock', port }),
    routeYaml({
      name: 'llm',
      rules: `  - backendRefs: [{name: mock}]
`,
    }),
  ].join('---\n');

const telemetry = (endpoint, extra = '') => `  telemetry:
    otlp: {endpoint: "${endpoint}"${extra}}
`;

before(async () => {
  dir = tempDir('sluice-otlp-tls-');
  makeCa(dir, 'ca');
  makeCert(dir, 'collector', 'ca', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth');
  mock = await startMock();
  receiver = await startOtlpReceiver({
    tls: { key: readFileSync(path.join(dir, 'collector.key')), cert: readFileSync(path.join(dir, 'collector.crt')) },
  });
});

after(async () => {
  for (const g of gateways) await g.stop();
  await mock?.stop();
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function chatThrough(gw, marker) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-id': marker },
    body: JSON.stringify({ model: marker, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  await res.text();
}

const serverSpan = (model) => (spans) => spans.find((s) => s.kind === 2 && s.attributes['gen_ai.request.model'] === model);

test('https: the collector certificate verified against the CAs OpenSSL trusts (SSL_CERT_FILE)', async () => {
  const gw = await startSluice({
    config: config(mock.port),
    gatewayExtra: telemetry(receiver.url),
    env: { SSL_CERT_FILE: path.join(dir, 'ca.crt') },
  });
  gateways.push(gw);
  await chatThrough(gw, 'verified-model');
  const span = await receiver.waitFor(serverSpan('verified-model'), 8000);
  assert.equal(span.name, 'chat verified-model');
});

test('https: a collector whose CA is not trusted gets nothing; the log names the handshake', async () => {
  const gw = await startSluice({ config: config(mock.port), gatewayExtra: telemetry(receiver.url) });
  gateways.push(gw);
  const before = receiver.tlsErrors.length;
  await chatThrough(gw, 'untrusted-model');
  const end = Date.now() + 8000;
  while (!gw.stderr.some((l) => l.includes('TLS handshake with the collector failed')) && Date.now() < end) await sleep(50);
  assert.ok(gw.stderr.some((l) => l.includes('TLS handshake with the collector failed')), gw.stderr.join('\n'));
  assert.ok(receiver.tlsErrors.length > before);
  assert.equal(serverSpan('untrusted-model')(receiver.spans), undefined);
});

test('https: insecureSkipVerify delivers without verifying, over one kept connection', async () => {
  const gw = await startSluice({
    config: config(mock.port),
    gatewayExtra: telemetry(receiver.url, ', insecureSkipVerify: true, headers: {x-gateway: skipping}'),
  });
  gateways.push(gw);
  await chatThrough(gw, 'skipped-model');
  await receiver.waitFor(serverSpan('skipped-model'), 8000);
  await chatThrough(gw, 'skipped-again');
  await receiver.waitFor(serverSpan('skipped-again'), 8000);
  const mine = receiver.requests.filter((r) => r.headers['x-gateway'] === 'skipping' && r.path === '/v1/traces');
  assert.ok(mine.length >= 2, JSON.stringify(mine.map((r) => r.connection)));
  assert.equal(new Set(mine.map((r) => r.connection)).size, 1);
});

test('validate: https accepted; insecureSkipVerify on an http endpoint warned about', async () => {
  const ok = await runValidate(gatewayYaml({ port: 1, adminPort: 2, extra: telemetry('https://collector.example:4318/otlp') }));
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const warned = await runValidate(
    gatewayYaml({ port: 1, adminPort: 2, extra: telemetry('http://collector:4318', ', insecureSkipVerify: true') }),
  );
  assert.equal(warned.code, 0, warned.stdout + warned.stderr);
  assert.match(warned.stdout + warned.stderr, /spec\.telemetry\.otlp\.insecureSkipVerify: has no effect with an http:\/\/ endpoint/);
});
