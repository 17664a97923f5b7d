// TLS and mutual TLS on the client listener, with certificates made at test time by the
// openssl CLI: HTTPS chat and stream, a client that does not trust the server's CA, client
// certificates (none, from the right CA, from another CA), a rotated certificate picked up by
// SIGHUP while an older keep-alive connection keeps its own, TLS 1.1 refused, plaintext HTTP on
// the TLS port answered with a plaintext 400, and the config errors for a broken Secret.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  aiBackendYaml,
  chatBody,
  freePort,
  gatewayYaml,
  routeYaml,
  runValidate,
  startMock,
  startSluice,
  tempDir,
} from '../lib/harness.mjs';
import { makeCa as makeCaIn, makeCert as makeCertIn } from '../lib/certs.mjs';

let dir;
let mock;
let sluice;
let httpsPort;
let mtlsPort;
let generation = 1;

const pem = (file) => readFileSync(path.join(dir, file), 'utf8');
const b64 = (file) => readFileSync(path.join(dir, file)).toString('base64');

const makeCa = (name) => makeCaIn(dir, name);
const makeCert = (name, ca, extensions) => makeCertIn(dir, name, ca, extensions);

const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth';
const clientExt = 'extendedKeyUsage=clientAuth';

function secretYaml(name, files) {
  const data = Object.entries(files).map(([key, file]) => `${key}: ${b64(file)}`).join(', ');
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}}
data: {${data}}
`;
}

// The resources after the Gateway: the server certificate Secret (`server` names the cert and
// key files) and the client CA Secret for the mTLS listener.
function resources(server) {
  return `${secretYaml('gw-cert', { 'tls.crt': `${server}.crt`, 'tls.key': `${server}.key` })}---
${secretYaml('gw-mtls', { 'tls.crt': `${server}.crt`, 'tls.key': `${server}.key`, 'ca.crt': 'client-ca.crt' })}---
${aiBackendYaml({ port: mock.port })}---
${routeYaml({ rules: '  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: mock}]\n' })}`;
}

const tlsListeners = () => `  - {name: https, address: 127.0.0.1, port: ${httpsPort}, tls: {certificateRef: {name: gw-cert}}}
  - {name: mtls, address: 127.0.0.1, port: ${mtlsPort}, tls: {certificateRef: {name: gw-mtls}}}
`;

before(async () => {
  dir = tempDir('sluice-listener-tls-');
  makeCa('server-ca');
  makeCa('other-ca');
  makeCa('client-ca');
  makeCert('server', 'server-ca', serverExt);
  makeCert('rotated', 'server-ca', serverExt);
  makeCert('client', 'client-ca', clientExt);
  makeCert('stranger', 'other-ca', clientExt);
  mock = await startMock();
  httpsPort = await freePort();
  mtlsPort = await freePort();
  sluice = await startSluice({ config: resources('server'), listeners: tlsListeners() });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// One HTTPS request; resolves to {status, headers, body, socket facts}.
function request(port, { method = 'POST', path: p = '/v1/chat/completions', body = chatBody(), agent, ...tlsOptions } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: p,
        headers: body ? { 'content-type': 'application/json' } : {},
        ca: pem('server-ca.crt'),
        agent: agent ?? false,
        ...tlsOptions,
      },
      (res) => {
        const chunks = [];
        // Read now: a keep-alive agent takes the socket back before 'end'.
        const facts = {
          alpn: res.socket.alpnProtocol,
          protocol: res.socket.getProtocol(),
          fingerprint: res.socket.getPeerCertificate().fingerprint256,
          localPort: res.socket.localPort,
        };
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ...facts }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

async function metric(name) {
  const text = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

function fingerprintOf(file) {
  return new crypto.X509Certificate(pem(file)).fingerprint256;
}

// A client offering h2 gets it (http2.test.mjs); an HTTP/1.1 client offers http/1.1 only.
test('HTTPS chat through the TLS listener: TLS 1.3, ALPN http/1.1, logged like any request', async () => {
  const res = await request(httpsPort, { ALPNProtocols: ['http/1.1'] });
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3');
  assert.equal(res.alpn, 'http/1.1');
  assert.equal(res.protocol, 'TLSv1.3');
  assert.equal(res.fingerprint, fingerprintOf('server.crt'));
  const entry = await sluice.waitForAccessLog((e) => e.status === 200 && e.route);
  assert.equal(entry.backend, 'mock');
  assert.ok((await metric('sluice_tls_handshakes_total')) >= 1);
});

test('TLS 1.2 is served too', async () => {
  const res = await request(httpsPort, { maxVersion: 'TLSv1.2' });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.protocol, 'TLSv1.2');
});

test('an SSE stream arrives over TLS event by event', async () => {
  const mockArgs = { 'x-mock-chunk-delay-ms': '50' };
  const res = await new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: httpsPort,
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', ...mockArgs },
        ca: pem('server-ca.crt'),
        agent: false,
      },
      (r) => {
        const arrivals = [];
        r.on('data', (c) => arrivals.push({ at: Date.now(), text: c.toString() }));
        r.on('end', () => resolve({ status: r.statusCode, type: r.headers['content-type'], arrivals }));
      },
    );
    req.on('error', reject);
    req.end(chatBody({ stream: true }));
  });
  assert.equal(res.status, 200);
  assert.match(res.type, /text\/event-stream/);
  const all = res.arrivals.map((a) => a.text).join('');
  assert.match(all, /data: \[DONE\]/);
  const contentReads = res.arrivals.filter((a) => /chunk\d/.test(a.text));
  assert.ok(contentReads.length >= 3, `events arrived in ${contentReads.length} reads`);
  assert.ok(contentReads.at(-1).at - contentReads[0].at >= 100, 'the events were spread over time');
});

test('a client that does not trust the server CA fails the handshake', async () => {
  await assert.rejects(request(httpsPort, { ca: pem('other-ca.crt') }), /self-signed|unable to verify|certificate/i);
});

test('mTLS: a client without a certificate is refused', async () => {
  const before = await metric('sluice_tls_handshake_failures_total');
  await assert.rejects(request(mtlsPort), /certificate required|ECONNRESET|socket hang up|alert/i);
  await sleep(50);
  assert.ok((await metric('sluice_tls_handshake_failures_total')) > before, 'counted as a handshake failure');
});

test('mTLS: a client certificate from the configured CA is accepted', async () => {
  const res = await request(mtlsPort, { cert: pem('client.crt'), key: pem('client.key') });
  assert.equal(res.status, 200, res.body);
});

test('mTLS: a client certificate from another CA is refused', async () => {
  await assert.rejects(
    request(mtlsPort, { cert: pem('stranger.crt'), key: pem('stranger.key') }),
    /unknown ca|ECONNRESET|socket hang up|alert/i,
  );
});

test('TLS 1.1 is refused', async () => {
  const before = await metric('sluice_tls_handshake_failures_total');
  const outcome = await new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: httpsPort,
      ca: pem('server-ca.crt'),
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    socket.on('secureConnect', () => {
      resolve({ connected: true, protocol: socket.getProtocol() });
      socket.destroy();
    });
    socket.on('error', (e) => resolve({ connected: false, error: e.message }));
  });
  assert.equal(outcome.connected, false, JSON.stringify(outcome));
  assert.match(outcome.error, /protocol version|unsupported protocol|alert/i);
  await sleep(50);
  assert.ok((await metric('sluice_tls_handshake_failures_total')) > before, 'the server refused it');
});

test('plaintext HTTP to the TLS port gets a plaintext 400 saying to use https', async () => {
  const res = await fetch(`http://127.0.0.1:${httpsPort}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, 'tls_required');
  assert.match(body.error.message, /https:\/\//);
});

