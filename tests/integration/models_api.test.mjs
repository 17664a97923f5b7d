// Integration: GET …/models and …/models/{id} answered by the real `sluice` from its providers'
// own model lists, fetched in the background from `sluice-mock` speaking OpenAI, Anthropic
// (paginated with after_id) and Gemini (paginated with pageToken), united with what the
// configuration says (model overrides, the `models` field of Bedrock and Vertex AI, a provider
// whose list call fails) and the route's model aliases; written in each client's shape (OpenAI,
// Anthropic with anthropic-version, Gemini under /v1beta/), read by the official SDKs, and
// filtered by an API key's allowed models.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { routeYaml, startMock, startSluice } from '../lib/harness.mjs';

const KEY = 'sk-gemini-team-0123456789';
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

let mock;
let sick;
let sluice;

const backend = (name, llm, port, extra = '') => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      ${llm}
      host: 127.0.0.1
      port: ${port}
${extra}`;

const config = () =>
  [
    backend('oai', 'openai: {authToken: {kind: Inline, inline: sk-oai}}', mock.port),
    backend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-ant}}', mock.port),
    backend('gem', 'gemini: {authToken: {kind: Inline, inline: gem-key}}', mock.port),
    backend('broken', 'openai: {authToken: {kind: Inline, inline: sk-oai}, models: [broken-config-model]}', sick.port,
      '    modelList: {refreshInterval: 1s, timeout: 2s}\n'),
    `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: cloud}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
      - name: bedrock
        bedrock: {authToken: {kind: Inline, inline: bedrock-key}, region: us-east-1, models: [anthropic.claude-3-haiku, amazon.titan-embed]}
        host: 127.0.0.1
        port: ${mock.port}
      - name: vertex
        vertexai: {authToken: {kind: Inline, inline: ya29.token}, projectId: p, location: us-central1, model: gemini-vertex-pinned, models: [gemini-vertex-extra]}
        host: 127.0.0.1
        port: ${mock.port}
`,
    routeYaml({
      name: 'llm',
      rules: ['all', 'keyed']
        .map((name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}}}]
    backendRefs: [{name: oai}, {name: claude}, {name: gem}, {name: broken}, {name: cloud}]
`)
        .join(''),
    }),
    `apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: aliases}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  ai:
    modelAliases: {smart: claude-mock-opus-1, ghost: not-served-here}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: keys}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: keyed}]
  auth:
    apiKey:
      keys:
      - name: gemini-team
        keyHash: "sha256:${sha256(KEY)}"
        allowedModels: ["gemini-*", "smart"]
`,
  ].join('---\n');

// Every model the route lists once each provider's list was fetched, in order: providers in
// backendRef order (each: its configuration, then its list), then the aliases.
const ALL = [
  'mock-gpt', 'mock-embed',
  'claude-mock-opus-1', 'claude-mock-sonnet-1', 'claude-mock-haiku-1',
  'gemini-mock-pro', 'gemini-mock-flash', 'gemini-mock-embedding',
  'broken-config-model',
  'anthropic.claude-3-haiku', 'amazon.titan-embed', 'gemini-vertex-pinned', 'gemini-vertex-extra',
  'smart',
];

