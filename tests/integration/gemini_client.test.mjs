// Gemini-native clients (issue 12): the official @google/genai SDK, unmodified but for its base
// URL, against sluice in front of sluice-mock — natively on a Gemini backend and translated on
// OpenAI-format, Anthropic, Vertex AI Claude and Bedrock backends: text, streams (the SDK's
// alt=sse and the JSON-array stream of the REST API), a tool round trip, countTokens (native,
// and the marked estimate elsewhere), errors in Google's shape, and the key in x-goog-api-key
// or ?key= (which never reaches the provider or the access log).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GoogleGenAI } from '@google/genai';
import { CHAT_MODELS, startProviderGateway } from '../lib/providers.mjs';
import { startMock, startSluice } from '../lib/harness.mjs';
import { aiBackend, prefixRule } from '../lib/config_yaml.mjs';

let gw;
let authMock;
let authGw;
const CLIENT_KEY = 'client-key-123';
before(async () => {
  gw = await startProviderGateway();
  authMock = await startMock();
  authGw = await startSluice({
    config:
      aiBackend('gemini', 'gemini: {authToken: {kind: Inline, inline: gemini-key}}', authMock.port) +
      `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${prefixRule('g', 'gemini')}${prefixRule('guarded', 'gemini')}${prefixRule('masked-out', 'gemini')}${prefixRule('rejected-out', 'gemini')}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: output-mask}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: masked-out}]
  ai:
    promptGuard:
      response:
        regex: {action: MASK, builtins: [SSN]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: output-reject}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: rejected-out}]
  ai:
    promptGuard:
      response:
        regex: {action: REJECT, builtins: [SSN]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: guarded}]
  ai:
    modelAliases: {fast: ${CHAT_MODELS.gemini}}
    defaults: [{field: max_tokens, value: 2}, {field: reasoning_effort, value: low}]
    promptGuard:
      request:
        regex: {action: MASK, builtins: [SSN]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
      keys:
      - name: team
        keyHash: "sha256:${createHash('sha256').update(CLIENT_KEY).digest('hex')}"
`,
  });
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
  await authGw?.stop();
  await authMock?.stop();
});

const genai = (backend, headers = {}) =>
  new GoogleGenAI({ apiKey: 'sk-client', httpOptions: { baseUrl: `${gw.url}/${backend}`, headers } });

const weather = {
  functionDeclarations: [
    {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] },
    },
  ],
};

for (const backend of ['gemini', 'openai', 'anthropic', 'vertex-claude', 'bedrock']) {
  const model = backend === 'gemini' ? CHAT_MODELS.gemini : CHAT_MODELS[backend];
  describe(`@google/genai on ${backend}`, () => {
    test('generateContent: text, usage, model', async () => {
      const response = await genai(backend, { 'x-mock-chunks': '3' }).models.generateContent({
        model,
        contents: 'Say something.',
        config: { systemInstruction: 'Be brief.', maxOutputTokens: 64 },
      });
      assert.equal(response.text, 'chunk0 chunk1 chunk2');
      assert.equal(response.candidates[0].finishReason, 'STOP');
      assert.ok(response.usageMetadata.promptTokenCount > 0);
      const line = await gw.sluice.waitForAccessLog((l) => l.path.startsWith(`/${backend}/`) && l.path.includes(":generateContent") && !l.stream);
      assert.equal(line.model, model);
      assert.equal(line.prompt_tokens, response.usageMetadata.promptTokenCount);
      const format = { 'vertex-claude': 'vertex-anthropic' }[backend] ?? backend;
      assert.equal(line.translation ?? '', backend === 'gemini' ? '' : `gemini->${format}`);
    });

    test('generateContentStream: chunks the SDK joins, usage on the last', async () => {
      const stream = await genai(backend, { 'x-mock-chunks': '4' }).models.generateContentStream({
        model,
        contents: 'hello',
      });
      let text = '';
      let last;
      for await (const chunk of stream) {
        text += chunk.text ?? '';
        last = chunk;
      }
      assert.equal(text, 'chunk0 chunk1 chunk2 chunk3');
      assert.ok(last.usageMetadata.totalTokenCount > 0);
    });

    test('a tool round trip: functionCall, then functionResponse', async () => {
      const client = genai(backend);
      const first = await client.models.generateContent({
        model,
        contents: 'Use the tool for Paris.',
        config: { tools: [weather] },
      });
      const call = first.functionCalls?.[0];
      assert.ok(call, JSON.stringify(first.candidates));
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(call.args, { city: 'mock' });
      const second = await client.models.generateContent({
        model,
        contents: [
          { role: 'user', parts: [{ text: 'Use the tool for Paris.' }] },
          first.candidates[0].content,
          { role: 'user', parts: [{ functionResponse: { id: call.id, name: call.name, response: { temp: 18 } } }] },
        ],
        config: { tools: [weather] },
      });
      assert.ok(second.text.length > 0);
      assert.equal(second.functionCalls, undefined);
    });
  });
}

