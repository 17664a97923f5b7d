// Tests of sluice-mock's scripted replies: x-mock-reply (the reply text), x-mock-split (how it is
// cut into stream events) and x-mock-tool-args (the tool-call arguments), in every provider format.
// Run: SLUICE_BIN_DIR=build/bin/ node --test tests/integration/mock_reply.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startMock } from '../lib/harness.mjs';

let mock;

before(async () => {
  mock = await startMock();
});

after(async () => {
  await mock.stop();
});

async function post(path, body, headers = {}) {
  const res = await fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, bytes, text, json };
}

// `text` cut at byte offsets, the oracle for the offsets form of x-mock-split.
function sliceAt(text, offsets) {
  const bytes = Buffer.from(text);
  const bounds = [0, ...offsets, bytes.length];
  return bounds.slice(0, -1).map((begin, i) => bytes.subarray(begin, bounds[i + 1]).toString());
}

// ---- stream decoders: the text pieces of each format's text delta events ------------------------

function sseData(text, separator) {
  return text.split(separator).filter((e) => e !== '').map((e) => {
    assert.ok(e.startsWith('data: '), e);
    return e.slice(6);
  });
}

function openaiPieces(text) {
  const events = sseData(text, '\n\n');
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  return chunks.slice(1, -1).map((c) => {
    assert.deepEqual(Object.keys(c.choices[0].delta), ['content']);
    return c.choices[0].delta.content;
  });
}

function anthropicEvents(text) {
  return text.slice(0, -2).split('\n\n').map((block) => {
    const [event, data] = block.split('\n');
    return { event: event.slice(7), data: JSON.parse(data.slice(6)) };
  });
}

function anthropicPieces(text) {
  const events = anthropicEvents(text);
  assert.deepEqual(events.map((e) => e.event).filter((e) => e !== 'content_block_delta'), [
    'message_start', 'content_block_start', 'ping', 'content_block_stop', 'message_delta', 'message_stop',
  ]);
  return events.filter((e) => e.event === 'content_block_delta').map((e) => {
    assert.equal(e.data.delta.type, 'text_delta');
    return e.data.delta.text;
  });
}

function geminiPieces(chunks) {
  chunks.forEach((c, i) => assert.equal(c.candidates[0].finishReason, i === chunks.length - 1 ? 'STOP' : undefined));
  return chunks.map((c) => {
    assert.equal(c.candidates[0].content.parts.length, 1);
    return c.candidates[0].content.parts[0].text;
  });
}

const geminiSsePieces = (text) => geminiPieces(sseData(text, '\r\n\r\n').map((e) => JSON.parse(e)));

function decodeEventStream(buf) {
  const frames = [];
  for (let off = 0; off < buf.length;) {
    const total = buf.readUInt32BE(off);
    const headersLength = buf.readUInt32BE(off + 4);
    const headers = {};
    for (let h = off + 12; h < off + 12 + headersLength;) {
      const name = buf.subarray(h + 1, h + 1 + buf[h]).toString();
      h += 1 + buf[h];
      const valueLength = buf.readUInt16BE(h + 1);
      headers[name] = buf.subarray(h + 3, h + 3 + valueLength).toString();
      h += 3 + valueLength;
    }
    frames.push({ type: headers[':event-type'], payload: JSON.parse(buf.subarray(off + 12 + headersLength, off + total - 4).toString()) });
    off += total;
  }
  return frames;
}

function bedrockPieces(bytes) {
  const frames = decodeEventStream(bytes);
  assert.deepEqual(frames.map((f) => f.type).filter((t) => t !== 'contentBlockDelta'), [
    'messageStart', 'contentBlockStop', 'messageStop', 'metadata',
  ]);
  return frames.filter((f) => f.type === 'contentBlockDelta').map((f) => f.payload.delta.text);
}

// ---- the formats --------------------------------------------------------------------------------

const ANT = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
const BEARER = { authorization: 'Bearer t' };
const userTurn = 'hello there';
const openaiBody = (extra = {}) => ({ model: 'm', messages: [{ role: 'user', content: userTurn }], ...extra });
const antBody = (extra = {}) => ({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: userTurn }], ...extra });
const vertexAntBody = (extra = {}) => {
  const { model, ...body } = antBody(extra);
  return { anthropic_version: 'vertex-2023-10-16', ...body };
};
const gemBody = (extra = {}) => ({ contents: [{ role: 'user', parts: [{ text: userTurn }] }], ...extra });
const converseBody = (extra = {}) => ({ messages: [{ role: 'user', content: [{ text: userTurn }] }], ...extra });
const VERTEX_ANT = '/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-x';
const VERTEX_GEM = '/v1/projects/p/locations/us-central1/publishers/google/models/gemini-x';
const AZURE = '/openai/deployments/d/chat/completions?api-version=2024-10-21';

