// Client authentication with API keys (TrafficPolicy spec.auth.apiKey), through the real sluice
// and sluice-mock binaries and the official OpenAI and Anthropic SDKs: missing, wrong, raw (from a
// Secret) and hashed keys; errors in each client's schema with WWW-Authenticate; models a key may
// not use; the model list per caller; Optional mode on one rule; the client's key never reaching
// an upstream; keys removed by a reload refused at once; and `validate` on bad auth sections.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, runValidate, gatewayYaml, chatBody } from '../lib/harness.mjs';

const KEY_A = 'sk-sluice-team-a-7f3c0d1e';
const KEY_B = 'sk-sluice-team-b-91aa';
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

let mock;
let sluice;

const resources = ({ keepTeamA = true } = {}) => `
apiVersion: v1
kind: Secret
metadata: {name: team-a-key}
stringData: {apiKey: ${KEY_A}}
---
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
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: pinned-gpt}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-provider}, model: gpt-4o-mini}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: pinned-claude}
spec:
  type: AI
  ai:
    llm:
      anthropic: {authToken: {kind: Inline, inline: sk-ant-provider}, model: claude-opus-4}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: web}
spec:
  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: ${mock.port}}]
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
    matches: [{path: {type: PathPrefix, value: /pinned}}]
    backendRefs: [{name: pinned-gpt}, {name: pinned-claude}]
  - name: open
    matches: [{path: {type: PathPrefix, value: /open}}]
    backendRefs: [{name: openai}]
  - name: web
    matches: [{path: {type: PathPrefix, value: /web}}]
    backendRefs: [{name: web}]
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
      keys:
${keepTeamA ? `      - name: team-a
        secretRef: {name: team-a-key}
        metadata: {team: a}
        allowedModels: ["gpt-4o*", "claude-sonnet-*"]
` : ''}      - name: team-b
        keyHash: "sha256:${sha256(KEY_B)}"
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: open-rule}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: open}]
  auth:
    apiKey: {mode: Optional}
`;

