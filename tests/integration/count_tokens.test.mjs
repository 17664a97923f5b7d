// Counting tokens (issue 12): Anthropic's POST /v1/messages/count_tokens through the official
// @anthropic-ai/sdk and Gemini's :countTokens through @google/genai — answered by the provider's
// own count API: natively (Anthropic; Gemini and Vertex AI for Gemini clients), else translated
// (Gemini and Vertex AI countTokens, Vertex AI Claude count-tokens:rawPredict, Bedrock
// CountTokens for Claude models, Anthropic count_tokens), with failover and the provider's errors
// in the client's shape; only where no provider counts (OpenAI-format, a Bedrock model that is
// not Claude) with an estimate marked `x-sluice-token-count: estimate`. Also Anthropic's other
// Messages APIs answering errors in Anthropic's shape, a provider's 529 reaching an Anthropic
// client as 529 overloaded_error on Vertex AI's Anthropic publisher too.
//
// sluice-mock counts one token per 4 characters of the prompt's text, rounded down; Sluice's
// estimate is one per 4 bytes rounded up: the texts below make the two differ, so a count
// proves which one answered.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { AWS, CHAT_MODELS, startProviderGateway } from '../lib/providers.mjs';
import { startMock, startSluice } from '../lib/harness.mjs';

let gw;
let sick;
let mixed;
before(async () => {
  gw = await startProviderGateway();
  sick = await startMock(['--status', '503']);
  const provider = (name, llm, port) => `      - name: ${name}
        ${llm}
        host: 127.0.0.1
        port: ${port}
`;
  const backend = (name, groups) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    priorityGroups:
${groups.map((g) => `    - providers:\n${g.join('')}`).join('')}---
`;
  const rule = (name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}}}]
    backendRefs: [{name: ${name}}]
`;
  const bedrock = (model) => `bedrock: {credentials: {secretRef: {name: aws}}, region: us-east-1, model: ${model}}`;
  mixed = await startSluice({
    config: `apiVersion: v1
kind: Secret
metadata: {name: aws}
stringData: ${JSON.stringify(AWS)}
---
${backend('failover', [
  [provider('sick-gemini', 'gemini: {authToken: {kind: Inline, inline: k}}', sick.port)],
  [provider('claude-on-bedrock', bedrock('anthropic.claude-3-5-sonnet-20241022-v2:0'), gw.mock.port)],
])}${backend('skip', [
  [provider('nova', bedrock('amazon.nova-pro-v1:0'), gw.mock.port)],
  [provider('claude', 'anthropic: {authToken: {kind: Inline, inline: k}}', gw.mock.port)],
])}${backend('nocount', [
  [provider('nova', bedrock('amazon.nova-pro-v1:0'), gw.mock.port)],
  [provider('gpt', 'openai: {authToken: {kind: Inline, inline: k}}', gw.mock.port)],
])}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: counting}
spec:
  rules:
${rule('failover')}${rule('skip')}${rule('nocount')}`,
  });
});
after(async () => {
  await gw?.sluice.stop();
  await mixed?.stop();
  await sick?.stop();
  await gw?.mock.stop();
});

const anthropic = (backend) => new Anthropic({ baseURL: `${gw.url}/${backend}`, apiKey: 'sk-client', maxRetries: 0 });

const request = {
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'x'.repeat(400) }],
};
// 409 characters: the mock counts 102, the estimate 103.
const COUNTED = 102;
const ESTIMATED = 103;

const genai = (base) => new GoogleGenAI({ apiKey: 'sk-client', httpOptions: { baseUrl: base } });
// 403 characters: the mock counts 100, the estimate 101.
const contents = [{ role: 'user', parts: [{ text: 'y'.repeat(403) }] }];

const VERTEX = '/v1/projects/my-project/locations';

test('an Anthropic provider counts natively: the same number its reply reports', async () => {
  const client = anthropic('anthropic');
  const counted = await client.messages.countTokens({ model: CHAT_MODELS.anthropic, ...request });
  const reply = await client.messages.create({ model: CHAT_MODELS.anthropic, max_tokens: 32, ...request });
  assert.equal(counted.input_tokens, reply.usage.input_tokens);
  const line = await gw.sluice.waitForAccessLog((l) => l.path === '/anthropic/v1/messages/count_tokens');
  assert.equal(line.upstream_path, '/v1/messages/count_tokens');
  assert.equal(line.status, 200);
});

