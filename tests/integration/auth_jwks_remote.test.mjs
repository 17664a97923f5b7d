// auth.jwt with a remote JWKS (jwks.remote), allowedModels for JWT callers, and the auth,
// guard and principal metrics, through the real binaries. A node HTTPS server (certificate made
// at test time, trusted through caCertificateRef) serves the JWKS and counts its fetches: a
// token is accepted once the first fetch is done; a rotated key is picked up through the
// refresh an unknown kid asks for, and a flood of bogus kids asks for no more fetches (the
// rate limit); a JWKS server down at start gives 401s saying the keys are not available until
// a retry succeeds. JWT callers restricted by allowedModels / allowedModelsClaim get 403
// model_not_allowed in both error shapes and a filtered /v1/models. /metrics shows the auth
// failures by reason, the guard's rule matches and, only where auth.metricsLabels asks for
// them, the principal series.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, tempDir, freePort, chatBody } from '../lib/harness.mjs';
import { jwks, nowSeconds, signJwt, signingKey } from '../lib/jwt.mjs';

const ISSUER = 'https://idp.example.com';
const now = nowSeconds;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const first = signingKey('k1');
const second = signingKey('k2');

const jwt = (key, claims = {}, options) => signJwt(key, { iss: ISSUER, sub: 'alice', exp: now() + 600, ...claims }, options);

// A JWKS endpoint: serves `document`, counts the GETs it answered.
function jwksServer(server) {
  const state = { document: jwks(first), fetches: 0, server };
  server.on('request', (req, res) => {
    state.fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(state.document);
  });
  return state;
}

const listen = (server, port = 0) =>
  new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));

let dir;
let mock;
let idp;  // the HTTPS JWKS server
let sluice;

const backends = (mockPort) => `
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: gpt}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-provider}, model: gpt-4o-mini}
      host: 127.0.0.1
      port: ${mockPort}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: claude}
spec:
  type: AI
  ai:
    llm:
      anthropic: {authToken: {kind: Inline, inline: sk-ant-provider}, model: claude-opus-4}
      host: 127.0.0.1
      port: ${mockPort}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: claude
    matches: [{path: {type: PathPrefix, value: /claude}}]
    backendRefs: [{name: claude}]
  - name: models
    matches: [{path: {type: PathPrefix, value: /both}}]
    backendRefs: [{name: gpt}, {name: claude}]
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: gpt}]
`;