// Each format: a streamed and a plain request, and how to read the text out of their replies.
const formats = [
  {
    name: 'openai',
    stream: (h) => post('/v1/chat/completions', openaiBody({ stream: true }), h),
    plain: (h) => post('/v1/chat/completions', openaiBody(), h),
    pieces: (res) => openaiPieces(res.text),
    text: (res) => res.json.choices[0].message.content,
  },
  {
    name: 'azure',
    stream: (h) => post(AZURE, openaiBody({ stream: true }), { 'api-key': 'k', ...h }),
    plain: (h) => post(AZURE, openaiBody(), { 'api-key': 'k', ...h }),
    pieces: (res) => openaiPieces(res.text),
    text: (res) => res.json.choices[0].message.content,
  },
  {
    name: 'anthropic',
    stream: (h) => post('/v1/messages', antBody({ stream: true }), { ...ANT, ...h }),
    plain: (h) => post('/v1/messages', antBody(), { ...ANT, ...h }),
    pieces: (res) => anthropicPieces(res.text),
    text: (res) => res.json.content[0].text,
  },
  {
    name: 'vertex anthropic',
    stream: (h) => post(`${VERTEX_ANT}:streamRawPredict`, vertexAntBody(), { ...BEARER, ...h }),
    plain: (h) => post(`${VERTEX_ANT}:rawPredict`, vertexAntBody(), { ...BEARER, ...h }),
    pieces: (res) => anthropicPieces(res.text),
    text: (res) => res.json.content[0].text,
  },
  {
    name: 'gemini (sse)',
    stream: (h) => post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody(), { 'x-goog-api-key': 'k', ...h }),
    plain: (h) => post('/v1beta/models/g:generateContent', gemBody(), { 'x-goog-api-key': 'k', ...h }),
    pieces: (res) => geminiSsePieces(res.text),
    text: (res) => res.json.candidates[0].content.parts[0].text,
  },
  {
    name: 'gemini (json array)',
    stream: (h) => post('/v1beta/models/g:streamGenerateContent', gemBody(), { 'x-goog-api-key': 'k', ...h }),
    plain: (h) => post('/v1beta/models/g:generateContent', gemBody(), { 'x-goog-api-key': 'k', ...h }),
    pieces: (res) => geminiPieces(res.json),
    text: (res) => res.json.candidates[0].content.parts[0].text,
  },
  {
    name: 'vertex gemini',
    stream: (h) => post(`${VERTEX_GEM}:streamGenerateContent?alt=sse`, gemBody(), { ...BEARER, ...h }),
    plain: (h) => post(`${VERTEX_GEM}:generateContent`, gemBody(), { ...BEARER, ...h }),
    pieces: (res) => geminiSsePieces(res.text),
    text: (res) => res.json.candidates[0].content.parts[0].text,
  },
  {
    name: 'bedrock',
    stream: (h) => post('/model/m/converse-stream', converseBody(), { ...BEARER, ...h }),
    plain: (h) => post('/model/m/converse', converseBody(), { ...BEARER, ...h }),
    pieces: (res) => bedrockPieces(res.bytes),
    text: (res) => res.json.output.message.content[0].text,
  },
];

// Card number, e-mail, JSON-special characters, a newline, non-ASCII and a 4-byte emoji.
const PII = 'Card 4111 1111 1111 1111, mail jane.doe@example.com; "quoted" \\ back\nslash — fin 😀';
const reply = (text) => ({ 'x-mock-reply': encodeURIComponent(text) });
// 'a' (1 byte), 'é' (2), '😀' (4), 'b' (1), '€' (3): 11 bytes, 5 code points.
const MIXED = 'aé😀b€';

