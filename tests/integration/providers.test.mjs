// Integration: OpenAI-format requests through the real `sluice` to `sluice-mock` speaking each
// provider's own wire format (Anthropic, Gemini, Vertex AI with both publishers, Azure OpenAI,
// Bedrock with SigV4), plus Anthropic-format clients, passthrough APIs and error mapping.
// The mock validates what it receives as the real provider would, so a wrong translation fails
// here with the provider's 400.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CHAT_MODELS, parseSse, startProviderGateway } from '../lib/providers.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

async function post(path, body, headers = {}) {
  const response = await fetch(gw.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

// The upstream path each provider must receive for a non-streaming chat request.
const NATIVE_PATHS = {
  anthropic: '/v1/messages',
  gemini: '/v1beta/models/gemini-2.5-flash:generateContent',
  vertex: '/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent',
  'vertex-claude': '/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:rawPredict',
  azure: '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21',
  'azure-v1': '/openai/v1/chat/completions',
  bedrock: '/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse',
};

// The credential each provider must receive (the client's own Bearer key never passes).
const CREDENTIALS = {
  anthropic: { apiKey: 'sk-ant-gateway', authorization: '' },
  gemini: { apiKey: 'gemini-key', authorization: '' },
  vertex: { apiKey: '', authorization: 'Bearer ya29.mock-access-token' },
  'vertex-claude': { apiKey: '', authorization: 'Bearer ya29.mock-access-token' },
  azure: { apiKey: 'azure-key', authorization: '' },
  'azure-v1': { apiKey: 'azure-key', authorization: '' },
  bedrock: { apiKey: '', authorization: /^AWS4-HMAC-SHA256 Credential=AKIDMOCKEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=/ },
};

function assertOpenAIError(res, status) {
  assert.equal(res.status, status, res.text);
  assert.ok(res.json?.error, res.text);
  for (const key of ['message', 'type', 'param', 'code']) assert.ok(key in res.json.error, `error.${key} missing: ${res.text}`);
}

for (const [name, path] of Object.entries(NATIVE_PATHS)) {
  describe(`OpenAI client -> ${name}`, () => {
    const model = CHAT_MODELS[name];
    const chatPath = `/${name}/v1/chat/completions`;

    test('chat: an OpenAI chat.completion comes back from the native endpoint', async () => {
      const res = await post(chatPath, {
        model,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hello' },
        ],
        temperature: 0,
        stop: 'END',
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('x-mock-path'), path);
      const expected = CREDENTIALS[name];
      assert.equal(res.headers.get('x-mock-api-key') ?? '', expected.apiKey);
      if (expected.authorization instanceof RegExp) assert.match(res.headers.get('x-mock-authorization'), expected.authorization);
      else assert.equal(res.headers.get('x-mock-authorization') ?? '', expected.authorization);
      assert.equal(res.json.object, 'chat.completion');
      assert.equal(res.json.choices.length, 1);
      assert.equal(res.json.choices[0].message.role, 'assistant');
      assert.equal(typeof res.json.choices[0].message.content, 'string');
      assert.ok(res.json.choices[0].message.content.length > 0);
      assert.equal(res.json.choices[0].finish_reason, 'stop');
      assert.ok(res.json.usage.prompt_tokens > 0 && res.json.usage.completion_tokens > 0, res.text);
      assert.equal(res.json.usage.total_tokens, res.json.usage.prompt_tokens + res.json.usage.completion_tokens);
    });

    test('streaming chat: OpenAI chunks with one id, role once, usage chunk, [DONE]', async () => {
      const res = await post(chatPath, {
        model,
        messages: [{ role: 'user', content: 'hello' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type'), /^text\/event-stream/);
      const events = parseSse(res.text);
      assert.equal(events.at(-1).data, '[DONE]', res.text);
      const chunks = events.slice(0, -1).map((e) => e.data);
      assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'), res.text);
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id per stream');
      assert.equal(chunks.filter((c) => c.choices[0]?.delta?.role).length, 1, 'role only once');
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      assert.ok(text.length > 0, res.text);
      const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
      assert.equal(finish.length, 1);
      assert.equal(finish[0].choices[0].finish_reason, 'stop');
      const usage = chunks.at(-1);
      assert.deepEqual(usage.choices, []);
      assert.ok(usage.usage.prompt_tokens > 0, res.text);
    });

    test('tools: a tool call comes back, and the tool result round trip is accepted', async () => {
      const messages = [{ role: 'user', content: 'Use a tool to get the weather in Paris' }];
      const first = await post(chatPath, { model, messages, tools: [weatherTool], tool_choice: 'required' });
      assert.equal(first.status, 200, first.text);
      const choice = first.json.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls', first.text);
      const call = choice.message.tool_calls[0];
      assert.equal(call.type, 'function');
      assert.equal(call.function.name, 'get_weather');
      assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
      assert.ok(call.id.length > 0);
      const second = await post(chatPath, {
        model,
        tools: [weatherTool],
        messages: [
          ...messages,
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' },
        ],
      });
      assert.equal(second.status, 200, second.text);
      assert.equal(second.json.choices[0].finish_reason, 'stop', second.text);
    });

    test('streaming tools: tool-call deltas indexed from 0 with id and name first', async () => {
      const res = await post(chatPath, {
        model,
        messages: [{ role: 'user', content: 'Use a tool to get the weather in Paris' }],
        tools: [weatherTool],
        tool_choice: 'required',
        stream: true,
      });
      assert.equal(res.status, 200, res.text);
      const chunks = parseSse(res.text)
        .map((e) => e.data)
        .filter((d) => typeof d === 'object');
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
      assert.ok(deltas.length > 0, res.text);
      assert.equal(deltas[0].index, 0);
      assert.ok(deltas[0].id);
      assert.equal(deltas[0].function.name, 'get_weather');
      const args = deltas.map((d) => d.function?.arguments ?? '').join('');
      assert.equal(typeof JSON.parse(args).city, 'string');
      assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
      assert.ok(!chunks.some((c) => c.usage), 'no usage chunk without include_usage');
    });
  });
}

describe('errors are reshaped to the OpenAI schema with a fitting status', () => {
  test('Anthropic 529 overloaded -> 503', async () => {
    const res = await post('/anthropic/v1/chat/completions', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }, { 'x-mock-status': '529' });
    assertOpenAIError(res, 503);
  });
  test('Anthropic 429 keeps its Retry-After', async () => {
    const res = await post('/anthropic/v1/chat/completions', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }, { 'x-mock-status': '429', 'x-mock-retry-after': '7' });
    assertOpenAIError(res, 429);
    assert.equal(res.headers.get('retry-after'), '7');
  });
  test('Gemini API_KEY_INVALID -> 401', async () => {
    const res = await post('/gemini-badkey/v1/chat/completions', { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }] });
    assertOpenAIError(res, 401);
    assert.match(res.json.error.message, /API key/);
  });
  test('Bedrock with a wrong secret key: the mock rejects the SigV4 signature -> 401', async () => {
    const res = await post('/bedrock-badkey/v1/chat/completions', { model: 'anthropic.claude-3-5-sonnet-20241022-v2:0', messages: [{ role: 'user', content: 'hi' }] });
    // AWS answers 403 InvalidSignatureException: a credential problem, 401 authentication_error.
    assertOpenAIError(res, 401);
    assert.equal(res.json.error.type, 'authentication_error');
    assert.match(res.json.error.message, /signature/i);
  });
  test('Bedrock throttling (x-amzn-errortype) -> 429', async () => {
    const res = await post('/bedrock/v1/chat/completions', { model: 'anthropic.claude-3-5-sonnet-20241022-v2:0', messages: [{ role: 'user', content: 'hi' }] }, { 'x-mock-status': '429' });
    assertOpenAIError(res, 429);
  });
  test('a translation the provider cannot take is a 400 naming the field (Anthropic temperature above 1)', async () => {
    const res = await post('/anthropic/v1/chat/completions', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], temperature: 1.5 });
    assertOpenAIError(res, 400);
    assert.match(res.json.error.message, /temperature/);
  });
  test('an upstream error mid-stream ends the stream with an OpenAI error event, not silence', async () => {
    const res = await post(
      '/anthropic/v1/chat/completions',
      { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], stream: true },
      { 'x-mock-stream-error': 'overloaded_error' },
    );
    assert.equal(res.status, 200);
    const events = parseSse(res.text);
    const last = events.at(-1).data;
    assert.ok(last.error, res.text);
    assert.ok(last.error.message.length > 0);
    assert.ok(!events.some((e) => e.data === '[DONE]'), 'no [DONE] after an error');
  });
  test('embeddings on an Anthropic backend: a clear 400', async () => {
    const res = await post('/anthropic/v1/embeddings', { model: 'claude-sonnet-4-5', input: 'x' });
    assertOpenAIError(res, 400);
    assert.match(res.json.error.message, /embeddings/);
  });
});