before(async () => {
  mock = await startMock();
  sluice = await startSluice({ config: resources() });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

const openai = (apiKey, prefix = '') =>
  new OpenAI({ baseURL: `${sluice.url}${prefix}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
const anthropic = (apiKey) =>
  new Anthropic({ baseURL: `${sluice.url}/claude`, apiKey, maxRetries: 0, timeout: 10_000 });
const post = (path, headers = {}, body = chatBody()) =>
  fetch(`${sluice.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

test('no key: 401 in the OpenAI schema with WWW-Authenticate, and nothing reaches the provider', async () => {
  const res = await post('/v1/chat/completions');
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="sluice"');
  const body = await res.json();
  assert.equal(body.error.code, 'missing_api_key');
  assert.equal(body.error.type, 'invalid_request_error');
  assert.ok('param' in body.error);
  const line = await sluice.waitForAccessLog((l) => l.status === 401 && l.path === '/v1/chat/completions');
  assert.equal(line.attempts ?? 0, 0, 'refused before any provider was tried');
});

test('a wrong key: the OpenAI SDK gets AuthenticationError (401, invalid_api_key)', async () => {
  await assert.rejects(
    openai('sk-not-a-key').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401 && err.code === 'invalid_api_key',
  );
});

test('a key from a Secret: the SDK call succeeds, the provider sees its own key, the log names the caller', async () => {
  const client = openai(KEY_A);
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'who am I' }] })
    .withResponse();
  assert.ok(data.choices[0].message.content.length > 0);
  assert.equal(response.headers.get('x-mock-authorization'), 'Bearer sk-provider', 'the client key is not forwarded');
  const line = await sluice.waitForAccessLog((l) => l.principal === 'team-a' && l.status === 200);
  assert.equal(line.model, 'gpt-4o-mini');
});

test('a hashed key in x-api-key works; the hash is all the config holds', async () => {
  const res = await post('/v1/chat/completions', { 'x-api-key': KEY_B });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-provider');
  assert.equal(res.headers.get('x-mock-api-key'), null, 'x-api-key (the client credential) is not forwarded');
  await sluice.waitForAccessLog((l) => l.principal === 'team-b');
});

test('a model the key may not use: 403 model_not_allowed naming the model (OpenAI SDK)', async () => {
  await assert.rejects(
    openai(KEY_A).chat.completions.create({ model: 'o3-pro', messages: [{ role: 'user', content: 'hi' }] }),
    (err) =>
      err instanceof OpenAI.PermissionDeniedError &&
      err.status === 403 &&
      err.code === 'model_not_allowed' &&
      err.message.includes('"o3-pro"'),
  );
});

test('Anthropic clients get Anthropic-shaped 401 and 403, and succeed with a valid key', async () => {
  const message = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
  await assert.rejects(
    anthropic('sk-wrong').messages.create(message),
    (err) => err instanceof Anthropic.AuthenticationError && err.status === 401 && err.error?.type === 'error' &&
      err.error?.error?.type === 'authentication_error',
  );
  await assert.rejects(
    anthropic(KEY_A).messages.create({ ...message, model: 'claude-opus-4' }),
    (err) => err instanceof Anthropic.PermissionDeniedError && err.error?.error?.type === 'permission_error' &&
      err.error?.error?.message.includes('"claude-opus-4"'),
  );
  const ok = await anthropic(KEY_A).messages.create(message);
  assert.equal(ok.type, 'message');
});

test('GET /v1/models lists only the models the caller may use', async () => {
  const list = async (key) => {
    const res = await fetch(`${sluice.url}/pinned/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    return (await res.json()).data.map((m) => m.id).sort();
  };
  assert.deepEqual(await list(KEY_B), ['claude-opus-4', 'gpt-4o-mini']);
  const restricted = await openai(KEY_A, '/pinned').models.list();
  assert.deepEqual(restricted.data.map((m) => m.id).sort(), ['gpt-4o-mini'], 'team-a may not use claude-opus-4');
  const res = await fetch(`${sluice.url}/pinned/v1/models`);
  assert.equal(res.status, 401, 'the model list needs a key too');
});

test('Optional on one rule (sectionName): anonymous calls pass, a wrong key is still refused', async () => {
  const anonymous = await post('/open/v1/chat/completions');
  assert.equal(anonymous.status, 200);
  const wrong = await post('/open/v1/chat/completions', { authorization: 'Bearer sk-wrong' });
  assert.equal(wrong.status, 401);
  const known = await post('/open/v1/chat/completions', { authorization: `Bearer ${KEY_B}` });
  assert.equal(known.status, 200);
  const strict = await post('/v1/chat/completions');
  assert.equal(strict.status, 401, 'the other rules stay Strict');
});

test('a Static backend never receives the key the client authenticated with', async () => {
  const res = await fetch(`${sluice.url}/web/echo`, { headers: { 'x-api-key': KEY_B, 'x-other': 'kept' } });
  assert.equal(res.status, 200);
  const echoed = await res.json();
  assert.equal(echoed.headers['x-api-key'], undefined);
  assert.equal(echoed.headers['x-other'], 'kept');
  const bearer = await fetch(`${sluice.url}/web/echo`, { headers: { authorization: `Bearer ${KEY_B}` } });
  assert.equal((await bearer.json()).headers.authorization, undefined);
});

test('a Basic Authorization header is not a key: with no other credential the answer is 401', async () => {
  const res = await post('/v1/chat/completions', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'missing_api_key');
});

test('a key removed by a reload is refused at once', async () => {
  const allowed = chatBody({ model: 'gpt-4o' });
  assert.equal((await post('/v1/chat/completions', { authorization: `Bearer ${KEY_A}` }, allowed)).status, 200);
  const before = (await (await fetch(`${sluice.adminUrl}/status`)).json()).generation;
  writeFileSync(
    sluice.file,
    `${gatewayYaml({ port: sluice.port, adminPort: sluice.adminPort })}---\n${resources({ keepTeamA: false })}`,
  );
  sluice.proc.kill('SIGHUP');
  for (let i = 0; ; i++) {
    const generation = (await (await fetch(`${sluice.adminUrl}/status`)).json()).generation;
    if (generation > before) break;
    assert.ok(i < 200, `no reload seen: ${sluice.stderr.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await post('/v1/chat/completions', { authorization: `Bearer ${KEY_A}` }, allowed)).status, 401);
  assert.equal((await post('/v1/chat/completions', { authorization: `Bearer ${KEY_B}` })).status, 200);
});

test('validate reports bad auth sections naming the file, the policy and the field', async () => {
  const base = `${gatewayYaml({ port: 1, adminPort: 2 })}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: bad}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
`;
  const cases = [
    ['      keys: [{name: a, secretRef: {name: nowhere}}]', /TrafficPolicy\/bad: spec\.auth\.apiKey\.keys\[0\]\.secretRef\.name: Secret "nowhere" not found/],
    ['      keys: [{name: a, keyHash: "sha256:abc"}]', /spec\.auth\.apiKey\.keys\[0\]\.keyHash: expected "sha256:" and the 64 hex digits/],
    [`      keys: [{name: a, keyHash: "sha256:${sha256('x')}", secretRef: {name: s}}]`, /keys\[0\]: has both secretRef and keyHash/],
    ['      keys: [{name: a}]', /keys\[0\]: needs secretRef .* or keyHash/],
    [`      keys: [{name: a, keyHash: "${sha256('x')}"}, {name: a, keyHash: "${sha256('y')}"}]`, /keys\[1\]\.name: "a" is also the name of keys\[0\]/],
    ['      mode: Sometimes', /spec\.auth\.apiKey\.mode: unknown value "Sometimes"; expected one of Strict, Optional/],
    [`      keys: [{name: a, keyHash: "${sha256('x')}", allowedModels: ["gpt-*-mini"]}]`, /allowedModels\[0\]: "gpt-\*-mini" is not a model pattern/],
    ['      headers: ["x api key"]', /headers\[0\]: "x api key" is not an HTTP header name/],
  ];
  for (const [yaml, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(`${base}${yaml}\n`);
    assert.notEqual(code, 0, yaml);
    assert.match(stdout + stderr, expected, yaml);
    assert.match(stdout + stderr, /config\.yaml/, 'the file is named');
  }
});

test('validate refuses an auth policy in front of a Passthrough provider reading the same header', async () => {
  const config = (headers) => `${gatewayYaml({ port: 1, adminPort: 2 })}---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: byok}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Passthrough}}
      host: 127.0.0.1
      port: 9
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: byok
    backendRefs: [{name: byok}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
${headers ? `      headers: ${headers}\n` : ''}      keys: [{name: a, keyHash: "sha256:${sha256('x')}"}]
`;
  const clash = await runValidate(config());
  assert.notEqual(clash.code, 0);
  assert.match(
    clash.stdout + clash.stderr,
    /TrafficPolicy\/clients: spec\.targetRefs\[0\]: rule "byok" of HTTPRoute "llm" sends to Backend "byok", whose provider passes the client's credential through .* "authorization"/,
  );
  const apart = await runValidate(config('[x-sluice-key]'));
  assert.equal(apart.code, 0, apart.stdout + apart.stderr);
});