for (const format of formats) {
  test(`${format.name}: x-mock-split offsets cut x-mock-reply into exactly those stream events`, async () => {
    const offsets = [9, 14, 33, 40];  // inside the card number and the e-mail
    const res = await format.stream({ ...reply(PII), 'x-mock-split': offsets.join(',') });
    assert.equal(res.status, 200, res.text);
    const pieces = format.pieces(res);
    assert.deepEqual(pieces, sliceAt(PII, offsets));
    assert.deepEqual(pieces.slice(0, 2), ['Card 4111', ' 1111']);
    assert.equal(pieces.join(''), PII);
  });

  test(`${format.name}: a piece size never cuts a code point`, async () => {
    let res = await format.stream({ ...reply(MIXED), 'x-mock-split': '2' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(format.pieces(res), ['aé', '😀', 'b€']);
    res = await format.stream({ ...reply(MIXED), 'x-mock-split': '1' });
    assert.deepEqual(format.pieces(res), ['a', 'é', '😀', 'b', '€']);
    res = await format.stream({ ...reply(MIXED), 'x-mock-split': '100' });
    assert.deepEqual(format.pieces(res), [MIXED]);
    res = await format.stream({ ...reply(PII), 'x-mock-split': '3' });
    const pieces = format.pieces(res);
    assert.equal(pieces.join(''), PII);
    for (const piece of pieces) assert.ok(!piece.includes('\uFFFD'), `a whole code point in ${JSON.stringify(piece)}`);
  });

  test(`${format.name}: without x-mock-split the reply is cut in x-mock-chunks even pieces`, async () => {
    let res = await format.stream(reply(MIXED));
    assert.deepEqual(format.pieces(res), ['a', 'é', '😀', 'b€'], 'the default 4 pieces');
    res = await format.stream({ ...reply(MIXED), 'x-mock-chunks': '3' });
    assert.deepEqual(format.pieces(res), ['a', 'é😀', 'b€']);
    res = await format.stream({ ...reply(MIXED), 'x-mock-chunks': '50' });
    assert.deepEqual(format.pieces(res), ['a', 'é', '😀', 'b', '€'], 'at most one piece per code point');
  });

  test(`${format.name}: a non-streamed reply carries the whole x-mock-reply`, async () => {
    const res = await format.plain({ ...reply(PII), 'x-mock-split': '3,7' });
    assert.equal(res.status, 200, res.text);
    assert.equal(format.text(res), PII);
  });

  test(`${format.name}: invalid x-mock-split, x-mock-reply or x-mock-tool-args get a 400`, async () => {
    const invalid = [
      { ...reply(MIXED), 'x-mock-split': '0' },
      { ...reply(MIXED), 'x-mock-split': '-2' },
      { ...reply(MIXED), 'x-mock-split': 'two' },
      { ...reply(MIXED), 'x-mock-split': '3,3' },
      { ...reply(MIXED), 'x-mock-split': '7,3' },
      { ...reply(MIXED), 'x-mock-split': '3,' },
      { ...reply(MIXED), 'x-mock-split': '3,11' },  // the end of the text is not inside it
      { ...reply(MIXED), 'x-mock-split': '2,7' },  // byte 2 is inside 'é'
      { ...reply(MIXED), 'x-mock-split': '1,5' },  // byte 5 is inside '😀'
      { 'x-mock-split': '4' },  // nothing to split
      { 'x-mock-reply': '%E9t%E9' },  // Latin-1, not UTF-8
      { 'x-mock-reply': '100%' },
      { 'x-mock-reply': '%zz' },
      { 'x-mock-tool-args': encodeURIComponent('[1,2]') },
      { 'x-mock-tool-args': encodeURIComponent('{"a":') },
    ];
    for (const headers of invalid) {
      const res = await format.stream(headers);
      assert.equal(res.status, 400, `${JSON.stringify(headers)}: ${res.text}`);
      assert.equal(res.json.error.code, 'invalid_mock_header');
      assert.match(res.json.error.message, /^Invalid x-mock-(split|reply|tool-args) header/);
    }
  });
}

test('openai: usage counts the scripted text (code points / 4), with and without streaming', async () => {
  const text = 'x'.repeat(41);
  let res = await post('/v1/chat/completions', openaiBody(), reply(text));
  assert.equal(res.json.usage.completion_tokens, 10);
  res = await post('/v1/chat/completions', openaiBody({ stream: true, stream_options: { include_usage: true } }),
    { ...reply(text), 'x-mock-split': '7' });
  const usage = JSON.parse(sseData(res.text, '\n\n').at(-2)).usage;
  assert.equal(usage.completion_tokens, 10);
});

test('anthropic, gemini and bedrock: usage counts the scripted text', async () => {
  const text = 'y'.repeat(20);
  let res = await post('/v1/messages', antBody(), { ...ANT, ...reply(text) });
  assert.equal(res.json.usage.output_tokens, 5);
  res = await post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody(), { 'x-goog-api-key': 'k', ...reply(text), 'x-mock-split': '8' });
  const chunks = sseData(res.text, '\r\n\r\n').map((e) => JSON.parse(e));
  assert.deepEqual(chunks.map((c) => c.usageMetadata.candidatesTokenCount), [2, 4, 5], 'running totals');
  res = await post('/model/m/converse', converseBody(), { ...BEARER, ...reply(text) });
  assert.equal(res.json.usage.outputTokens, 5);
});

test('an empty x-mock-reply streams no text pieces', async () => {
  const res = await post('/v1/chat/completions', openaiBody({ stream: true }), { 'x-mock-reply': '' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(openaiPieces(res.text), []);
});

// ---- tool calls ---------------------------------------------------------------------------------

const ARGS = '{"card": "4111 1111 1111 1111", "email": "a@b.example", "note": "é"}';
const ARG_CUTS = [12, 17, 40];
const toolArgs = { 'x-mock-tool-args': encodeURIComponent(ARGS), 'x-mock-split': ARG_CUTS.join(',') };
const schema = { type: 'object', properties: { card: { type: 'string' } }, required: ['card'] };

test('openai: x-mock-tool-args replaces the arguments, streamed in x-mock-split pieces', async () => {
  const body = { tools: [{ type: 'function', function: { name: 'pay', parameters: schema } }], tool_choice: 'required' };
  let res = await post('/v1/chat/completions', openaiBody(body), toolArgs);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.choices[0].message.tool_calls[0].function.arguments, ARGS, 'the exact text');

  res = await post('/v1/chat/completions', openaiBody({ ...body, stream: true }), toolArgs);
  const chunks = sseData(res.text, '\n\n').slice(0, -1).map((e) => JSON.parse(e));
  assert.equal(chunks[0].choices[0].delta.tool_calls[0].function.arguments, '');
  const fragments = chunks.slice(1, -1).map((c) => c.choices[0].delta.tool_calls[0].function.arguments);
  assert.deepEqual(fragments, sliceAt(ARGS, ARG_CUTS));
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');

  res = await post('/v1/chat/completions', openaiBody({ ...body, stream: true }), { 'x-mock-tool-args': encodeURIComponent('{"n":"😀"}') });
  const even = sseData(res.text, '\n\n').slice(1, -2).map((e) => JSON.parse(e).choices[0].delta.tool_calls[0].function.arguments);
  assert.deepEqual(even, ['{"n', '":"', '😀"}'], 'without x-mock-split: 3 pieces on code point boundaries');
});

test('anthropic: x-mock-tool-args replaces the input, streamed as input_json_delta pieces', async () => {
  const body = { tools: [{ name: 'pay', input_schema: schema }], tool_choice: { type: 'any' } };
  let res = await post('/v1/messages', antBody(body), { ...ANT, ...toolArgs });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.content[0].input, JSON.parse(ARGS));

  res = await post('/v1/messages', antBody({ ...body, stream: true }), { ...ANT, ...toolArgs });
  const fragments = anthropicEvents(res.text).filter((e) => e.event === 'content_block_delta').map((e) => {
    assert.equal(e.data.delta.type, 'input_json_delta');
    return e.data.delta.partial_json;
  });
  assert.deepEqual(fragments, ['', ...sliceAt(ARGS, ARG_CUTS)]);
});

test('bedrock: x-mock-tool-args replaces the input, streamed as toolUse input deltas', async () => {
  const toolConfig = { tools: [{ toolSpec: { name: 'pay', inputSchema: { json: schema } } }], toolChoice: { any: {} } };
  let res = await post('/model/m/converse', converseBody({ toolConfig }), { ...BEARER, ...toolArgs });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.output.message.content[0].toolUse.input, JSON.parse(ARGS));

  res = await post('/model/m/converse-stream', converseBody({ toolConfig }), { ...BEARER, ...toolArgs });
  const frames = decodeEventStream(res.bytes);
  const fragments = frames.filter((f) => f.type === 'contentBlockDelta').map((f) => f.payload.delta.toolUse.input);
  assert.deepEqual(fragments, sliceAt(ARGS, ARG_CUTS));
});

