// Tests of sluice-mock's provider wire formats other than OpenAI: Anthropic (and on Vertex),
// Gemini (AI Studio and Vertex), Azure OpenAI routing and AWS Bedrock (SigV4, event-stream).
// Run: SLUICE_BIN_DIR=build/bin/ node --test tests/integration/mock_providers.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { startMock } from '../lib/harness.mjs';

const ACCESS_KEY = 'AKIDMOCKEXAMPLE';
const SECRET_KEY = 'mock-secret-key';

let mock;
let base;
let host;

before(async () => {
  mock = await startMock();
  base = mock.url;
  host = `127.0.0.1:${mock.port}`;
});

after(async () => {
  await mock.stop();
});

async function post(path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, bytes, text, json };
}

// ---- Anthropic ----------------------------------------------------------------------------------

const ANT = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
const antBody = (extra = {}) => ({
  model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }], ...extra,
});
const weatherTool = {
  name: 'get_weather',
  description: 'Weather',
  input_schema: {
    type: 'object',
    properties: {
      city: { type: 'string' }, days: { type: 'integer' }, metric: { type: 'boolean' },
      opts: { type: 'object' }, tags: { type: 'array' }, ratio: { type: ['number', 'null'] }, note: { type: 'string' },
    },
    required: ['city', 'days', 'metric', 'opts', 'tags', 'ratio'],
  },
};
const weatherArgs = { city: 'mock', days: 1, metric: true, opts: {}, tags: [], ratio: 1 };

// Named SSE events: [{event, data}], asserting the framing.
function namedEvents(text) {
  assert.ok(text.endsWith('\n\n'), 'stream ends with a blank line');
  return text.slice(0, -2).split('\n\n').map((block) => {
    const lines = block.split('\n');
    assert.equal(lines.length, 2, `event block: ${block}`);
    assert.ok(lines[0].startsWith('event: '));
    assert.ok(lines[1].startsWith('data: '));
    const event = lines[0].slice(7);
    const data = JSON.parse(lines[1].slice(6));
    assert.equal(data.type, event, 'the event name matches data.type');
    return { event, data };
  });
}

function assertAnthropicError(res, status, type) {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(Object.keys(res.json), ['type', 'error']);
  assert.equal(res.json.type, 'error');
  assert.equal(res.json.error.type, type);
  assert.equal(typeof res.json.error.message, 'string');
}

