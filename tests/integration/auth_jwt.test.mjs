// Client authentication with JWTs (TrafficPolicy spec.auth.jwt) next to API keys, through the
// real sluice and sluice-mock binaries and the official OpenAI and Anthropic SDKs. The test makes
// its own RSA and EC keys, writes their JWKS to a file and signs its tokens: a valid token is
// accepted and names the caller in the access log; expired, wrong-audience, wrong-issuer and
// unknown-key tokens get a 401 invalid_token saying why (never echoing the token); an API key
// still works beside them; a JWKS file rotated and reloaded accepts the new key and refuses the
// old one at once (the cache of verified tokens goes with the old configuration); and
// `validate` reports bad jwt sections.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, runValidate, gatewayYaml, chatBody } from '../lib/harness.mjs';
import { jwks, nowSeconds, signJwt, signingKey } from '../lib/jwt.mjs';

const ISSUER = 'https://idp.example.com';
const API_KEY = 'sk-sluice-service-1';
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

const rsa = signingKey('rsa-1', 'RS256');
const ec = signingKey('ec-1', 'ES256');
const rotated = signingKey('rsa-2', 'RS256');

const now = nowSeconds;

const jwt = (key, claims = {}, options) =>
  signJwt(key, { iss: ISSUER, aud: 'sluice', sub: 'alice', iat: now(), exp: now() + 600, ...claims }, options);

let mock;
let sluice;
const jwksDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-jwks-'));
const jwksFile = path.join(jwksDir, 'jwks.json');

const resources = () => `
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-provider}}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: claude}
spec:
  type: AI
  ai:
    llm:
      anthropic: {authToken: {kind: Inline, inline: sk-ant-provider}}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: claude
    matches: [{path: {type: PathPrefix, value: /claude}}]
    backendRefs: [{name: claude}]
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
      keys: [{name: service-1, keyHash: "sha256:${sha256(API_KEY)}"}]
    jwt:
      providers:
      - name: corp
        issuer: ${ISSUER}
        audiences: [sluice]
        jwks: {file: ${jwksFile}}
        claimsToMetadata: {team: groups}
`;

before(async () => {
  writeFileSync(jwksFile, jwks(rsa, ec));
  mock = await startMock();
  sluice = await startSluice({ config: resources() });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  rmSync(jwksDir, { recursive: true, force: true });
});