test('elsewhere: an estimate of 4 bytes a token, marked as such', async () => {
  const { data, response } = await anthropic('openai')
    .messages.countTokens({ model: CHAT_MODELS.openai, ...request })
    .withResponse();
  assert.equal(response.headers.get('x-sluice-token-count'), 'estimate');
  // 9 bytes of system prompt and 400 of message: 409 bytes, 103 tokens.
  assert.equal(data.input_tokens, 103);
  const bad = await fetch(`${gw.url}/gemini/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'm' }),
  });
  assert.equal(bad.status, 400);
  const error = await bad.json();
  assert.equal(error.type, 'error');
  assert.equal(error.error.type, 'invalid_request_error');
});

test("Anthropic's other Messages APIs answer errors in Anthropic's shape", async () => {
  const res = await fetch(`${gw.url}/openai/v1/messages/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: '{}',
  });
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'not_found_error');
  const wrongMethod = await fetch(`${gw.url}/anthropic/v1/messages/count_tokens`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'POST');
  assert.equal((await wrongMethod.json()).type, 'error');
});

test('an Anthropic-format provider\'s 529 is 529 overloaded_error for an Anthropic client, Vertex AI Claude included', async () => {
  for (const backend of ['anthropic', 'vertex-claude']) {
    const client = new Anthropic({
      baseURL: `${gw.url}/${backend}`,
      apiKey: 'sk-client',
      maxRetries: 0,
      defaultHeaders: { 'x-mock-status': '529' },
    });
    await assert.rejects(
      client.messages.create({ model: CHAT_MODELS[backend], max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      (error) => {
        assert.equal(error.status, 529, backend);
        assert.equal(error.error?.error?.type, 'overloaded_error', backend);
        return true;
      },
    );
  }
});

test('Anthropic count_tokens is translated to each provider\'s count API, system prompt included', async () => {
  const upstream = {
    gemini: `/v1beta/models/${CHAT_MODELS.gemini}:countTokens`,
    vertex: `${VERTEX}/us-central1/publishers/google/models/${CHAT_MODELS.vertex}:countTokens`,
    'vertex-claude': `${VERTEX}/us-east5/publishers/anthropic/models/count-tokens:rawPredict`,
    bedrock: `/model/${encodeURIComponent(CHAT_MODELS.bedrock)}/count-tokens`,
  };
  for (const [backend, path] of Object.entries(upstream)) {
    const { data, response } = await anthropic(backend)
      .messages.countTokens({ model: CHAT_MODELS[backend], ...request })
      .withResponse();
    assert.equal(response.headers.get('x-sluice-token-count'), null, backend);
    // The mock counted the system prompt with the message (it rejects a body of another shape).
    assert.deepEqual(data, { input_tokens: COUNTED }, backend);
    const line = await gw.sluice.waitForAccessLog(
      (l) => l.path === `/${backend}/v1/messages/count_tokens` && l.upstream_path === path,
    );
    assert.equal(line.status, 200, backend);
    assert.ok(line.translation.startsWith('anthropic->'), backend);
  }
});

test('Gemini countTokens is translated to Anthropic, Vertex AI Claude and Bedrock (Claude)', async () => {
  const upstream = {
    anthropic: '/v1/messages/count_tokens',
    'vertex-claude': `${VERTEX}/us-east5/publishers/anthropic/models/count-tokens:rawPredict`,
    bedrock: `/model/${encodeURIComponent(CHAT_MODELS.bedrock)}/count-tokens`,
  };
  for (const [backend, path] of Object.entries(upstream)) {
    const counted = await genai(`${gw.url}/${backend}`).models.countTokens({ model: CHAT_MODELS[backend], contents });
    assert.equal(counted.totalTokens, 100, backend);
    const line = await gw.sluice.waitForAccessLog(
      (l) => l.path.startsWith(`/${backend}/`) && l.path.endsWith(':countTokens') && l.upstream_path === path,
    );
    assert.equal(line.status, 200, backend);
    assert.ok(line.translation.startsWith('gemini->'), backend);
  }
  // Vertex's form (systemInstruction beside contents) and AI Studio's (generateContentRequest)
  // both carry the system instruction to the provider's count.
  const system = { parts: [{ text: 'Be brief.' }] };
  const text = [{ role: 'user', parts: [{ text: 'x'.repeat(400) }] }];
  for (const body of [
    { contents: text, systemInstruction: system },
    { generateContentRequest: { model: `models/${CHAT_MODELS.anthropic}`, contents: text, systemInstruction: system } },
  ]) {
    const res = await fetch(`${gw.url}/anthropic/v1beta/models/${CHAT_MODELS.anthropic}:countTokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-token-count'), null);
    assert.deepEqual(await res.json(), { totalTokens: COUNTED });
  }
});

test('Gemini and Vertex AI count natively for a Gemini client', async () => {
  for (const backend of ['gemini', 'vertex']) {
    const counted = await genai(`${gw.url}/${backend}`).models.countTokens({ model: CHAT_MODELS[backend], contents });
    assert.equal(counted.totalTokens, 100, backend);
  }
});

test('no provider counts: OpenAI-format and a Bedrock model that is not Claude get the estimate', async () => {
  const { data, response } = await anthropic('bedrock')
    .messages.countTokens({ model: 'amazon.nova-pro-v1:0', ...request })
    .withResponse();
  assert.equal(response.headers.get('x-sluice-token-count'), 'estimate');
  assert.equal(data.input_tokens, ESTIMATED);
  const res = await fetch(`${gw.url}/bedrock/v1beta/models/meta.llama3-70b-instruct-v1:0:countTokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contents }),
  });
  assert.equal(res.headers.get('x-sluice-token-count'), 'estimate');
  assert.deepEqual(await res.json(), { totalTokens: 101 });
  const genaiCount = await genai(`${gw.url}/openai`).models.countTokens({ model: CHAT_MODELS.openai, contents });
  assert.equal(genaiCount.totalTokens, 101);
  // A Backend whose providers cannot count either.
  const mixedCount = await new Anthropic({ baseURL: `${mixed.url}/nocount`, apiKey: 'k', maxRetries: 0 })
    .messages.countTokens({ model: 'm', ...request })
    .withResponse();
  assert.equal(mixedCount.response.headers.get('x-sluice-token-count'), 'estimate');
  assert.equal(mixedCount.data.input_tokens, ESTIMATED);
});