test('the plaintext listener next to TLS ones still speaks plaintext', async () => {
  const res = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  assert.equal(res.status, 200);
});

test('a rotated certificate serves new connections after SIGHUP; an open keep-alive connection keeps working', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const first = await request(httpsPort, { agent });
  assert.equal(first.status, 200);
  assert.equal(first.fingerprint, fingerprintOf('server.crt'));

  const gateway = gatewayYaml({ port: sluice.port, adminPort: sluice.adminPort, listeners: tlsListeners() });
  writeFileSync(sluice.file, `${gateway}---\n${resources('rotated')}`);
  generation += 1;
  sluice.proc.kill('SIGHUP');
  for (let i = 0; ; i++) {
    if ((await (await fetch(`${sluice.adminUrl}/status`)).json()).generation === generation) break;
    if (i > 200) throw new Error(`reload not seen: ${sluice.stderr.join('\n')}`);
    await sleep(20);
  }

  const fresh = await request(httpsPort);
  assert.equal(fresh.status, 200);
  assert.equal(fresh.fingerprint, fingerprintOf('rotated.crt'), 'a new connection gets the rotated certificate');

  const again = await request(httpsPort, { agent });
  assert.equal(again.status, 200);
  assert.equal(again.localPort, first.localPort, 'the same keep-alive connection');
  assert.equal(again.fingerprint, fingerprintOf('server.crt'), 'still on the certificate it started with');
  agent.destroy();
});

// The config errors name the file, the Gateway and the field.
async function validateWith(secrets, tlsField = '{certificateRef: {name: gw-cert}}') {
  const gateway = `apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: edge}
spec:
  listeners:
  - {name: https, address: 127.0.0.1, port: 8443, tls: ${tlsField}}
`;
  return runValidate(`${gateway}${secrets ? `---\n${secrets}` : ''}`);
}

test('config errors: a missing Secret, a missing key, a PEM that does not parse, a key of another certificate', async () => {
  const missing = await validateWith('');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /config\.yaml.*Gateway\/edge.*spec\.listeners\[0\]\.tls\.certificateRef.*Secret "gw-cert" not found/);

  const noKey = await validateWith(secretYaml('gw-cert', { 'tls.crt': 'server.crt' }));
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /spec\.listeners\[0\]\.tls\.certificateRef.*Secret "gw-cert" has no key "tls\.key"/);

  writeFileSync(path.join(dir, 'garbage.pem'), 'not a certificate\n');
  const garbage = await validateWith(secretYaml('gw-cert', { 'tls.crt': 'garbage.pem', 'tls.key': 'server.key' }));
  assert.equal(garbage.code, 1);
  assert.match(garbage.stderr, /Secret "gw-cert" key "tls\.crt": not a PEM certificate chain/);

  const mismatch = await validateWith(secretYaml('gw-cert', { 'tls.crt': 'server.crt', 'tls.key': 'rotated.key' }));
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /Secret "gw-cert" key "tls\.key": the private key does not match the certificate/);

  const noCa = await validateWith(
    secretYaml('gw-cert', { 'tls.crt': 'server.crt', 'tls.key': 'server.key' }),
    '{certificateRef: {name: gw-cert}, clientValidation: Require}',
  );
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /spec\.listeners\[0\]\.tls\.clientValidation.*has no key "ca\.crt"/);

  const good = await validateWith(secretYaml('gw-cert', { 'tls.crt': 'server.crt', 'tls.key': 'server.key' }));
  assert.equal(good.code, 0, good.stderr);
});