const openai = (apiKey) =>
  new OpenAI({ baseURL: `${sluice.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
const post = (token) =>
  fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: chatBody(),
  });

async function assertRefused(token, reason) {
  const res = await post(token);
  assert.equal(res.status, 401);
  assert.equal(
    res.headers.get('www-authenticate'),
    `Bearer realm="sluice", error="invalid_token", error_description="${reason}"`,
  );
  const body = await res.json();
  assert.equal(body.error.code, 'invalid_token');
  assert.ok(body.error.message.includes(reason), body.error.message);
  assert.ok(!JSON.stringify(body).includes(token.split('.')[1]), 'the token is not echoed');
}

test('a valid RS256 token through the OpenAI SDK: 200, the log names its subject, the provider sees its own key', async () => {
  const token = jwt(rsa, { sub: 'alice' });
  const { data, response } = await openai(token)
    .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.ok(data.choices[0].message.content.length > 0);
  assert.equal(response.headers.get('x-mock-authorization'), 'Bearer sk-provider', 'the token is not forwarded');
  const line = await sluice.waitForAccessLog((l) => l.principal === 'alice' && l.status === 200);
  assert.equal(line.model, 'gpt-4o-mini');
  const again = await post(token);
  assert.equal(again.status, 200, 'the same token again (now from the cache of verified tokens)');
});

test('an ES256 token read from x-api-key is accepted too', async () => {
  const res = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': jwt(ec, { sub: 'bob' }) },
    body: chatBody(),
  });
  assert.equal(res.status, 200);
  await sluice.waitForAccessLog((l) => l.principal === 'bob');
});

test('an API key still works beside the JWT providers', async () => {
  const res = await post(API_KEY);
  assert.equal(res.status, 200);
  await sluice.waitForAccessLog((l) => l.principal === 'service-1');
  const wrong = await post('sk-not-a-key');
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error.code, 'invalid_api_key', 'not JWT-shaped: looked up as an API key');
});

test('expired, wrong audience, wrong issuer and unknown key: 401 invalid_token saying why', async () => {
  await assertRefused(jwt(rsa, { exp: now() - 3600 }), 'the bearer token has expired');
  await assertRefused(jwt(rsa, { aud: 'someone-else' }), "the bearer token's audience is not accepted");
  await assertRefused(jwt(rsa, { iss: 'https://evil.example.com' }), "the bearer token's issuer is not accepted");
  await assertRefused(jwt(rsa, {}, { kid: 'nobody' }), 'the bearer token is signed with an unknown key');
  await assertRefused(jwt(rotated, {}, { kid: 'rsa-1' }), "the bearer token's signature is invalid");
  const lines = sluice.stdout.join('\n') + sluice.stderr.join('\n');
  assert.ok(!lines.includes(jwt(rsa).split('.')[0] + '.ey'), 'no token in the logs');
});

test('the OpenAI SDK gets AuthenticationError for an expired token', async () => {
  await assert.rejects(
    openai(jwt(rsa, { exp: now() - 3600 })).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    }),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401 && err.code === 'invalid_token',
  );
});

test('Anthropic clients get an Anthropic-shaped 401 for a bad token and succeed with a good one', async () => {
  const anthropic = (apiKey) =>
    new Anthropic({ baseURL: `${sluice.url}/claude`, apiKey, maxRetries: 0, timeout: 10_000 });
  const message = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
  await assert.rejects(
    anthropic(jwt(ec, { aud: 'other' })).messages.create(message),
    (err) =>
      err instanceof Anthropic.AuthenticationError &&
      err.error?.type === 'error' &&
      err.error?.error?.type === 'authentication_error' &&
      err.error?.error?.message.includes('audience'),
  );
  const ok = await anthropic(jwt(ec, { sub: 'carol' })).messages.create(message);
  assert.equal(ok.type, 'message');
  await sluice.waitForAccessLog((l) => l.principal === 'carol');
});

test('a rotated JWKS file takes effect on reload: the new key works, the old one is refused', async () => {
  const old = jwt(rsa, { sub: 'alice' });
  assert.equal((await post(old)).status, 200, 'accepted (and cached) before the rotation');
  writeFileSync(jwksFile, jwks(rotated, ec));
  const before = (await (await fetch(`${sluice.adminUrl}/status`)).json()).generation;
  sluice.proc.kill('SIGHUP');
  for (let i = 0; ; i++) {
    const generation = (await (await fetch(`${sluice.adminUrl}/status`)).json()).generation;
    if (generation > before) break;
    assert.ok(i < 200, `no reload seen: ${sluice.stderr.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await post(jwt(rotated, { sub: 'dave' }))).status, 200);
  await assertRefused(old, 'the bearer token is signed with an unknown key');
});

test('validate reports bad jwt sections naming the file, the policy and the field', async () => {
  writeFileSync(jwksFile, jwks(rsa));
  const base = `${gatewayYaml({ port: 1, adminPort: 2 })}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: bad}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    jwt:
      providers:
`;
  const cases = [
    [`      - {name: a, jwks: {file: ${jwksFile}}}`, /TrafficPolicy\/bad: spec\.auth\.jwt\.providers\[0\]\.issuer: is required/],
    [`      - {name: a, issuer: "", jwks: {file: ${jwksFile}}}`, /providers\[0\]\.issuer: is empty/],
    [
      `      - {name: a, issuer: i, jwks: {file: ${jwksFile}, inline: '{"keys": []}'}}`,
      /providers\[0\]\.jwks: has more than one of file, inline and remote/,
    ],
    [
      `      - {name: a, issuer: i, jwks: {file: ${jwksDir}/missing.json}}`,
      /providers\[0\]\.jwks\.file: cannot read the JWKS file ".*missing\.json"/,
    ],
    [
      `      - {name: a, issuer: i, jwks: {remote: {url: "ftp://idp/jwks", cacheDuration: 5m}}}`,
      /providers\[0\]\.jwks\.remote\.url: "ftp:\/\/idp\/jwks" is not an http:\/\/ or https:\/\/ URL/,
    ],
    [`      - {name: a, issuer: i, jwks: {inline: "{}"}}`, /providers\[0\]\.jwks\.inline: not a usable JWKS/],
  ];
  for (const [yaml, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(`${base}${yaml}\n`);
    assert.notEqual(code, 0, yaml);
    assert.match(stdout + stderr, expected, yaml);
    assert.match(stdout + stderr, /config\.yaml/, 'the file is named');
  }
  const good = await runValidate(`${base}      - {name: a, issuer: i, jwks: {file: ${jwksFile}}}\n`);
  assert.equal(good.code, 0, good.stdout + good.stderr);
});