test('anthropic: a message reply with text, usage and cache reads', async () => {
  const res = await post('/v1/messages', antBody({ system: 'be brief' }), { ...ANT, 'x-mock-cache-read': '7' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('x-mock-request-model'), 'claude-test');
  const body = res.json;
  assert.match(body.id, /^msg_/);
  assert.equal(body.type, 'message');
  assert.equal(body.role, 'assistant');
  assert.equal(body.model, 'claude-test');
  assert.deepEqual(body.content, [{ type: 'text', text: 'chunk0 chunk1 chunk2 chunk3' }]);
  assert.equal(body.stop_reason, 'end_turn');
  assert.equal(body.stop_sequence, null);
  assert.equal(body.usage.output_tokens, 4);
  assert.equal(body.usage.cache_read_input_tokens, 7);
  assert.ok(body.usage.input_tokens >= 1);
});

test('anthropic: Bearer auth works in place of x-api-key', async () => {
  const res = await post('/v1/messages', antBody(), { authorization: 'Bearer oauth', 'anthropic-version': '2023-06-01' });
  assert.equal(res.status, 200, res.text);
});

test('anthropic: a stream has named events in order', async () => {
  const res = await post('/v1/messages', antBody({ stream: true }), { ...ANT, 'x-mock-chunks': '3' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const events = namedEvents(res.text);
  assert.deepEqual(events.map((e) => e.event), [
    'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
    'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
  ]);
  assert.equal(events[0].data.message.stop_reason, null);
  assert.deepEqual(events[0].data.message.content, []);
  assert.deepEqual(events[1].data.content_block, { type: 'text', text: '' });
  const text = events.filter((e) => e.event === 'content_block_delta').map((e) => {
    assert.equal(e.data.delta.type, 'text_delta');
    return e.data.delta.text;
  }).join('');
  assert.equal(text, 'chunk0 chunk1 chunk2');
  assert.equal(events[7].data.delta.stop_reason, 'end_turn');
  assert.equal(events[7].data.usage.output_tokens, 3);
});

test('anthropic: tool calls when asked, forced or any; none disables them', async () => {
  const other = { name: 'other', input_schema: { type: 'object', properties: {} } };
  let res = await post('/v1/messages', antBody({ tools: [weatherTool, other], messages: [{ role: 'user', content: 'Use a tool please' }] }), ANT);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.stop_reason, 'tool_use');
  assert.equal(res.json.content.length, 1);
  const [block] = res.json.content;
  assert.equal(block.type, 'tool_use');
  assert.match(block.id, /^toolu_/);
  assert.equal(block.name, 'get_weather');
  assert.deepEqual(block.input, weatherArgs);

  res = await post('/v1/messages', antBody({ tools: [weatherTool, other], tool_choice: { type: 'tool', name: 'other' } }), ANT);
  assert.equal(res.json.content[0].name, 'other');
  assert.deepEqual(res.json.content[0].input, {});

  res = await post('/v1/messages', antBody({ tools: [weatherTool], tool_choice: { type: 'any' } }), ANT);
  assert.equal(res.json.content[0].type, 'tool_use');

  res = await post('/v1/messages', antBody({ tools: [weatherTool], tool_choice: { type: 'none' }, messages: [{ role: 'user', content: 'tool' }] }), ANT);
  assert.equal(res.json.stop_reason, 'end_turn');
  assert.equal(res.json.content[0].type, 'text');

  res = await post('/v1/messages', antBody({ tools: [weatherTool], messages: [{ role: 'user', content: 'toolbox' }] }), ANT);
  assert.equal(res.json.stop_reason, 'end_turn', '"toolbox" is not the word "tool"');
});

test('anthropic: a streamed tool call sends input_json_delta fragments', async () => {
  const res = await post('/v1/messages', antBody({ stream: true, tools: [weatherTool], tool_choice: { type: 'any' } }), ANT);
  const events = namedEvents(res.text);
  assert.equal(events[1].data.content_block.type, 'tool_use');
  assert.equal(events[1].data.content_block.name, 'get_weather');
  assert.deepEqual(events[1].data.content_block.input, {});
  const fragments = events.filter((e) => e.event === 'content_block_delta').map((e) => {
    assert.equal(e.data.delta.type, 'input_json_delta');
    return e.data.delta.partial_json;
  }).filter((f) => f !== '');
  assert.ok(fragments.length >= 2);
  assert.deepEqual(JSON.parse(fragments.join('')), weatherArgs);
  const delta = events.find((e) => e.event === 'message_delta');
  assert.equal(delta.data.delta.stop_reason, 'tool_use');
  assert.equal(events.at(-1).event, 'message_stop');
});

test('anthropic: a valid tool round trip is accepted', async () => {
  const res = await post('/v1/messages', antBody({
    tools: [weatherTool],
    system: [{ type: 'text', text: 'sys' }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'checking' }, { type: 'tool_use', id: 'toolu_01A-b_c', name: 'get_weather', input: { city: 'x' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A-b_c', content: 'sunny' }] },
    ],
  }), ANT);
  assert.equal(res.status, 200, res.text);
});

test('anthropic: auth and version headers are required', async () => {
  let res = await post('/v1/messages', antBody(), { 'anthropic-version': '2023-06-01' });
  assertAnthropicError(res, 401, 'authentication_error');
  res = await post('/v1/messages', antBody(), { 'x-api-key': 'k' });
  assertAnthropicError(res, 400, 'invalid_request_error');
  assert.match(res.json.error.message, /anthropic-version/);
});

test('anthropic: strict validation rejects what the real API rejects', async () => {
  const toolUse = (id = 'toolu_1') => ({ role: 'assistant', content: [{ type: 'tool_use', id, name: 'get_weather', input: {} }] });
  const toolResult = (id = 'toolu_1') => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'ok' }] });
  const cases = [
    [{ max_tokens: undefined }, /max_tokens: Field required/],
    [{ max_tokens: 0 }, /max_tokens/],
    [{ model: '' }, /model/],
    [{ messages: [] }, /messages/],
    [{ messages: [{ role: 'system', content: 'x' }] }, /role/],
    [{ messages: [{ role: 'assistant', content: 'x' }] }, /first message/],
    [{ messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }, /alternate/],
    [{ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, /non-empty/],
    [{ messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }, /does not match any of the expected tags/],
    [{ temperature: 1.5 }, /temperature/],
    [{ tools: [weatherTool], messages: [{ role: 'user', content: 'q' }, toolUse('bad id!'), toolResult('bad id!')] }, /pattern/],
    [{ tools: [weatherTool], messages: [{ role: 'user', content: 'q' }, toolUse(), { role: 'user', content: 'no result' }] }, /without `tool_result`/],
    [{ tools: [weatherTool], messages: [{ role: 'user', content: 'q' }, toolUse(), toolResult('toolu_2')] }, /without `tool_result`|unexpected `tool_use_id`/],
    [{ tools: [weatherTool], messages: [toolResult()] }, /unexpected `tool_use_id`/],
    [{ messages: [{ role: 'user', content: 'q' }, toolUse(), toolResult()] }, /must define tools/],
    [{ tools: [{ name: 'x' }] }, /input_schema/],
    [{ tools: [weatherTool], tool_choice: { type: 'required' } }, /tool_choice/],
    [{ tools: [weatherTool], tool_choice: { type: 'tool' } }, /tool_choice.name/],
    [{ system: [{ type: 'image' }] }, /system/],
    [{ system: 5 }, /system/],
    [{ stream_options: { include_usage: true } }, /stream_options: Extra inputs are not permitted/],
    [{ messages: [{ role: 'user', content: 'q', name: 'bob' }] }, /messages.0.name: Extra inputs are not permitted/],
  ];
  for (const [extra, pattern] of cases) {
    const body = antBody(extra);
    for (const key of Object.keys(extra)) if (extra[key] === undefined) delete body[key];
    const res = await post('/v1/messages', body, ANT);
    assertAnthropicError(res, 400, 'invalid_request_error');
    assert.match(res.json.error.message, pattern, JSON.stringify(extra));
  }
});

test('anthropic: injected errors have the Anthropic shape', async () => {
  let res = await post('/v1/messages', antBody(), { ...ANT, 'x-mock-status': '529' });
  assertAnthropicError(res, 529, 'overloaded_error');
  res = await post('/v1/messages', antBody(), { ...ANT, 'x-mock-status': '429' });
  assertAnthropicError(res, 429, 'rate_limit_error');
  assert.equal(res.headers.get('retry-after'), '1');
  res = await post('/v1/messages', antBody(), { ...ANT, 'x-mock-status': '500' });
  assertAnthropicError(res, 500, 'api_error');
});