const post = (path, body, headers = {}) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

test('streamGenerateContent without alt=sse is one JSON array, native and translated', async () => {
  for (const [backend, model] of [
    ['gemini', CHAT_MODELS.gemini],
    ['openai', CHAT_MODELS.openai],
  ]) {
    const res = await post(`/${backend}/v1beta/models/${model}:streamGenerateContent`, {
      contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
    }, { 'x-mock-chunks': '3' });
    assert.equal(res.status, 200, backend);
    assert.match(res.headers.get('content-type'), /^application\/json/, backend);
    const chunks = JSON.parse(await res.text());
    assert.ok(Array.isArray(chunks), backend);
    const text = chunks.map((c) => c.candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('') ?? '').join('');
    assert.equal(text, 'chunk0 chunk1 chunk2', backend);
    assert.ok(chunks.at(-1).usageMetadata.totalTokenCount > 0, backend);
  }
});

test('countTokens: the provider counts natively; elsewhere a marked estimate', async () => {
  const contents = [{ role: 'user', parts: [{ text: 'x'.repeat(400) }] }];
  const native = await genai('gemini').models.countTokens({ model: CHAT_MODELS.gemini, contents });
  const generated = await genai('gemini').models.generateContent({ model: CHAT_MODELS.gemini, contents });
  assert.equal(native.totalTokens, generated.usageMetadata.promptTokenCount);

  const res = await post(`/openai/v1beta/models/${CHAT_MODELS.openai}:countTokens`, { contents });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-sluice-token-count'), 'estimate');
  assert.deepEqual(await res.json(), { totalTokens: 100 });
});