async function get(path, headers = {}) {
  const res = await fetch(sluice.url + path, { headers });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

before(async () => {
  mock = await startMock(['--models-page-size', '2', '--log-requests']);
  sick = await startMock(['--status', '503', '--log-requests']);
  sluice = await startSluice({ config: config() });
  // The lists are fetched in the background: wait until every provider's is in.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await get('/all/v1/models');
    if (res.json?.data?.length === ALL.length) break;
    if (Date.now() > deadline) throw new Error(`the lists never arrived: ${res.text}\n${sluice.stderr.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await sick?.stop();
});

test('OpenAI shape: the union of the providers\' lists, the configuration and the aliases', async () => {
  const res = await get('/all/v1/models');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.object, 'list');
  assert.deepEqual(res.json.data.map((m) => m.id), ALL);
  const byId = Object.fromEntries(res.json.data.map((m) => [m.id, m]));
  assert.deepEqual(byId['mock-gpt'], { id: 'mock-gpt', object: 'model', created: 1700000000, owned_by: 'sluice-mock' });
  assert.equal(byId['claude-mock-opus-1'].owned_by, 'anthropic');
  assert.equal(byId['claude-mock-opus-1'].created, Date.parse('2025-05-14T00:00:00Z') / 1000);
  assert.equal(byId['gemini-mock-pro'].owned_by, 'gemini');
  assert.equal(byId['broken-config-model'].owned_by, 'openai');
  assert.equal(byId['amazon.titan-embed'].owned_by, 'bedrock');
  assert.equal(byId['gemini-vertex-extra'].owned_by, 'vertexai');
  assert.equal(byId.smart.owned_by, 'anthropic', 'an alias is described as the model it stands for');
  assert.ok(!('ghost' in byId), 'an alias of a model no provider here serves is not listed');
  assert.ok(!('gemini-mock-aqa' in byId), 'a Gemini model that neither generates content nor embeds is left out');

  const sdk = new OpenAI({ baseURL: `${sluice.url}/all/v1`, apiKey: 'unused', maxRetries: 0 });
  const listed = [];
  for await (const model of sdk.models.list()) listed.push(model.id);
  assert.deepEqual(listed, ALL, 'the OpenAI SDK reads the list');
  const one = await sdk.models.retrieve('claude-mock-sonnet-1');
  assert.equal(one.id, 'claude-mock-sonnet-1');
  assert.equal(one.object, 'model');
});

test('Anthropic shape (anthropic-version): model objects with display names and dates, one page', async () => {
  const res = await get('/all/v1/models', { 'anthropic-version': '2023-06-01' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.data.map((m) => m.id), ALL);
  assert.equal(res.json.has_more, false);
  assert.equal(res.json.first_id, ALL[0]);
  assert.equal(res.json.last_id, ALL.at(-1));
  const opus = res.json.data.find((m) => m.id === 'claude-mock-opus-1');
  assert.deepEqual(opus, { type: 'model', id: 'claude-mock-opus-1', display_name: 'Claude Mock Opus 1', created_at: '2025-05-14T00:00:00Z' });
  assert.equal(res.json.data.find((m) => m.id === 'gemini-mock-flash').display_name, 'Gemini Mock Flash');

  const sdk = new Anthropic({ baseURL: `${sluice.url}/all`, apiKey: 'unused', maxRetries: 0 });
  const listed = [];
  for await (const model of sdk.models.list()) listed.push(model.id);
  assert.deepEqual(listed, ALL, 'the Anthropic SDK reads the list');
  const one = await sdk.models.retrieve('claude-mock-haiku-1');
  assert.equal(one.display_name, 'Claude Mock Haiku 1');
  await assert.rejects(sdk.models.retrieve('nope'), (err) => err instanceof Anthropic.NotFoundError &&
    err.error?.error?.type === 'not_found_error');
});

test('Gemini shape (/v1beta/): models/<id> with their generation methods', async () => {
  const res = await get('/all/v1beta/models');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.models.map((m) => m.name), ALL.map((id) => `models/${id}`));
  const embedding = res.json.models.find((m) => m.name === 'models/gemini-mock-embedding');
  assert.deepEqual(embedding, {
    name: 'models/gemini-mock-embedding',
    displayName: 'Gemini Mock Embedding',
    supportedGenerationMethods: ['embedContent', 'countTextTokens'],
  });
  const configured = res.json.models.find((m) => m.name === 'models/gemini-vertex-extra');
  assert.deepEqual(configured.supportedGenerationMethods, ['generateContent', 'countTokens']);
});

test('the paginated lists were followed to their last page, with the provider\'s credential', async () => {
  const requests = mock.stderr.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l).target);
  assert.ok(requests.includes('/v1/models'), requests.join('\n'));
  assert.ok(requests.includes('/v1/models?limit=1000'), requests.join('\n'));
  assert.ok(requests.includes('/v1/models?limit=1000&after_id=claude-mock-sonnet-1'), requests.join('\n'));
  assert.ok(requests.includes('/v1beta/models?pageSize=1000'), requests.join('\n'));
  assert.ok(requests.includes('/v1beta/models?pageSize=1000&pageToken=pos%2F2%3D%3D'), requests.join('\n'));
  assert.ok(!requests.some((t) => t.includes('/projects/') || t.startsWith('/model/')), 'Vertex AI and Bedrock are not asked');
  assert.ok(mock.stderr.every((l) => !l.includes('"status":401') && !l.includes('"status":403')), 'every list call authenticated');
});

test('GET …/models/{id}: each listed model in the client\'s shape, 404 otherwise', async () => {
  let res = await get('/all/v1/models/amazon.titan-embed');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { id: 'amazon.titan-embed', object: 'model', created: 0, owned_by: 'bedrock' });
  res = await get('/all/v1/models/smart');
  assert.equal(res.status, 200, res.text);
  res = await get('/all/v1/models/gpt-9');
  assert.equal(res.status, 404, res.text);
  assert.equal(res.json.error.code, 'model_not_found');
  assert.equal(res.json.error.type, 'invalid_request_error');

  res = await get('/all/v1/models/gemini-mock-pro', { 'anthropic-version': '2023-06-01' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.type, 'model');
  res = await get('/all/v1/models/gpt-9', { 'anthropic-version': '2023-06-01' });
  assert.equal(res.status, 404);
  assert.deepEqual(res.json, { type: 'error', error: { type: 'not_found_error', message: 'model: gpt-9' } });

  res = await get('/all/v1beta/models/gemini-mock-flash');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.name, 'models/gemini-mock-flash');
  res = await get('/all/v1beta/models/gemini-mock-aqa');
  assert.equal(res.status, 404, res.text);
  assert.equal(res.json.error.status, 'NOT_FOUND');

  // A Gemini method on a model is another API (generateContent, a POST): not a model lookup.
  res = await get('/all/v1beta/models/gemini-mock-pro:generateContent');
  assert.equal(res.status, 405, res.text);
  assert.equal(res.headers.get('allow'), 'POST');
  assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
});

test('an API key\'s allowed models filter the list and the lookups', async () => {
  const auth = { authorization: `Bearer ${KEY}` };
  let res = await get('/keyed/v1/models', auth);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.data.map((m) => m.id),
    ['gemini-mock-pro', 'gemini-mock-flash', 'gemini-mock-embedding', 'gemini-vertex-pinned', 'gemini-vertex-extra', 'smart']);
  res = await get('/keyed/v1/models/claude-mock-opus-1', auth);
  assert.equal(res.status, 404, 'a model the key may not use is not found');
  res = await get('/keyed/v1/models/smart', auth);
  assert.equal(res.status, 200, 'its alias is');
  res = await get('/keyed/v1/models');
  assert.equal(res.status, 401, 'the list needs a key on that rule');
});

test('a provider whose list call fails is listed from the configuration, and the failure is logged', async () => {
  const res = await get('/all/v1/models');
  assert.ok(res.json.data.some((m) => m.id === 'broken-config-model'));
  const failures = sluice.stderr.filter((l) => l.includes('"model list fetch failed"') && l.includes('"backend":"broken"'));
  assert.ok(failures.length >= 1, sluice.stderr.join('\n'));
  assert.match(failures[0], /HTTP 503/);
  assert.ok(sick.stderr.some((l) => l.includes('"target":"/v1/models"')), 'the failing provider was asked');
  assert.ok(sluice.stderr.some((l) => l.includes('"model list fetched"') && l.includes('"backend":"claude"') &&
    l.includes('"pages":2')), sluice.stderr.join('\n'));
});