test('anthropic: x-mock-stream-error sends an error event after the first delta', async () => {
  const res = await post('/v1/messages', antBody({ stream: true }), { ...ANT, 'x-mock-stream-error': 'overloaded_error' });
  assert.equal(res.status, 200);
  const events = namedEvents(res.text);
  assert.deepEqual(events.map((e) => e.event), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error']);
  assert.equal(events[4].data.error.type, 'overloaded_error');
  const bad = await post('/v1/messages', antBody(), { ...ANT, 'x-mock-stream-error': 'bad type!' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_mock_header');
});

// ---- Vertex Anthropic ---------------------------------------------------------------------------

const VERTEX_ANT = '/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-x@2025';

test('vertex anthropic: rawPredict and streamRawPredict', async () => {
  const body = { anthropic_version: 'vertex-2023-10-16', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
  let res = await post(`${VERTEX_ANT}:rawPredict`, body, { authorization: 'Bearer ya29.token' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.model, 'claude-x@2025');
  assert.equal(res.json.type, 'message');
  assert.equal(res.headers.get('x-mock-request-model'), 'claude-x@2025');

  res = await post(`${VERTEX_ANT}:streamRawPredict`, { ...body, stream: true }, { authorization: 'Bearer ya29.token' });
  assert.equal(res.status, 200);
  assert.equal(namedEvents(res.text).at(-1).event, 'message_stop');

  res = await post(`${VERTEX_ANT}:rawPredict`, { ...body, model: 'claude' }, { authorization: 'Bearer t' });
  assertAnthropicError(res, 400, 'invalid_request_error');
  assert.match(res.json.error.message, /model/);

  const { anthropic_version: _, ...noVersion } = body;
  res = await post(`${VERTEX_ANT}:rawPredict`, noVersion, { authorization: 'Bearer t' });
  assertAnthropicError(res, 400, 'invalid_request_error');
  assert.match(res.json.error.message, /anthropic_version/);

  res = await post(`${VERTEX_ANT}:rawPredict`, body, { 'x-api-key': 'k' });
  assert.equal(res.status, 401);
  assert.equal(res.json.error.status, 'UNAUTHENTICATED');
});

// ---- Gemini -------------------------------------------------------------------------------------

const GEM = { 'x-goog-api-key': 'AIza-test' };
const gemBody = (extra = {}) => ({ contents: [{ role: 'user', parts: [{ text: 'hello gemini' }] }], ...extra });
const gemTools = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: weatherTool.input_schema }] }];

function assertGoogleError(res, code, status) {
  assert.equal(res.status, code, res.text);
  assert.equal(res.json.error.code, code);
  assert.equal(res.json.error.status, status);
  assert.equal(typeof res.json.error.message, 'string');
}

test('gemini: generateContent replies with candidates, usage and thoughts', async () => {
  let res = await post('/v1beta/models/gemini-2.5-flash:generateContent', gemBody({ systemInstruction: { parts: [{ text: 'sys' }] }, generationConfig: { temperature: 0.5, maxOutputTokens: 100, stopSequences: ['x'] } }), GEM);
  assert.equal(res.status, 200, res.text);
  const [candidate] = res.json.candidates;
  assert.deepEqual(candidate.content, { parts: [{ text: 'chunk0 chunk1 chunk2 chunk3' }], role: 'model' });
  assert.equal(candidate.finishReason, 'STOP');
  const usage = res.json.usageMetadata;
  assert.equal(usage.candidatesTokenCount, 4);
  assert.equal(usage.totalTokenCount, usage.promptTokenCount + 4);
  assert.equal(res.json.modelVersion, 'gemini-2.5-flash');
  assert.equal(typeof res.json.responseId, 'string');
  assert.equal(res.headers.get('x-mock-request-model'), 'gemini-2.5-flash', 'the model of the path is echoed');

  res = await post('/v1beta/models/gemini-2.5-flash:generateContent', gemBody(), { ...GEM, 'x-mock-thoughts': '9' });
  const parts = res.json.candidates[0].content.parts;
  assert.equal(parts[0].thought, true);
  assert.equal(parts[1].text, 'chunk0 chunk1 chunk2 chunk3');
  assert.equal(res.json.usageMetadata.thoughtsTokenCount, 9);
  assert.equal(res.json.usageMetadata.totalTokenCount, res.json.usageMetadata.promptTokenCount + 4 + 9);
});

test('gemini: the key may come as ?key=; missing or invalid keys are rejected', async () => {
  let res = await post('/v1beta/models/g:generateContent?key=abc', gemBody());
  assert.equal(res.status, 200, res.text);
  res = await post('/v1beta/models/g:generateContent', gemBody());
  assertGoogleError(res, 403, 'PERMISSION_DENIED');
  res = await post('/v1beta/models/g:generateContent', gemBody(), { 'x-goog-api-key': 'invalid' });
  assertGoogleError(res, 400, 'INVALID_ARGUMENT');
  assert.equal(res.json.error.message, 'API key not valid. Please pass a valid API key.');
  assert.equal(res.json.error.details[0]['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
  assert.equal(res.json.error.details[0].reason, 'API_KEY_INVALID');
});

test('gemini: streamGenerateContent?alt=sse sends data events without [DONE]', async () => {
  const res = await post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody(), { ...GEM, 'x-mock-chunks': '3' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.ok(!res.text.includes('[DONE]'));
  const events = res.text.split(/\r?\n\r?\n/).filter((e) => e !== '');
  assert.equal(events.length, 3);
  const chunks = events.map((e) => { assert.ok(e.startsWith('data: ')); return JSON.parse(e.slice(6)); });
  assert.equal(chunks.map((c) => c.candidates[0].content.parts[0].text).join(''), 'chunk0 chunk1 chunk2');
  chunks.forEach((c, i) => {
    assert.equal(c.usageMetadata.candidatesTokenCount, i + 1, 'running totals');
    assert.equal(c.candidates[0].finishReason, i === 2 ? 'STOP' : undefined);
  });
});

test('gemini: streamGenerateContent without alt=sse is a JSON array', async () => {
  const res = await post('/v1beta/models/g:streamGenerateContent', gemBody(), GEM);
  assert.equal(res.status, 200);
  const chunks = JSON.parse(res.text);
  assert.equal(chunks.length, 4);
  assert.equal(chunks[3].candidates[0].finishReason, 'STOP');
});

test('gemini: function calls for mode ANY or a "tool" request, with finishReason STOP', async () => {
  let res = await post('/v1beta/models/g:generateContent', gemBody({ tools: gemTools, toolConfig: { functionCallingConfig: { mode: 'ANY' } } }), GEM);
  assert.equal(res.status, 200, res.text);
  let [part] = res.json.candidates[0].content.parts;
  assert.deepEqual(part.functionCall, { name: 'get_weather', args: weatherArgs });
  assert.equal(res.json.candidates[0].finishReason, 'STOP');

  const upper = [{ functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT', properties: { n: { type: 'INTEGER' } }, required: ['n'] } }] }];
  res = await post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody({ tools: upper, contents: [{ role: 'user', parts: [{ text: 'call the tool' }] }] }), GEM);
  const data = JSON.parse(res.text.split('\r\n\r\n')[0].slice(6));
  [part] = data.candidates[0].content.parts;
  assert.deepEqual(part.functionCall, { name: 'f', args: { n: 1 } });

  res = await post('/v1beta/models/g:generateContent', gemBody({ tools: gemTools }), GEM);
  assert.ok(res.json.candidates[0].content.parts[0].text);
});

test('gemini: a function call round trip is accepted', async () => {
  const res = await post('/v1beta/models/g:generateContent', {
    tools: gemTools,
    contents: [
      { role: 'user', parts: [{ text: 'weather?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: {} }, thoughtSignature: 'c2tpcA==' }, { functionCall: { name: 'get_weather', args: {} } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { r: 1 } } }, { functionResponse: { name: 'get_weather', response: { r: 2 } } }] },
    ],
  }, GEM);
  assert.equal(res.status, 200, res.text);
});

test('gemini: strict validation rejects what the real API rejects', async () => {
  const call = { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] };
  const cases = [
    [{ contents: [] }, /contents/],
    [{ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, /Please use a valid role: user, model\./],
    [{ contents: [{ role: 'user', parts: [] }] }, /parts must not be empty/],
    [{ contents: [{ role: 'user', parts: [{}] }] }, /oneof field 'data'/],
    [{ contents: [{ role: 'user', parts: [{ text: 'a', inlineData: { mimeType: 'image/png', data: 'AA==' } }] }] }, /oneof field 'data' is already set/],
    [{ contents: [{ role: 'user', parts: [{ text: 'q' }] }, call, { role: 'user', parts: [{ functionResponse: { name: '', response: {} } }] }] }, /Name cannot be empty/],
    [{ contents: [{ role: 'user', parts: [{ text: 'q' }] }, call, { role: 'user', parts: [{ text: 'no response' }] }] }, /number of function response parts/],
    [{ contents: [{ role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] }] }, /function response turn/],
    [{ generationConfig: { temperature: 'hot' } }, /generation_config.temperature/],
    [{ generationConfig: { max_tokens: 5 } }, /Unknown name "max_tokens"/],
    [{ messages: [] }, /Unknown name "messages"/],
    [{ systemInstruction: { role: 'system' } }, /system_instruction.parts/],
    [{ tools: [{ functionDeclarations: [{ name: '1bad name' }] }] }, /Invalid function name/],
    [{ toolConfig: { functionCallingConfig: { mode: 'REQUIRED' } } }, /mode/],
  ];
  for (const [extra, pattern] of cases) {
    const res = await post('/v1beta/models/g:generateContent', gemBody(extra), GEM);
    assertGoogleError(res, 400, 'INVALID_ARGUMENT');
    assert.match(res.json.error.message, pattern, JSON.stringify(extra));
  }
});

test('gemini: embeddings (batchEmbedContents, embedContent)', async () => {
  let res = await post('/v1beta/models/text-embedding-004:batchEmbedContents', {
    requests: [
      { model: 'models/text-embedding-004', content: { parts: [{ text: 'a' }] }, outputDimensionality: 5 },
      { model: 'models/text-embedding-004', content: { parts: [{ text: 'b' }] } },
    ],
  }, GEM);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.embeddings.length, 2);
  assert.equal(res.json.embeddings[0].values.length, 5);
  assert.equal(res.json.embeddings[1].values.length, 8);

  res = await post('/v1beta/models/text-embedding-004:batchEmbedContents', { requests: [{ model: 'models/other', content: { parts: [{ text: 'a' }] } }] }, GEM);
  assertGoogleError(res, 400, 'INVALID_ARGUMENT');

  res = await post('/v1beta/models/text-embedding-004:embedContent', { content: { parts: [{ text: 'a' }] } }, { ...GEM, 'x-mock-dims': '3' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.embedding.values.length, 3);
});

test('gemini: injected errors and mid-stream errors have the Google shape', async () => {
  let res = await post('/v1beta/models/g:generateContent', gemBody(), { ...GEM, 'x-mock-status': '429' });
  assertGoogleError(res, 429, 'RESOURCE_EXHAUSTED');
  res = await post('/v1beta/models/g:generateContent', gemBody(), { ...GEM, 'x-mock-status': '503' });
  assertGoogleError(res, 503, 'UNAVAILABLE');
  res = await post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody(), { ...GEM, 'x-mock-stream-error': 'UNAVAILABLE' });
  const events = res.text.split('\r\n\r\n').filter((e) => e !== '').map((e) => JSON.parse(e.slice(6)));
  assert.equal(events.length, 2);
  assert.deepEqual(events[1].error, { code: 503, message: 'Injected mid-stream error', status: 'UNAVAILABLE' });
});

// ---- Vertex Gemini ------------------------------------------------------------------------------

const VERTEX_GEM = '/v1/projects/proj/locations/us-central1/publishers/google/models';

test('vertex gemini: generateContent, stream and predict with Bearer auth', async () => {
  const auth = { authorization: 'Bearer ya29.token' };
  let res = await post(`${VERTEX_GEM}/gemini-2.5-pro:generateContent`, gemBody(), auth);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.modelVersion, 'gemini-2.5-pro');

  res = await post(`${VERTEX_GEM}/gemini-2.5-pro:streamGenerateContent?alt=sse`, gemBody(), auth);
  assert.equal(res.status, 200);
  assert.ok(res.text.startsWith('data: '));

  res = await post(`${VERTEX_GEM}/gemini-2.5-pro:generateContent`, gemBody(), GEM);
  assertGoogleError(res, 401, 'UNAUTHENTICATED');

  res = await post(`${VERTEX_GEM}/text-embedding-005:predict`, { instances: [{ content: 'abcdefgh' }, { content: 'b' }], parameters: { outputDimensionality: 4 } }, auth);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.predictions.length, 2);
  assert.equal(res.json.predictions[0].embeddings.values.length, 4);
  assert.equal(res.json.predictions[0].embeddings.statistics.token_count, 2);

  res = await post(`${VERTEX_GEM}/text-embedding-005:predict`, { instances: [] }, auth);
  assertGoogleError(res, 400, 'INVALID_ARGUMENT');
});

// ---- Azure OpenAI -------------------------------------------------------------------------------

test('azure: deployment paths need api-version and a key; the deployment is the model', async () => {
  const chat = { messages: [{ role: 'user', content: 'hi' }] };
  let res = await post('/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21', chat, { 'api-key': 'k' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.model, 'my-gpt');
  assert.equal(res.json.object, 'chat.completion');

  res = await post('/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21', { ...chat, stream: true }, { authorization: 'Bearer entra' });
  assert.ok(res.text.trimEnd().endsWith('data: [DONE]'));

  res = await post('/openai/deployments/my-emb/embeddings?api-version=2024-10-21', { input: 'x' }, { 'api-key': 'k' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.model, 'my-emb');

  res = await post('/openai/deployments/my-gpt/chat/completions', chat, { 'api-key': 'k' });
  assert.equal(res.status, 404);
  res = await post('/openai/deployments/my-gpt/chat/completions?api-version=bogus', chat, { 'api-key': 'k' });
  assert.equal(res.status, 400);
  res = await post('/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21', chat);
  assert.equal(res.status, 401);
  assert.equal(res.json.error.code, '401');
});

test('azure: the v1 paths need a key and a model, no api-version', async () => {
  const chat = { model: 'dep', messages: [{ role: 'user', content: 'hi' }] };
  let res = await post('/openai/v1/chat/completions', chat, { 'api-key': 'k' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.model, 'dep');
  res = await post('/openai/v1/chat/completions', chat);
  assert.equal(res.status, 401);
  res = await post('/openai/v1/embeddings', { model: 'e', input: ['a', 'b'] }, { 'api-key': 'k' });
  assert.equal(res.json.data.length, 2);
});

// ---- Bedrock ------------------------------------------------------------------------------------

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const uriEncode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// AWS SigV4 for Bedrock, written from the published algorithm (not from the C++ signer).
function sigv4({ method = 'POST', path, body, headers = {}, accessKeyId = ACCESS_KEY, secret = SECRET_KEY, region = 'us-east-1', sessionToken, date = new Date(), signContentSha = true, signHost = host }) {
  const amzDate = date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);
  const all = { ...headers, host: signHost, 'x-amz-date': amzDate };
  if (signContentSha) all['x-amz-content-sha256'] = payloadHash;
  if (sessionToken) all['x-amz-security-token'] = sessionToken;
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalUri = path.split('/').map(uriEncode).join('/');  // the wire segments encoded again
  const canonical = [method, canonicalUri, '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/bedrock/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 'bedrock'), 'aws4_request');
  const signature = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  const out = { ...headers, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  if (sessionToken) out['x-amz-security-token'] = sessionToken;
  out.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return out;
}

async function bedrock(path, bodyObject, { sign = {}, extra = {} } = {}) {
  const body = JSON.stringify(bodyObject);
  const headers = sigv4({ path, body, headers: { 'content-type': 'application/json' }, ...sign });
  return post(path, body, { ...headers, ...extra });
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = zlib.crc32 ?? ((buf) => {
  let c = 0xFFFFFFFF;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xFF] ^ (c >>> 8);
  return (c ^ 0xFFFFFFFF) >>> 0;
});

// Decodes application/vnd.amazon.eventstream frames, checking lengths and both CRCs.
function decodeEventStream(buf) {
  const messages = [];
  let off = 0;
  while (off < buf.length) {
    assert.ok(buf.length - off >= 16, 'a whole prelude');
    const total = buf.readUInt32BE(off);
    const headersLength = buf.readUInt32BE(off + 4);
    assert.equal(crc32(buf.subarray(off, off + 8)), buf.readUInt32BE(off + 8), 'prelude CRC');
    assert.ok(off + total <= buf.length, 'a whole message');
    assert.equal(crc32(buf.subarray(off, off + total - 4)), buf.readUInt32BE(off + total - 4), 'message CRC');
    const headers = {};
    let h = off + 12;
    while (h < off + 12 + headersLength) {
      const nameLength = buf[h];
      const name = buf.subarray(h + 1, h + 1 + nameLength).toString();
      h += 1 + nameLength;
      assert.equal(buf[h], 7, 'string header');
      const valueLength = buf.readUInt16BE(h + 1);
      headers[name] = buf.subarray(h + 3, h + 3 + valueLength).toString();
      h += 3 + valueLength;
    }
    const payload = buf.subarray(off + 12 + headersLength, off + total - 4).toString();
    messages.push({ headers, payload: JSON.parse(payload), size: total });
    off += total;
  }
  return messages;
}

const converseBody = (extra = {}) => ({ messages: [{ role: 'user', content: [{ text: 'hello bedrock' }] }], ...extra });
const bedrockTools = { tools: [{ toolSpec: { name: 'get_weather', description: 'w', inputSchema: { json: weatherTool.input_schema } } }] };

function assertBedrockError(res, status, type) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers.get('x-amzn-errortype').split(':')[0], type);
  assert.equal(typeof res.json.message, 'string');
}

test('bedrock: converse with a valid SigV4 signature (ARN model id, session token)', async () => {
  const arn = encodeURIComponent('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0');
  const path = `/model/${arn}/converse`;
  const res = await bedrock(path, converseBody({ system: [{ text: 'sys' }], inferenceConfig: { maxTokens: 100, temperature: 0.5 } }), { sign: { sessionToken: 'session-token' } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.output, { message: { role: 'assistant', content: [{ text: 'chunk0 chunk1 chunk2 chunk3' }] } });
  assert.equal(res.json.stopReason, 'end_turn');
  const { inputTokens, outputTokens, totalTokens } = res.json.usage;
  assert.equal(outputTokens, 4);
  assert.equal(totalTokens, inputTokens + outputTokens);
  assert.equal(typeof res.json.metrics.latencyMs, 'number');
  assert.equal(decodeURIComponent(res.headers.get('x-mock-request-model')), decodeURIComponent(arn));
});

test('bedrock: authentication failures', async () => {
  const path = '/model/amazon.nova-pro-v1%3A0/converse';
  let res = await bedrock(path, converseBody(), { sign: { secret: 'wrong-secret' } });
  assertBedrockError(res, 403, 'InvalidSignatureException');
  assert.match(res.json.message, /^The request signature we calculated does not match the signature you provided/);
  res = await bedrock(path, converseBody(), { sign: { accessKeyId: 'AKIDUNKNOWN' } });
  assertBedrockError(res, 403, 'UnrecognizedClientException');
  res = await post(path, converseBody());
  assertBedrockError(res, 403, 'MissingAuthenticationTokenException');
  // The signed body differs from the one sent.
  const headers = sigv4({ path, body: JSON.stringify(converseBody()), headers: { 'content-type': 'application/json' } });
  res = await post(path, converseBody({ system: [{ text: 'tampered' }] }), headers);
  assertBedrockError(res, 403, 'InvalidSignatureException');
  // Only host, x-amz-date and content-type signed (no x-amz-content-sha256): still valid.
  res = await bedrock(path, converseBody(), { sign: { signContentSha: false } });
  assert.equal(res.status, 200, res.text);
  // A signature from another day's scope than x-amz-date.
  const stale = sigv4({ path, body: JSON.stringify(converseBody()), headers: { 'content-type': 'application/json' } });
  res = await post(path, converseBody(), { ...stale, 'x-amz-date': '20200101T000000Z' });
  assertBedrockError(res, 403, 'InvalidSignatureException');
  // A Bedrock API key.
  res = await post(path, converseBody(), { authorization: 'Bearer bedrock-api-key' });
  assert.equal(res.status, 200, res.text);
});

test('bedrock: a second mock verifies with its own keys', async () => {
  const other = await startMock(['--aws-access-key-id', 'AKIDOTHER', '--aws-secret-access-key', 'other-secret']);
  try {
    const path = '/model/m/converse';
    const body = JSON.stringify(converseBody());
    // The host differs: sign for the other port.
    const otherHost = `127.0.0.1:${other.port}`;
    const resign = (secret) => sigv4({ path, body, accessKeyId: 'AKIDOTHER', secret, signHost: otherHost, headers: { 'content-type': 'application/json' } });
    let res = await fetch(`${other.url}${path}`, { method: 'POST', headers: resign('other-secret'), body });
    assert.equal(res.status, 200, await res.text());
    res = await fetch(`${other.url}${path}`, { method: 'POST', headers: resign(SECRET_KEY), body });
    assert.equal(res.status, 403);
  } finally {
    await other.stop();
  }
});

test('bedrock: converse-stream sends CRC-checked event-stream frames', async () => {
  const res = await bedrock('/model/m/converse-stream', converseBody(), { extra: { 'x-mock-chunks': '3' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'application/vnd.amazon.eventstream');
  const frames = decodeEventStream(res.bytes);
  assert.deepEqual(frames.map((f) => f.headers[':event-type']), [
    'messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata',
  ]);
  for (const f of frames) {
    assert.equal(f.headers[':message-type'], 'event');
    assert.equal(f.headers[':content-type'], 'application/json');
  }
  assert.deepEqual(frames[0].payload, { role: 'assistant' });
  assert.equal(frames.slice(1, 4).map((f) => f.payload.delta.text).join(''), 'chunk0 chunk1 chunk2');
  assert.equal(frames[5].payload.stopReason, 'end_turn');
  assert.equal(frames[6].payload.usage.outputTokens, 3);
  assert.equal(typeof frames[6].payload.metrics.latencyMs, 'number');
});

test('bedrock: each frame is written as one HTTP chunk', async () => {
  const path = '/model/m/converse-stream';
  const body = JSON.stringify(converseBody());
  const headers = sigv4({ path, body, headers: { 'content-type': 'application/json' } });
  const raw = await new Promise((resolve, reject) => {
    const socket = net.connect(mock.port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
    const lines = [`POST ${path} HTTP/1.1`, `host: ${host}`, 'connection: close', `content-length: ${Buffer.byteLength(body)}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
  const headEnd = raw.indexOf('\r\n\r\n');
  assert.match(raw.subarray(0, headEnd).toString(), /transfer-encoding: chunked/);
  let off = headEnd + 4;
  const sizes = [];
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', off);
    const size = parseInt(raw.subarray(off, lineEnd).toString(), 16);
    if (size === 0) break;
    const chunk = raw.subarray(lineEnd + 2, lineEnd + 2 + size);
    const frames = decodeEventStream(chunk);
    assert.equal(frames.length, 1, 'one frame per chunk');
    sizes.push(size);
    off = lineEnd + 2 + size + 2;
  }
  assert.equal(sizes.length, 8);  // messageStart, 4 deltas, contentBlockStop, messageStop, metadata
});

test('bedrock: tool use, plain and streamed in fragments', async () => {
  let res = await bedrock('/model/m/converse', converseBody({ toolConfig: { ...bedrockTools, toolChoice: { any: {} } } }));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.stopReason, 'tool_use');
  const [block] = res.json.output.message.content;
  assert.match(block.toolUse.toolUseId, /^[a-zA-Z0-9_-]+$/);
  assert.equal(block.toolUse.name, 'get_weather');
  assert.deepEqual(block.toolUse.input, weatherArgs);

  res = await bedrock('/model/m/converse-stream', converseBody({ toolConfig: bedrockTools, messages: [{ role: 'user', content: [{ text: 'use the tool' }] }] }));
  const frames = decodeEventStream(res.bytes);
  const types = frames.map((f) => f.headers[':event-type']);
  assert.equal(types[1], 'contentBlockStart');
  assert.equal(frames[1].payload.start.toolUse.name, 'get_weather');
  const deltas = frames.filter((f) => f.headers[':event-type'] === 'contentBlockDelta').map((f) => f.payload.delta.toolUse.input);
  assert.ok(deltas.length >= 2);
  assert.deepEqual(JSON.parse(deltas.join('')), weatherArgs);
  assert.equal(frames.find((f) => f.headers[':event-type'] === 'messageStop').payload.stopReason, 'tool_use');
});

test('bedrock: a tool round trip is accepted', async () => {
  const res = await bedrock('/model/m/converse', {
    toolConfig: bedrockTools,
    messages: [
      { role: 'user', content: [{ text: 'weather?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: {} } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ json: { t: 1 } }], status: 'success' } }] },
    ],
  });
  assert.equal(res.status, 200, res.text);
});

test('bedrock: x-mock-stream-error sends an exception frame mid-stream', async () => {
  const res = await bedrock('/model/m/converse-stream', converseBody(), { extra: { 'x-mock-stream-error': 'throttlingException' } });
  const frames = decodeEventStream(res.bytes);
  assert.deepEqual(frames.map((f) => f.headers[':event-type'] ?? f.headers[':exception-type']), ['messageStart', 'contentBlockDelta', 'throttlingException']);
  assert.equal(frames[2].headers[':message-type'], 'exception');
  assert.equal(typeof frames[2].payload.message, 'string');
});

test('bedrock: strict converse validation', async () => {
  const use = { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } }] };
  const result = (id) => ({ role: 'user', content: [{ toolResult: { toolUseId: id, content: [{ text: 'r' }] } }] });
  const q = { role: 'user', content: [{ text: 'q' }] };
  const cases = [
    [{ messages: [] }, /messages/],
    [{ messages: [{ role: 'assistant', content: [{ text: 'x' }] }] }, /must start with a user message/],
    [{ messages: [q, q] }, /must alternate/],
    [{ messages: [{ role: 'system', content: [{ text: 'x' }] }] }, /enum value set: \[user, assistant\]/],
    [{ messages: [{ role: 'user', content: [{ text: '' }] }] }, /is blank/],
    [{ messages: [{ role: 'user', content: [{ type: 'text', text: 'openai shape' }] }] }, /exactly one member|Unknown content block/],
    [{ messages: [{ role: 'user', content: [{ image: { format: 'bmp', source: { bytes: 'AA==' } } }] }] }, /format/],
    [{ messages: [q, use, result('t1')] }, /toolConfig field must be defined/],
    [{ toolConfig: bedrockTools, messages: [q, use, result('t2')] }, /Expected toolResult blocks/],
    [{ toolConfig: bedrockTools, messages: [q, use, q] }, /Expected toolResult blocks/],
    [{ inferenceConfig: { temperature: 'warm' } }, /temperature/],
    [{ inferenceConfig: { topK: 5 } }, /topK/],
    [{ toolConfig: { tools: [{ toolSpec: { name: 'x', inputSchema: { type: 'object' } } }] } }, /inputSchema/],
    [{ model: 'm' }, /Unknown field 'model'/],
  ];
  for (const [extra, pattern] of cases) {
    const res = await bedrock('/model/m/converse', converseBody(extra));
    assertBedrockError(res, 400, 'ValidationException');
    assert.equal(res.headers.get('x-amzn-errortype'), 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/');
    assert.match(res.json.message, pattern, JSON.stringify(extra));
  }
});

test('bedrock: invoke embeddings for Titan and Cohere', async () => {
  let res = await bedrock('/model/amazon.titan-embed-text-v2%3A0/invoke', { inputText: 'hello world!', dimensions: 6 });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.embedding.length, 6);
  assert.equal(res.json.inputTextTokenCount, 3);
  res = await bedrock('/model/cohere.embed-english-v3/invoke', { texts: ['a', 'b'], input_type: 'search_document' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.embeddings.length, 2);
  assert.equal(res.json.embeddings[0].length, 8);
  res = await bedrock('/model/cohere.embed-english-v3/invoke', { texts: ['a'] });
  assertBedrockError(res, 400, 'ValidationException');
  res = await bedrock('/model/amazon.titan-embed-text-v2%3A0/invoke', { input: 'x' });
  assertBedrockError(res, 400, 'ValidationException');
});

test('bedrock: injected errors carry x-amzn-errortype', async () => {
  for (const [status, type] of [[429, 'ThrottlingException'], [500, 'InternalServerException'], [503, 'ServiceUnavailableException']]) {
    const res = await bedrock('/model/m/converse', converseBody(), { extra: { 'x-mock-status': String(status) } });
    assertBedrockError(res, status, type);
  }
});

test('openai: x-mock-stream-error sends an error event after the first piece', async () => {
  const res = await post('/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: 'q' }] }, { 'x-mock-stream-error': 'server_error' });
  const events = res.text.split('\n\n').filter((e) => e !== '').map((e) => e.slice(6));
  assert.equal(events.length, 3);
  assert.equal(JSON.parse(events[1]).choices[0].delta.content, 'chunk0');
  assert.deepEqual(JSON.parse(events[2]), { error: { message: 'Injected mid-stream error', type: 'server_error', param: null, code: null } });
});

test('openai: tool calls, plain and streamed; tool history is checked', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: weatherTool.input_schema } }];
  const ask = [{ role: 'user', content: 'Use a tool please' }];
  let res = await post('/v1/chat/completions', { model: 'm', tools, messages: ask });
  assert.equal(res.status, 200, res.text);
  const [choice] = res.json.choices;
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  const [call] = choice.message.tool_calls;
  assert.match(call.id, /^call_mock[0-9]+$/);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), weatherArgs);

  res = await post('/v1/chat/completions', { model: 'm', tools, tool_choice: 'none', messages: ask });
  assert.equal(res.json.choices[0].finish_reason, 'stop');
  res = await post('/v1/chat/completions', { model: 'm', tools, tool_choice: 'required', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.json.choices[0].finish_reason, 'tool_calls');
  res = await post('/v1/chat/completions', { model: 'm', tool_choice: 'required', messages: ask });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.param, 'tool_choice');

  res = await post('/v1/chat/completions', { model: 'm', tools, stream: true, stream_options: { include_usage: true }, messages: ask });
  const chunks = res.text.split('\n\n').filter((e) => e !== '' && e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)));
  const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
  assert.equal(deltas[0].index, 0);
  assert.match(deltas[0].id, /^call_mock/);
  assert.equal(deltas[0].function.name, 'get_weather');
  assert.ok(deltas.length >= 3);
  assert.deepEqual(JSON.parse(deltas.map((d) => d.function.arguments).join('')), weatherArgs);
  assert.equal(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, 'tool_calls');
  assert.equal(chunks.at(-1).usage.completion_tokens, 8);

  const history = [...ask, { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] }];
  res = await post('/v1/chat/completions', { model: 'm', tools, messages: [...history, { role: 'tool', tool_call_id: 'call_1', content: 'sunny' }] });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.choices[0].finish_reason, 'stop', 'no tool word in the last user turn');
  res = await post('/v1/chat/completions', { model: 'm', tools, messages: [...history, { role: 'user', content: 'and?' }] });
  assert.equal(res.status, 400);
  assert.match(res.json.error.message, /did not have response messages: call_1/);
  res = await post('/v1/chat/completions', { model: 'm', tools, messages: [...ask, { role: 'tool', tool_call_id: 'call_9', content: 'x' }] });
  assert.equal(res.status, 400);
  assert.match(res.json.error.message, /must be a response to a preceeding message with 'tool_calls'/);
});

test('zero pieces: empty replies with zero output tokens', async () => {
  let res = await post('/v1/messages', antBody(), { ...ANT, 'x-mock-chunks': '0' });
  assert.deepEqual(res.json.content, []);
  assert.equal(res.json.usage.output_tokens, 0);
  res = await post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody(), { ...GEM, 'x-mock-chunks': '0' });
  const [chunk] = res.text.split('\r\n\r\n').filter((e) => e !== '').map((e) => JSON.parse(e.slice(6)));
  assert.equal(chunk.candidates[0].finishReason, 'STOP');
  assert.equal(chunk.usageMetadata.candidatesTokenCount, 0);
  res = await bedrock('/model/m/converse-stream', converseBody(), { extra: { 'x-mock-chunks': '0' } });
  assert.deepEqual(decodeEventStream(res.bytes).map((f) => f.headers[':event-type']), ['messageStart', 'messageStop', 'metadata']);
});

test('fault headers apply to every format: reset mid-stream, latency', async () => {
  await assert.rejects(async () => {
    const res = await fetch(`${base}/v1beta/models/g:streamGenerateContent?alt=sse`, {
      method: 'POST', headers: { ...GEM, 'x-mock-reset': 'mid-stream', 'x-mock-chunks': '8' }, body: JSON.stringify(gemBody()),
    });
    await res.arrayBuffer();
  });
  const started = performance.now();
  const res = await post('/v1/messages', antBody(), { ...ANT, 'x-mock-latency-ms': '150' });
  assert.equal(res.status, 200);
  assert.ok(performance.now() - started >= 140);
});

// Every value of a valid request replaced by values of other types: the mock answers 200 or a
// 4xx in the format's shape, and never crashes.
test('type-confused bodies get 200 or a 400, never a crash', async () => {
  const replacements = [null, 7, -1, 1.5, 'x', '', true, [], [null], {}, { a: 1 }];
  const mutations = (value) => {
    const out = [];
    const walk = (node, set) => {
      for (const r of replacements) out.push(set(structuredClone(r)));
      if (Array.isArray(node)) {
        node.forEach((child, i) => walk(child, (v) => set(node.map((c, j) => (j === i ? v : c)))));
      } else if (node && typeof node === 'object') {
        for (const key of Object.keys(node)) walk(node[key], (v) => set({ ...node, [key]: v }));
      }
    };
    walk(value, (v) => v);
    return out;
  };
  const targets = [
    ['/v1/messages', ANT, antBody({ tools: [weatherTool], tool_choice: { type: 'auto' }, system: [{ type: 'text', text: 's' }], messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'r' }] }] }] })],
    ['/v1beta/models/g:generateContent', GEM, gemBody({ tools: gemTools, toolConfig: { functionCallingConfig: { mode: 'AUTO' } }, systemInstruction: { parts: [{ text: 's' }] }, generationConfig: { temperature: 1, thinkingConfig: { thinkingBudget: 1024 } }, contents: [
      { role: 'user', parts: [{ text: 'q' }] },
      { role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'skip_thought_signature_validator' }] },
      { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] }] })],
    ['/v1beta/models/e:batchEmbedContents', GEM, { requests: [{ model: 'models/e', content: { parts: [{ text: 'a' }] }, outputDimensionality: 2 }] }],
    [`${VERTEX_GEM}/e:predict`, { authorization: 'Bearer t' }, { instances: [{ content: 'a' }], parameters: { outputDimensionality: 2 } }],
    ['/model/m/converse', { authorization: 'Bearer k' }, converseBody({ toolConfig: { ...bedrockTools, toolChoice: { auto: {} } }, inferenceConfig: { maxTokens: 5 }, system: [{ text: 's' }], messages: [
      { role: 'user', content: [{ text: 'q' }, { image: { format: 'png', source: { bytes: 'AA==' } } }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: {} } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'r' }], status: 'success' } }] }] })],
    ['/model/amazon.titan-embed-text-v2/invoke', { authorization: 'Bearer k' }, { inputText: 'a', dimensions: 3 }],
    ['/model/cohere.embed-v3/invoke', { authorization: 'Bearer k' }, { texts: ['a'], input_type: 'search_query' }],
    ['/openai/deployments/d/chat/completions?api-version=2024-10-21', { 'api-key': 'k' }, { messages: [{ role: 'user', content: 'q' }] }],
  ];
  for (const [path, headers, body] of targets) {
    const first = await post(path, body, headers);
    assert.equal(first.status, 200, `${path}: ${first.text}`);
    for (const mutated of mutations(body)) {
      const res = await post(path, mutated, headers);
      assert.ok(res.status === 200 || res.status === 400, `${path} ${JSON.stringify(mutated)}: ${res.status} ${res.text}`);
      assert.ok(res.json !== undefined || res.headers.get('content-type') !== 'application/json', 'a JSON body');
    }
  }
});
