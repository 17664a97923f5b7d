// TLS to upstreams with certificates generated at test time: a private CA from a Secret on
// a non-443 port, a wrong CA refused, insecureSkipVerify, SNI / verification name override.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startMock, startSluice, tempDir, chatBody } from '../lib/harness.mjs';

let dir;
let mock;
let sluice;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(name) {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.crt`);
}

before(async () => {
  dir = tempDir('sluice-tls-');
  makeCa('test-ca');
  makeCa('other-ca');
  // Server certificate for "localhost" only (no IP SAN), signed by test-ca.
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  const ext = path.join(dir, 'ext.cnf');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost\\n' > ${ext}`]);
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'test-ca.crt', '-CAkey', 'test-ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', ext, '-out', 'server.crt');
  mock = await startMock(['--tls-cert', path.join(dir, 'server.crt'), '--tls-key', path.join(dir, 'server.key')]);
  const b64 = (file) => readFileSync(path.join(dir, file)).toString('base64');
  const backend = (name, host, tls) => `---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-tls}}
      host: ${host}
      port: ${mock.port}
      tls: ${tls}
`;
  const rule = (name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1}}}]
    backendRefs: [{name: ${name}}]
`;
  sluice = await startSluice({
    config: `apiVersion: v1
kind: Secret
metadata: {name: test-ca}
data: {ca.crt: ${b64('test-ca.crt')}}
---
apiVersion: v1
kind: Secret
metadata: {name: other-ca}
data: {ca.crt: ${b64('other-ca.crt')}}
${backend('good', 'localhost', '{mode: Enabled, caCertificateRef: {name: test-ca}}')}
${backend('wrong-ca', 'localhost', '{mode: Enabled, caCertificateRef: {name: other-ca}}')}
${backend('skip-verify', 'localhost', '{mode: Enabled, caCertificateRef: {name: other-ca}, insecureSkipVerify: true}')}
${backend('ip-no-sni', '127.0.0.1', '{mode: Enabled, caCertificateRef: {name: test-ca}}')}
${backend('ip-with-sni', '127.0.0.1', '{mode: Enabled, sni: localhost, caCertificateRef: {name: test-ca}}')}
${backend('system-ca', 'localhost', '{mode: Enabled}')}
${backend('plaintext-to-tls', 'localhost', '{mode: Auto}')}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: tls}
spec:
  rules:
${['good', 'wrong-ca', 'skip-verify', 'ip-no-sni', 'ip-with-sni', 'system-ca', 'plaintext-to-tls'].map(rule).join('')}`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function chat(prefix) {
  const res = await fetch(`${sluice.url}/${prefix}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  return { res, body: await res.json() };
}

test('TLS on a non-443 port, verified against a CA from a Secret', async () => {
  const { res, body } = await chat('good');
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(res.headers.get('x-mock-path'), '/v1/chat/completions');
  assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-tls');
});

test('a certificate from another CA is refused with a 502 naming the backend', async () => {
  const { res, body } = await chat('wrong-ca');
  assert.equal(res.status, 502);
  assert.match(body.error.message, /backend wrong-ca/);
  assert.match(body.error.message, /TLS handshake/);
  assert.match(body.error.message, /certificate verify failed/);
});

test('insecureSkipVerify accepts any certificate', async () => {
  const { res } = await chat('skip-verify');
  assert.equal(res.status, 200);
});

test('the certificate must name the host: an IP host fails against a DNS-only certificate', async () => {
  const { res, body } = await chat('ip-no-sni');
  assert.equal(res.status, 502);
  assert.match(body.error.message, /TLS handshake/);
});

test('tls.sni sets both SNI and the verified name', async () => {
  const { res } = await chat('ip-with-sni');
  assert.equal(res.status, 200);
});

test('the system CA bundle does not trust a private CA', async () => {
  const { res, body } = await chat('system-ca');
  assert.equal(res.status, 502);
  assert.match(body.error.message, /certificate verify failed/);
});

test('mode Auto on a non-443 port speaks plaintext (and a TLS server rejects it)', async () => {
  const { res, body } = await chat('plaintext-to-tls');
  assert.equal(res.status, 502, JSON.stringify(body));
  const entry = await sluice.waitForAccessLog((e) => e.backend === 'plaintext-to-tls');
  assert.equal(entry.status, 502);
});