test('gemini: x-mock-tool-args replaces the functionCall args (one piece, also streamed)', async () => {
  const body = {
    tools: [{ functionDeclarations: [{ name: 'pay', parametersJsonSchema: schema }] }],
    toolConfig: { functionCallingConfig: { mode: 'ANY' } },
  };
  let res = await post('/v1beta/models/g:generateContent', gemBody(body), { 'x-goog-api-key': 'k', ...toolArgs });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.candidates[0].content.parts[0].functionCall.args, JSON.parse(ARGS));

  res = await post('/v1beta/models/g:streamGenerateContent?alt=sse', gemBody(body), { 'x-goog-api-key': 'k', ...toolArgs });
  const chunks = sseData(res.text, '\r\n\r\n').map((e) => JSON.parse(e));
  assert.equal(chunks.length, 1);
  assert.deepEqual(chunks[0].candidates[0].content.parts[0].functionCall.args, JSON.parse(ARGS));
});

test('x-mock-split offsets must fit every scripted text given', async () => {
  const headers = { ...reply('short'), 'x-mock-tool-args': encodeURIComponent(ARGS), 'x-mock-split': '12' };
  let res = await post('/v1/chat/completions', openaiBody(), headers);
  assert.equal(res.status, 200, 'a piece size fits any text');
  res = await post('/v1/chat/completions', openaiBody(), { ...headers, 'x-mock-split': '3,12' });
  assert.equal(res.status, 400, res.text);
  assert.match(res.json.error.message, /inside x-mock-reply/);
});