test('counts fail over, and skip a provider that cannot count for the model', async () => {
  const client = (route) => new Anthropic({ baseURL: `${mixed.url}/${route}`, apiKey: 'k', maxRetries: 0 });
  // Gemini answers 503: Claude on Bedrock counts.
  const failedOver = await client('failover').messages.countTokens({ model: 'any', ...request }).withResponse();
  assert.equal(failedOver.response.headers.get('x-sluice-token-count'), null);
  assert.equal(failedOver.data.input_tokens, COUNTED);
  let line = await mixed.waitForAccessLog((l) => l.path === '/failover/v1/messages/count_tokens');
  assert.equal(line.provider, 'claude-on-bedrock');
  assert.equal(line.error, undefined, 'a request that succeeded after a failover has no error');
  assert.equal(line.failover_reasons.length, 1, JSON.stringify(line));
  // Bedrock is pinned to Nova, which CountTokens does not serve: Anthropic counts, Bedrock is never asked.
  const skipped = await client('skip').messages.countTokens({ model: 'claude-sonnet-4-5', ...request }).withResponse();
  assert.equal(skipped.response.headers.get('x-sluice-token-count'), null);
  assert.equal(skipped.data.input_tokens, COUNTED);
  line = await mixed.waitForAccessLog((l) => l.path === '/skip/v1/messages/count_tokens');
  assert.equal(line.provider, 'claude');
  assert.equal(line.attempts ?? 1, 1);
});

test('a provider\'s error reaches each client in its own shape', async () => {
  const failing = new Anthropic({
    baseURL: `${gw.url}/gemini`,
    apiKey: 'sk-client',
    maxRetries: 0,
    defaultHeaders: { 'x-mock-status': '429' },
  });
  await assert.rejects(failing.messages.countTokens({ model: CHAT_MODELS.gemini, ...request }), (error) => {
    assert.equal(error.status, 429);
    assert.equal(error.error?.type, 'error');
    assert.equal(error.error?.error?.type, 'rate_limit_error');
    return true;
  });
  const res = await fetch(`${gw.url}/bedrock/v1beta/models/${encodeURIComponent(CHAT_MODELS.bedrock)}:countTokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-status': '403' },
    body: JSON.stringify({ contents }),
  });
  assert.equal(res.status, 403);
  const body = await res.json();
  assert.equal(body.error.code, 403);
  assert.equal(typeof body.error.status, 'string');
  // What the conversion cannot carry: a 400 in Google's shape naming the field.
  const bad = await fetch(`${gw.url}/anthropic/v1beta/models/${CHAT_MODELS.anthropic}:countTokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contents, tools: [{ googleSearch: {} }] }),
  });
  assert.equal(bad.status, 400);
  const refused = await bad.json();
  assert.equal(refused.error.code, 400);
  assert.match(refused.error.message, /googleSearch/);
});