test('errors are in Google\'s shape: a provider 429, and what another provider cannot take', async () => {
  await assert.rejects(
    genai('openai', { 'x-mock-status': '429' }).models.generateContent({ model: CHAT_MODELS.openai, contents: 'hi' }),
    (error) => {
      assert.equal(error.status, 429);
      return true;
    },
  );
  const res = await post(`/openai/v1beta/models/${CHAT_MODELS.openai}:generateContent`, {
    contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
    tools: [{ googleSearch: {} }],
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, 400);
  assert.equal(body.error.status, 'INVALID_ARGUMENT');
  assert.match(body.error.message, /googleSearch/);
  // embedContent is translated to OpenAI embeddings (embeddings_translated.test.mjs); an image
  // part is not something they can embed.
  const embed = await post(`/openai/v1beta/models/text-embedding-3-small:embedContent`, {
    content: { parts: [{ inlineData: { mimeType: 'image/png', data: 'AAAA' } }] },
  });
  assert.equal(embed.status, 400);
  const embedError = (await embed.json()).error;
  assert.equal(embedError.status, 'INVALID_ARGUMENT');
  assert.equal(embedError.details[0].fieldViolations[0].field, 'content.parts[0]');
});

test('the key in x-goog-api-key or ?key=: accepted, never sent upstream nor logged', async () => {
  const body = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
  const path = `/g/v1beta/models/${CHAT_MODELS.gemini}:generateContent`;
  const viaHeader = await fetch(authGw.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': CLIENT_KEY },
    body: JSON.stringify(body),
  });
  assert.equal(viaHeader.status, 200);
  assert.equal(viaHeader.headers.get('x-mock-api-key'), 'gemini-key', 'the gateway key, not the client key');
  await viaHeader.text();

  const viaQuery = await fetch(`${authGw.url}${path}?key=${CLIENT_KEY}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(viaQuery.status, 200);
  assert.equal(viaQuery.headers.get('x-mock-api-key'), 'gemini-key');
  assert.doesNotMatch(viaQuery.headers.get('x-mock-path') ?? '', /client-key/);
  await viaQuery.text();
  const line = await authGw.waitForAccessLog((l) => l.path.includes('key='));
  assert.doesNotMatch(JSON.stringify(line), /client-key-123/);

  const wrong = await fetch(`${authGw.url}${path}?key=nope`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(wrong.status, 401);
  const error = await wrong.json();
  assert.equal(error.error.status, 'UNAUTHENTICATED');
});

test('request policies read Gemini calls: the alias renames the path model, defaults fill generationConfig', async () => {
  const res = await fetch(`${authGw.url}/guarded/v1beta/models/fast:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': CLIENT_KEY, 'x-mock-chunks': '5' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'my SSN is 123-45-6789' }] }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('x-mock-request-model'), CHAT_MODELS.gemini, 'the provider is asked for the resolved model');
  assert.match(res.headers.get('x-mock-path'), new RegExp(`/models/${CHAT_MODELS.gemini}:generateContent`));
  const body = await res.json();
  assert.equal(body.candidates[0].finishReason, 'MAX_TOKENS', 'maxOutputTokens: 2 came from the default');
  assert.equal(body.usageMetadata.candidatesTokenCount, 2);
  const line = await authGw.waitForAccessLog((l) => l.path.startsWith('/guarded/') && l.status === 200);
  assert.equal(line.requested_model, 'fast');
  assert.equal(line.model, CHAT_MODELS.gemini);
  assert.equal(line.guard, 'request mask SSN');
});

describe('a response guard reads native Gemini replies', () => {
  const SSN = '123-45-6789';
  const reply = `my SSN is ${SSN}, noted`;
  const call = (route, action, extra = {}) =>
    fetch(`${authGw.url}/${route}/v1beta/models/${CHAT_MODELS.gemini}:${action}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-goog-api-key': CLIENT_KEY,
        'x-mock-reply': encodeURIComponent(reply),
        'x-mock-split': '12,15,19',
        ...extra,
      },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }),
    });
  const textOf = (chunks) =>
    chunks.flatMap((c) => c.candidates ?? []).flatMap((c) => c.content?.parts ?? []).map((p) => p.text ?? '').join('');

  test('generateContent: the complete reply is masked, the rest is the provider\'s', async () => {
    const res = await call('masked-out', 'generateContent');
    assert.equal(res.status, 200);
    const body = await res.json();
    const text = textOf([body]);
    assert.match(text, /^my SSN is \S+, noted$/);
    assert.equal(text.includes(SSN), false, text);
    assert.ok(body.usageMetadata.promptTokenCount > 0);
  });

  test('streamGenerateContent?alt=sse: an SSN cut across events is masked', async () => {
    const res = await fetch(
      `${authGw.url}/masked-out/v1beta/models/${CHAT_MODELS.gemini}:streamGenerateContent?alt=sse`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-goog-api-key': CLIENT_KEY,
          'x-mock-reply': encodeURIComponent(reply),
          'x-mock-split': '12,15,19',
        },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] }),
      },
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const raw = await res.text();
    assert.equal(raw.includes(SSN), false, raw);
    const chunks = raw
      .split(/\r?\n\r?\n/)
      .filter((block) => block.startsWith('data: '))
      .map((block) => JSON.parse(block.slice(6)));
    assert.match(textOf(chunks), /^my SSN is \S+, noted$/);
    assert.ok(chunks.at(-1).candidates[0].finishReason, 'the last chunk finishes the candidate');
  });

  test('streamGenerateContent as one JSON array: masked, still one valid array', async () => {
    const res = await call('masked-out', 'streamGenerateContent');
    assert.equal(res.status, 200);
    const raw = await res.text();
    assert.equal(raw.includes(SSN), false, raw);
    const chunks = JSON.parse(raw);
    assert.ok(Array.isArray(chunks) && chunks.length > 1);
    assert.match(textOf(chunks), /^my SSN is \S+, noted$/);
  });

  test('the @google/genai SDK streams through the guard', async () => {
    const ai = new GoogleGenAI({
      apiKey: CLIENT_KEY,
      httpOptions: {
        baseUrl: `${authGw.url}/masked-out`,
        headers: { 'x-mock-reply': encodeURIComponent(reply), 'x-mock-split': '12,15,19' },
      },
    });
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: CHAT_MODELS.gemini, contents: 'hello' }))
      text += chunk.text ?? '';
    assert.match(text, /^my SSN is \S+, noted$/);
    assert.equal(text.includes(SSN), false, text);
  });

  test('a rejecting guard ends the stream with SAFETY and Google\'s error', async () => {
    const res = await call('rejected-out', 'streamGenerateContent');
    assert.equal(res.status, 200);
    const raw = await res.text();
    assert.equal(raw.includes(SSN), false, raw);
    const chunks = JSON.parse(raw);
    assert.equal(chunks.at(-2).candidates[0].finishReason, 'SAFETY');
    const { error } = chunks.at(-1);
    assert.ok(error.message.length > 0);
    assert.ok(error.code >= 400 && typeof error.status === 'string', JSON.stringify(error));
  });

  test('a rejected complete reply is Google\'s error', async () => {
    const res = await call('rejected-out', 'generateContent');
    assert.equal(res.status >= 400, true);
    const body = await res.json();
    assert.ok(body.error.status);
    assert.equal(JSON.stringify(body).includes(SSN), false);
  });
});