describe('embeddings are translated (floats, and base64 float32 when asked)', () => {
  const cases = {
    gemini: { model: 'text-embedding-004', path: '/v1beta/models/text-embedding-004:batchEmbedContents' },
    vertex: { model: 'text-embedding-005', path: '/v1/projects/my-project/locations/us-central1/publishers/google/models/text-embedding-005:predict' },
    bedrock: { model: 'amazon.titan-embed-text-v2:0', path: '/model/amazon.titan-embed-text-v2%3A0/invoke', single: true },
  };
  for (const [name, c] of Object.entries(cases)) {
    test(name, async () => {
      const input = c.single ? 'the quick brown fox' : ['the quick brown fox', 'jumps'];
      const floats = await post(`/${name}/v1/embeddings`, { model: c.model, input, encoding_format: 'float' });
      assert.equal(floats.status, 200, floats.text);
      assert.equal(floats.headers.get('x-mock-path'), c.path);
      assert.equal(floats.json.object, 'list');
      assert.equal(floats.json.data.length, c.single ? 1 : 2);
      const vector = floats.json.data[0].embedding;
      assert.ok(Array.isArray(vector) && vector.length > 0 && vector.every((v) => typeof v === 'number'));
      const b64 = await post(`/${name}/v1/embeddings`, { model: c.model, input, encoding_format: 'base64' });
      assert.equal(b64.status, 200, b64.text);
      const bytes = Buffer.from(b64.json.data[0].embedding, 'base64');
      const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
      assert.deepEqual(decoded, vector.map((v) => Math.fround(v)));
    });
  }
  test('bedrock cohere takes a list', async () => {
    const res = await post('/bedrock/v1/embeddings', { model: 'cohere.embed-english-v3', input: ['a', 'b', 'c'] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.data.length, 3);
  });
});

describe('Anthropic Messages clients', () => {
  const body = { model: 'any-model', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] };
  for (const name of ['openai', 'gemini', 'bedrock', 'vertex-claude']) {
    test(`/v1/messages on ${name}: an Anthropic message comes back`, async () => {
      const model = CHAT_MODELS[name];
      const res = await post(`/${name}/v1/messages`, { ...body, model }, { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.type, 'message');
      assert.equal(res.json.role, 'assistant');
      assert.equal(res.json.content[0].type, 'text');
      assert.ok(res.json.content[0].text.length > 0);
      assert.equal(res.json.stop_reason, 'end_turn');
      assert.ok(res.json.usage.input_tokens > 0, res.text);
    });
  }
  test('/v1/messages on anthropic is native: the body reaches the provider unchanged', async () => {
    const res = await post('/anthropic/v1/messages', { ...body, model: 'claude-sonnet-4-5' }, { 'anthropic-version': '2023-06-01' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-mock-path'), '/v1/messages');
    assert.equal(res.json.type, 'message');
  });
  test('streaming /v1/messages on openai: Anthropic named events in order', async () => {
    const res = await post('/openai/v1/messages', { ...body, model: 'gpt-4o', stream: true }, { 'x-api-key': 'sk-client' });
    assert.equal(res.status, 200, res.text);
    const names = parseSse(res.text).map((e) => e.event);
    assert.equal(names[0], 'message_start');
    assert.equal(names.at(-1), 'message_stop');
    assert.equal(names.at(-2), 'message_delta');
    assert.ok(names.includes('content_block_start') && names.includes('content_block_delta') && names.includes('content_block_stop'));
  });
  test('errors reach Anthropic clients in the Anthropic schema', async () => {
    const res = await post('/openai/v1/messages', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': 'k' });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.type, 'error');
    assert.match(res.json.error.message, /max_tokens/);
  });
  test('passthrough auth: x-api-key and Bearer both become the provider header', async () => {
    const a = await post('/anthropic-pt/v1/messages', { ...body, model: 'claude-sonnet-4-5' }, { authorization: '', 'x-api-key': 'sk-ant-client', 'anthropic-version': '2023-06-01' });
    assert.equal(a.status, 200, a.text);
    const b = await post('/anthropic-pt/v1/messages', { ...body, model: 'claude-sonnet-4-5' }, { authorization: 'Bearer sk-ant-client', 'anthropic-version': '2023-06-01' });
    assert.equal(b.status, 200, b.text);
    for (const res of [a, b]) {
      assert.equal(res.headers.get('x-mock-authorization') ?? '', '', 'no Authorization reaches Anthropic');
      assert.equal(res.headers.get('x-mock-api-key'), 'sk-ant-client');
    }
  });
});

describe('passthrough of other APIs', () => {
  test('an allowed path streams its body to the provider and back (3 MiB, chunked upload)', async () => {
    const size = 3 * 1024 * 1024;
    const payload = Buffer.alloc(size, 'a');
    for (let i = 0; i < size; i += 4096) payload[i] = 48 + ((i / 4096) % 10);
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent >= size) return controller.close();
        const piece = payload.subarray(sent, Math.min(size, sent + 65536));
        sent += piece.length;
        controller.enqueue(piece);
      },
    });
    const response = await fetch(`${gw.url}/openai-pt/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: 'Bearer sk-client' },
      body: stream,
      duplex: 'half',
    });
    assert.equal(response.status, 200);
    const echo = await response.json();
    assert.equal(echo.body_bytes, size);
    assert.equal(echo.body_sha256, createHash('sha256').update(payload).digest('hex'), 'the body arrives intact');
    assert.equal(response.headers.get('x-mock-authorization'), 'Bearer sk-client');
  });
  test('an API the Backend does not allow: 404 naming the API and the config field', async () => {
    const res = await post('/openai-pt/v1/images/generations', { prompt: 'a cat' });
    assertOpenAIError(res, 404);
    assert.match(res.json.error.message, /"images"/);
    assert.match(res.json.error.message, /spec\.ai\.passthrough\.apis/);
  });
  test('an allowed API family reaches the provider unchanged (multipart audio)', async () => {
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([Buffer.alloc(200_000, 1)], { type: 'audio/wav' }), 'a.wav');
    const response = await fetch(`${gw.url}/openai-pt/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer sk-client' }, body: form });
    assert.notEqual(response.status, 500);
    assert.equal(response.headers.get('x-mock-path'), '/v1/audio/transcriptions');
    await response.arrayBuffer();
  });
  test('an API family the configuration cannot name: the 404 suggests passthrough.paths, not apis', async () => {
    const res = await post('/openai-pt/v1/threads/t1/runs', {});
    assertOpenAIError(res, 404);
    assert.equal(res.json.error.code, 'api_not_enabled');
    assert.match(res.json.error.message, /spec\.ai\.passthrough\.paths: \["\/v1\/threads\/t1\/runs"\]/);
    assert.doesNotMatch(res.json.error.message, /apis: \[threads\]/);
  });
  test('a wrong method on a JSON API path: 405 with Allow', async () => {
    for (const [method, path, allow] of [
      ['GET', '/openai/v1/chat/completions', 'POST'],
      ['PUT', '/anthropic/v1/messages', 'POST'],
      ['GET', '/gemini/v1/embeddings', 'POST'],
      ['DELETE', '/openai/v1/responses', 'POST'],
      ['POST', '/gemini/v1/models', 'GET'],
    ]) {
      const response = await fetch(gw.url + path, { method, headers: { authorization: 'Bearer k' } });
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
      const body = await response.json();
      // Each client in its own error shape.
      if (path.includes('/messages')) assert.equal(body.type, 'error');
      else assert.equal(body.error.code, 'method_not_allowed');
    }
  });
  test("the AzureOpenAI client's own api-version replaces the configured one, once", async () => {
    const res = await post('/azure/openai/deployments/gpt-4o/chat/completions?api-version=2025-04-01-preview', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-mock-path'), '/openai/deployments/gpt-4o/chat/completions?api-version=2025-04-01-preview');
    const bad = await post('/azure/v1/chat/completions?api-version=a&api-version=b', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    assertOpenAIError(bad, 400);
    assert.equal(bad.json.error.param, 'api-version');
    assert.match(bad.json.error.message, /more than once/);
  });
  test('GET /v1/models on a backend without models passthrough is answered from the config', async () => {
    const response = await fetch(`${gw.url}/gemini/v1/models`, { headers: { authorization: 'Bearer k' } });
    assert.equal(response.status, 200);
    const list = await response.json();
    assert.equal(list.object, 'list');
    assert.ok(Array.isArray(list.data));
    assert.equal(response.headers.get('x-mock-path'), null, 'the provider was not asked');
  });
});