before(async () => {
  dir = tempDir('sluice-jwks-');
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=jwks-test-ca',
    '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost\\n' > ext.cnf`], { cwd: dir });
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.crt');
  const file = (name) => readFileSync(path.join(dir, name));
  idp = jwksServer(https.createServer({ key: file('server.key'), cert: file('server.crt') }));
  const idpPort = await listen(idp.server);
  mock = await startMock();
  sluice = await startSluice({
    config: `apiVersion: v1
kind: Secret
metadata: {name: idp-ca}
data: {ca.crt: ${file('ca.crt').toString('base64')}}
---${backends(mock.port)}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    metricsLabels: [id, team]
    jwt:
      providers:
      - name: corp
        issuer: ${ISSUER}
        claimsToMetadata: {team: groups}
        allowedModels: [gpt-4o-mini, claude-*]
        allowedModelsClaim: models
        jwks:
          remote:
            url: https://localhost:${idpPort}/.well-known/jwks.json
            cacheDuration: 10m
            caCertificateRef: {name: idp-ca}
  ai:
    promptGuard:
      request:
        regex:
          action: MASK
          builtins: [SSN, EMAIL]
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  idp?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = (url, token, body = chatBody({ model: 'gpt-4o-mini' })) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
const chat = (token, body) => post(`${sluice.url}/v1/chat/completions`, token, body);
const metrics = async (instance) => (await fetch(`${instance.adminUrl}/metrics`)).text();
const metricValue = (text, series) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('a token is accepted once the first fetch is done: the config is served with its keys', async () => {
  assert.equal(idp.fetches, 1, 'fetched once at start, before the first request');
  const res = await chat(jwt(first, { groups: 'blue' }));
  assert.equal(res.status, 200, await res.text());
  await sluice.waitForAccessLog((l) => l.principal === 'alice' && l.status === 200);
  const log = sluice.stderr.join('\n');
  assert.match(log, /JWKS fetched/);
  assert.ok(!log.includes(JSON.parse(idp.document).keys[0].n), 'no key material in the log');
});

test('a rotated key is picked up through the refresh an unknown kid asks for, rate-limited', async () => {
  idp.document = jwks(first, second);
  const rotated = jwt(second, { sub: 'bob' });
  const refused = await chat(rotated);
  assert.equal(refused.status, 401, 'the request naming the new kid still fails');
  assert.match((await refused.json()).error.message, /unknown key/);
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    await sleep(50);
    status = (await chat(rotated)).status;
  }
  assert.equal(status, 200, 'accepted once the refresh installed the new key set');
  assert.equal(idp.fetches, 2, 'one early fetch');
  const bogus = await Promise.all(
    Array.from({ length: 20 }, (_, i) => chat(jwt(second, {}, { kid: `bogus-${i}` }))),
  );
  assert.ok(bogus.every((r) => r.status === 401));
  await sleep(500);
  assert.equal(idp.fetches, 2, 'a flood of unknown kids asks for no more fetches (at most one per 30 s)');
});

test('JWT callers are held to allowedModels and allowedModelsClaim: 403 in both shapes, /v1/models filtered', async () => {
  const openai = new OpenAI({ baseURL: `${sluice.url}/v1`, apiKey: jwt(first), maxRetries: 0, timeout: 10_000 });
  await assert.rejects(
    openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => err instanceof OpenAI.PermissionDeniedError && err.code === 'model_not_allowed' &&
      err.message.includes('"gpt-4o"'),
  );
  const onlyGpt = jwt(first, { sub: 'carol', models: ['gpt-4o-mini'] });
  const anthropic = new Anthropic({ baseURL: `${sluice.url}/claude`, apiKey: onlyGpt, maxRetries: 0, timeout: 10_000 });
  await assert.rejects(
    anthropic.messages.create({ model: 'claude-opus-4', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    (err) => err instanceof Anthropic.PermissionDeniedError && err.error?.error?.type === 'permission_error' &&
      err.error?.error?.message.includes('"claude-opus-4"'),
  );
  const list = async (token) => {
    const res = await fetch(`${sluice.url}/both/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return (await res.json()).data.map((m) => m.id).sort();
  };
  assert.deepEqual(await list(jwt(first)), ['claude-opus-4', 'gpt-4o-mini'], 'allowedModels');
  assert.deepEqual(await list(onlyGpt), ['gpt-4o-mini'], 'the claim replaces allowedModels');
  assert.deepEqual(await list(jwt(first, { models: 'claude-* o1' })), ['claude-opus-4'], 'a space-separated claim');
});

test('metrics: auth failures by reason, guard matches by rule, principal series under the configured labels', async () => {
  assert.equal((await fetch(`${sluice.url}/v1/chat/completions`, { method: 'POST', body: chatBody() })).status, 401);
  assert.equal((await chat(jwt(first, { exp: now() - 3600 }))).status, 401);
  const masked = await chat(jwt(first, { sub: 'dave', groups: 'red' }),
    chatBody({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'my ssn is 123-45-6789, mail me at a@b.example' }] }));
  assert.equal(masked.status, 200);
  await sluice.waitForAccessLog((l) => l.principal === 'dave');
  const text = await metrics(sluice);
  assert.equal(metricValue(text, 'sluice_auth_failures_total{reason="missing"}'), 1);
  assert.equal(metricValue(text, 'sluice_auth_failures_total{reason="expired"}'), 1);
  assert.ok(metricValue(text, 'sluice_auth_failures_total{reason="invalid"}') >= 21, 'unknown kids');
  assert.equal(metricValue(text, 'sluice_auth_failures_total{reason="model_not_allowed"}'), 2);
  assert.equal(metricValue(text, 'sluice_guard_matches_total{direction="request",rule="SSN",action="mask"}'), 1);
  assert.equal(metricValue(text, 'sluice_guard_matches_total{direction="request",rule="EMAIL",action="mask"}'), 1);
  assert.equal(metricValue(text, 'sluice_principal_requests_total{id="dave",team="red"}'), 1);
  assert.ok(metricValue(text, 'sluice_principal_tokens_total{id="dave",team="red",type="prompt"}') > 0);
  assert.ok(metricValue(text, 'sluice_principal_requests_total{id="alice",team="blue"}') >= 1);
  assert.ok(!text.includes('123-45-6789'), 'never the matched text');
});

test('a reload fetches the new configuration\'s JWKS before serving it', async () => {
  const fetchesBefore = idp.fetches;
  const generation = async () => (await (await fetch(`${sluice.adminUrl}/status`)).json()).generation;
  const before = await generation();
  sluice.proc.kill('SIGHUP');
  for (let i = 0; (await generation()) === before; i++) {
    assert.ok(i < 500, `no reload seen: ${sluice.stderr.join('\n')}`);
    await sleep(20);
  }
  assert.equal(idp.fetches, fetchesBefore + 1, 'fetched once, before the new generation showed');
  assert.equal((await chat(jwt(second, { sub: 'frank' }))).status, 200, 'the new key set is in use');
});

test('JWKS server down at start: 401 saying the keys are not available, then a retry recovers', async () => {
  const port = await freePort();
  const other = await startSluice({
    config: `${backends(mock.port)}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    jwt:
      providers:
      - name: corp
        issuer: ${ISSUER}
        jwks: {remote: {url: "http://127.0.0.1:${port}/jwks"}}
`,
  });
  let late;
  try {
    const token = jwt(first, { sub: 'erin' });
    const refused = await post(`${other.url}/v1/chat/completions`, token);
    assert.equal(refused.status, 401);
    assert.match((await refused.json()).error.message, /signing keys .* not available/);
    assert.match(other.stderr.join('\n'), /JWKS fetch failed/);
    late = jwksServer(http.createServer());
    await listen(late.server, port);
    let status = 0;
    for (let i = 0; i < 150 && status !== 200; i++) {
      await sleep(100);
      status = (await post(`${other.url}/v1/chat/completions`, token)).status;
    }
    assert.equal(status, 200, `recovered by a retry: ${other.stderr.join('\n')}`);
    const text = await metrics(other);
    assert.ok(metricValue(text, 'sluice_auth_failures_total{reason="keys_unavailable"}') >= 1);
    assert.ok(!text.includes('sluice_principal_requests_total'), 'no principal series unless metricsLabels asks');
  } finally {
    await other.stop();
    late?.server.close();
  }
});
