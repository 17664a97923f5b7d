// Tests of sluice-mock's structured output, reasoning and token counting in every format that has
// them: OpenAI chat (response_format, reasoning_effort), the Responses API (text.format,
// reasoning), Anthropic (output_config / output_format, thinking with signatures, count_tokens),
// Gemini (responseMimeType + responseSchema / responseJsonSchema, thinkingConfig, thought
// signatures, countTokens on AI Studio and Vertex) and Bedrock Converse (reasoningContent).
// Run: SLUICE_BIN_DIR=build/bin/ node --test tests/integration/mock_features.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startMock } from '../lib/harness.mjs';

let mock;
let base;

before(async () => {
  mock = await startMock();
  base = mock.url;
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

// A schema exercising every rule of the generator, and the document the mock answers for it.
const schema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    count: { type: 'integer' },
    ratio: { type: 'number' },
    ok: { type: 'boolean' },
    color: { type: 'string', enum: ['red', 'green'] },
    tags: { type: 'array', items: { type: 'string' } },
    address: { $ref: '#/$defs/address' },
    maybe: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
    nothing: { type: 'null' },
  },
  required: ['name', 'count', 'ratio', 'ok', 'color', 'tags', 'address', 'maybe', 'nothing'],
  additionalProperties: false,
  $defs: {
    address: {
      type: 'object',
      properties: { city: { type: 'string' }, zip: { type: ['string', 'null'] } },
      required: ['city', 'zip'],
      additionalProperties: false,
    },
  },
};
const document = {
  name: 'mock', count: 1, ratio: 1, ok: true, color: 'red', tags: ['mock'],
  address: { city: 'mock', zip: 'mock' }, maybe: 1, nothing: null,
};
// Gemini's OpenAPI subset (upper-case types, no $ref).
const openApiSchema = {
  type: 'OBJECT',
  properties: {
    title: { type: 'STRING' },
    year: { type: 'INTEGER' },
    genres: { type: 'ARRAY', items: { type: 'STRING', enum: ['drama', 'comedy'] } },
    rating: { type: 'NUMBER', nullable: true },
  },
  required: ['title'],
  propertyOrdering: ['title', 'year', 'genres', 'rating'],
};
const openApiDocument = { title: 'mock', year: 1, genres: ['drama'], rating: 1 };

// SSE `data:` lines (OpenAI chat, Gemini), without [DONE].
function dataEvents(text) {
  return text.split(/\r?\n\r?\n/).filter((block) => block.startsWith('data: ') && block !== 'data: [DONE]')
    .map((block) => JSON.parse(block.slice(6)));
}

// Named SSE events (Anthropic, Responses): [{event, data}].
function namedEvents(text) {
  return text.trim().split('\n\n').map((block) => {
    const [eventLine, dataLine] = block.split('\n');
    return { event: eventLine.slice(7), data: JSON.parse(dataLine.slice(6)) };
  });
}

// ---- OpenAI chat ------------------------------------------------------------------------------

const chatBody = (extra = {}) => ({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hello' }], ...extra });
const jsonSchemaFormat = { type: 'json_schema', json_schema: { name: 'doc', schema, strict: true } };

test('openai chat: response_format json_schema answers a document valid against the schema', async () => {
  let res = await post('/v1/chat/completions', chatBody({ response_format: jsonSchemaFormat }));
  assert.equal(res.status, 200, res.text);
  const content = res.json.choices[0].message.content;
  assert.deepEqual(JSON.parse(content), document);
  assert.equal(res.json.choices[0].finish_reason, 'stop');
  assert.equal(res.json.usage.completion_tokens, Math.floor([...content].length / 4));

  res = await post('/v1/chat/completions', chatBody({ response_format: jsonSchemaFormat, stream: true }), { 'x-mock-chunks': '5' });
  assert.equal(res.status, 200, res.text);
  const pieces = dataEvents(res.text).map((e) => e.choices[0]?.delta?.content).filter((c) => c);
  assert.equal(pieces.length, 5, 'cut into x-mock-chunks pieces');
  assert.deepEqual(JSON.parse(pieces.join('')), document);
});

test('openai chat: json_object answers {"answer":"mock"} and needs the word json in the messages', async () => {
  let res = await post('/v1/chat/completions', chatBody({
    response_format: { type: 'json_object' }, messages: [{ role: 'user', content: [{ type: 'text', text: 'Reply in JSON' }] }],
  }));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.json.choices[0].message.content), { answer: 'mock' });

  res = await post('/v1/chat/completions', chatBody({ response_format: { type: 'json_object' } }));
  assert.equal(res.status, 400);
  assert.equal(res.json.error.param, 'messages');
  assert.match(res.json.error.message, /must contain the word 'json'/);

  res = await post('/v1/chat/completions', chatBody({ response_format: { type: 'text' } }));
  assert.equal(res.json.choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3');
});

test('openai chat: x-mock-reply overrides the structured reply', async () => {
  const res = await post('/v1/chat/completions', chatBody({ response_format: jsonSchemaFormat }), { 'x-mock-reply': 'not%20json' });
  assert.equal(res.json.choices[0].message.content, 'not json');
});

test('openai chat: response_format is validated like OpenAI does', async () => {
  const cases = [
    [{ type: 'json_schema', json_schema: { name: 'doc' } }, 'response_format.json_schema.schema', /Missing required parameter/],
    [{ type: 'json_schema', json_schema: { name: 'doc', schema: 'x' } }, 'response_format.json_schema.schema', /expected an object/],
    [{ type: 'json_schema', json_schema: { schema } }, 'response_format.json_schema.name', /Missing required parameter/],
    [{ type: 'json_schema', json_schema: { name: 'a b', schema } }, 'response_format.json_schema.name', /pattern/],
    [{ type: 'json_schema' }, 'response_format.json_schema', /Missing required parameter/],
    [{ type: 'json_schema', json_schema: { name: 'doc', schema, strict: 'yes' } }, 'response_format.json_schema.strict', /boolean/],
    [{ type: 'xml' }, 'response_format.type', /Supported values are: 'text', 'json_object', and 'json_schema'/],
    ['json', 'response_format', /expected an object/],
    [{ type: 'json_schema', json_schema: { name: 'doc', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } },
      'response_format.json_schema.schema', /'additionalProperties' is required to be supplied and to be false/],
    [{ type: 'json_schema', json_schema: { name: 'doc', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } } },
      'response_format.json_schema.schema', /Missing 'a'/],
  ];
  for (const [format, param, message] of cases) {
    const res = await post('/v1/chat/completions', chatBody({ response_format: format }));
    assert.equal(res.status, 400, `${JSON.stringify(format)}: ${res.text}`);
    assert.equal(res.json.error.type, 'invalid_request_error');
    assert.equal(res.json.error.param, param, JSON.stringify(format));
    assert.match(res.json.error.message, message);
  }
  // Not strict: a schema without additionalProperties is fine.
  const res = await post('/v1/chat/completions', chatBody({ response_format: { type: 'json_schema', json_schema: { name: 'doc', schema: { type: 'object', properties: { a: { type: 'string' } } } } } }));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.json.choices[0].message.content), { a: 'mock' });
});

test('openai chat: reasoning_effort adds reasoning tokens to the usage; others are a 400', async () => {
  let res = await post('/v1/chat/completions', chatBody({ reasoning_effort: 'high' }));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.usage.completion_tokens_details, { reasoning_tokens: 64 });
  assert.equal(res.json.usage.completion_tokens, 4 + 64);
  assert.equal(res.json.usage.total_tokens, res.json.usage.prompt_tokens + 68);
  assert.equal(res.json.choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3', 'no reasoning text');

  res = await post('/v1/chat/completions', chatBody({ reasoning_effort: 'minimal', stream: true, stream_options: { include_usage: true } }));
  const usage = dataEvents(res.text).at(-1).usage;
  assert.deepEqual(usage.completion_tokens_details, { reasoning_tokens: 8 });
  assert.equal(usage.completion_tokens, 12);

  res = await post('/v1/chat/completions', chatBody());
  assert.equal(res.json.usage.completion_tokens_details, undefined);

  for (const effort of ['extreme', 3]) {
    res = await post('/v1/chat/completions', chatBody({ reasoning_effort: effort }));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.param, 'reasoning_effort');
  }
});

// ---- Responses API -----------------------------------------------------------------------------

const respBody = (extra = {}) => ({ model: 'mock-gpt', input: 'hello', ...extra });

test('responses: text.format json_schema answers a valid document, complete and streamed', async () => {
  const text = { format: { type: 'json_schema', name: 'doc', schema, strict: true } };
  let res = await post('/v1/responses', respBody({ text }));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.json.output[0].content[0].text), document);

  res = await post('/v1/responses', respBody({ text, stream: true }));
  const events = namedEvents(res.text);
  const deltas = events.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta);
  assert.equal(deltas.length, 4);
  assert.deepEqual(JSON.parse(deltas.join('')), document);
  assert.deepEqual(JSON.parse(events.at(-1).data.response.output[0].content[0].text), document);

  res = await post('/v1/responses', respBody({ text: { format: { type: 'json_object' } }, input: 'answer in json' }));
  assert.deepEqual(JSON.parse(res.json.output[0].content[0].text), { answer: 'mock' });
});

test('responses: text.format is validated (flat shape)', async () => {
  const cases = [
    [{ type: 'json_schema', name: 'doc' }, 'text.format.schema'],
    [{ type: 'json_schema', schema }, 'text.format.name'],
    [{ type: 'json_schema', name: 'doc', schema: [] }, 'text.format.schema'],
    [{ type: 'yaml' }, 'text.format.type'],
  ];
  for (const [format, param] of cases) {
    const res = await post('/v1/responses', respBody({ text: { format } }));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.param, param);
  }
  const res = await post('/v1/responses', respBody({ text: { format: { type: 'json_object' } } }));
  assert.equal(res.status, 400);
  assert.match(res.json.error.message, /must contain the word 'json'/);
});

test('responses: reasoning with a summary adds a reasoning item and its stream events', async () => {
  let res = await post('/v1/responses', respBody({ reasoning: { effort: 'low', summary: 'auto' } }));
  assert.equal(res.status, 200, res.text);
  const [reasoning, message] = res.json.output;
  assert.equal(reasoning.type, 'reasoning');
  assert.match(reasoning.id, /^rs_/);
  assert.equal(reasoning.summary.length, 1);
  assert.equal(reasoning.summary[0].type, 'summary_text');
  assert.ok(reasoning.summary[0].text.length > 0);
  assert.equal(message.type, 'message');
  assert.equal(res.json.usage.output_tokens_details.reasoning_tokens, 16);
  assert.equal(res.json.usage.output_tokens, 4 + 16);

  res = await post('/v1/responses', respBody({ reasoning: { effort: 'high' } }));
  assert.deepEqual(res.json.output[0].summary, [], 'no summary unless asked');
  assert.equal(res.json.usage.output_tokens_details.reasoning_tokens, 64);

  res = await post('/v1/responses', respBody({ reasoning: { summary: 'detailed' }, stream: true }));
  const events = namedEvents(res.text);
  const types = events.map((e) => e.event);
  assert.deepEqual(types.slice(0, 10), [
    'response.created', 'response.in_progress', 'response.output_item.added',
    'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.delta',
    'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
  ]);
  const summary = events.filter((e) => e.event === 'response.reasoning_summary_text.delta').map((e) => e.data.delta).join('');
  assert.equal(events[7].data.text, summary);
  assert.equal(events[7].data.summary_index, 0);
  assert.equal(events[2].data.item.type, 'reasoning');
  const messageAdded = events[10];
  assert.equal(messageAdded.event, 'response.output_item.added');
  assert.equal(messageAdded.data.output_index, 1);
  assert.ok(events.every((e, i) => e.data.sequence_number === i));
  const completed = events.at(-1).data.response;
  assert.equal(completed.output[0].summary[0].text, summary);
  assert.equal(completed.usage.output_tokens_details.reasoning_tokens, 32);

  for (const reasoningSpec of [{ effort: 'huge' }, { summary: 'long' }]) {
    res = await post('/v1/responses', respBody({ reasoning: reasoningSpec }));
    assert.equal(res.status, 400, res.text);
    assert.match(res.json.error.param, /^reasoning\./);
  }
});

// A tool schema the generator must honour: enum, minimum, format, nested objects through $ref,
// an array with minItems, a const option beside null, and an optional property (left out: tool
// inputs carry the required properties, as models fill them).
const pointDef = {
  type: 'object',
  properties: { lat: { type: 'number' }, lon: { type: 'number' }, label: { type: ['string', 'null'] } },
  required: ['lat', 'lon'],
};
const toolSchema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 3 },
    when: { type: 'string', format: 'date' },
    location: { $ref: '#/$defs/point' },
    stops: { type: 'array', items: { $ref: '#/$defs/point' }, minItems: 2 },
    mode: { anyOf: [{ type: 'null' }, { const: 'fast' }] },
    note: { type: 'string' },
  },
  required: ['city', 'unit', 'days', 'when', 'location', 'stops', 'mode'],
  $defs: { point: pointDef },
};
const toolArgs = {
  city: 'mock', unit: 'celsius', days: 3, when: '2024-01-01',
  location: { lat: 1, lon: 1 }, stops: [{ lat: 1, lon: 1 }, { lat: 1, lon: 1 }], mode: 'fast',
};

// ---- Responses API: function calls -------------------------------------------------------------

const fnTools = [
  { type: 'web_search' },
  { type: 'function', name: 'get_weather', parameters: toolSchema, strict: false },
  { type: 'function', name: 'other', parameters: { type: 'object', properties: {} } },
];
const toolInput = [{ role: 'user', content: 'Use the tool to get the weather.' }];

test('responses: a function_call item when tools are given and the user asks for a tool', async () => {
  const first = await post('/v1/responses', respBody({ input: toolInput, tools: fnTools }));
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.status, 'completed');
  assert.equal(first.json.output.length, 1);
  const [call] = first.json.output;
  assert.equal(call.type, 'function_call');
  assert.match(call.id, /^fc_/);
  assert.match(call.call_id, /^call_mock\d+$/);
  assert.equal(call.name, 'get_weather', 'the first function tool (built-in tools are never called)');
  assert.equal(call.status, 'completed');
  assert.deepEqual(JSON.parse(call.arguments), toolArgs);
  assert.equal(first.json.usage.output_tokens, 8);

  // The tool result: a text reply, the same as chat's after a tool message.
  const second = await post('/v1/responses', respBody({
    tools: fnTools,
    input: [...toolInput, ...first.json.output, { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' }],
  }));
  assert.equal(second.status, 200, second.text);
  assert.equal(second.json.output[0].type, 'message');
  assert.equal(second.json.output[0].content[0].text, 'chunk0 chunk1 chunk2 chunk3');
  assert.ok(second.json.usage.input_tokens > first.json.usage.input_tokens, 'the call and its output count as input');

  // tool_choice: none answers text, required and a named function call without the word.
  let res = await post('/v1/responses', respBody({ input: toolInput, tools: fnTools, tool_choice: 'none' }));
  assert.equal(res.json.output[0].type, 'message');
  res = await post('/v1/responses', respBody({ tools: fnTools, tool_choice: 'required' }));
  assert.equal(res.json.output[0].name, 'get_weather');
  res = await post('/v1/responses', respBody({ tools: fnTools, tool_choice: { type: 'function', name: 'other' } }));
  assert.equal(res.json.output[0].name, 'other');
  assert.equal(res.json.output[0].arguments, '{}');
  res = await post('/v1/responses', respBody({ tools: fnTools }));
  assert.equal(res.json.output[0].type, 'message', '"auto" calls only when the user mentions a tool');
  res = await post('/v1/responses', respBody({ input: toolInput, tools: fnTools, tool_choice: { type: 'web_search' } }));
  assert.equal(res.json.output[0].type, 'message', 'a built-in tool choice calls no function');

  // With reasoning, the reasoning item comes first; x-mock-tool-args chooses the arguments.
  res = await post('/v1/responses', respBody({ input: toolInput, tools: fnTools, reasoning: { effort: 'low' } }), {
    'x-mock-tool-args': encodeURIComponent('{"city":"Paris"}'),
  });
  assert.deepEqual(res.json.output.map((item) => item.type), ['reasoning', 'function_call']);
  assert.equal(res.json.output[1].arguments, '{"city":"Paris"}');
});

test('responses: tools, tool_choice and function_call_output are validated', async () => {
  const cases = [
    [{ tools: {} }, 'tools'],
    [{ tools: [{ name: 'f' }] }, 'tools[0].type'],
    [{ tools: [{ type: 'function' }] }, 'tools[0].name'],
    [{ tools: [{ type: 'function', name: 'f', parameters: [] }] }, 'tools[0].parameters'],
    [{ tools: fnTools, tool_choice: 'always' }, 'tool_choice'],
    [{ tools: fnTools, tool_choice: { type: 'function', name: 'nope' } }, 'tool_choice'],
    [{ tools: fnTools, tool_choice: { type: 'function' } }, 'tool_choice.name'],
    [{ tools: fnTools, input: [...toolInput, { type: 'function_call_output', call_id: 'call_x', output: 'r' }] }, 'input'],
    [{ tools: fnTools, input: [...toolInput, { type: 'function_call_output', output: 'r' }] }, 'input[1].call_id'],
    [{ tools: fnTools, input: [{ type: 'function_call', call_id: 'c', name: 'f' }] }, 'input[0].arguments'],
  ];
  for (const [extra, param] of cases) {
    const res = await post('/v1/responses', respBody(extra));
    assert.equal(res.status, 400, `${JSON.stringify(extra)}: ${res.text}`);
    assert.equal(res.json.error.param, param);
  }
  const res = await post('/v1/responses', respBody({ tools: fnTools, input: [...toolInput, { type: 'function_call_output', call_id: 'call_x', output: 'r' }] }));
  assert.equal(res.json.error.message, 'No tool call found for function call output with call_id call_x.');
  const continued = await post('/v1/responses', respBody({
    tools: fnTools, previous_response_id: 'resp_1', input: [{ type: 'function_call_output', call_id: 'call_x', output: 'r' }],
  }));
  assert.equal(continued.status, 200, 'a continued conversation may answer calls the mock cannot see');
});

test('responses: a streamed function_call sends its arguments as function_call_arguments deltas', async () => {
  const res = await post('/v1/responses', respBody({ input: toolInput, tools: fnTools, stream: true }));
  assert.equal(res.status, 200, res.text);
  const events = namedEvents(res.text);
  assert.deepEqual(events.map((e) => e.event), [
    'response.created', 'response.in_progress', 'response.output_item.added',
    'response.function_call_arguments.delta', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
    'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
  ]);
  assert.ok(events.every((e, i) => e.data.type === e.event && e.data.sequence_number === i));
  const added = events[2].data;
  assert.equal(added.output_index, 0);
  assert.equal(added.item.type, 'function_call');
  assert.equal(added.item.status, 'in_progress');
  assert.equal(added.item.arguments, '');
  assert.equal(added.item.name, 'get_weather');
  const itemEvents = events.slice(3, 7).map((e) => e.data);
  assert.ok(itemEvents.every((e) => e.item_id === added.item.id && e.output_index === 0));
  const streamed = itemEvents.slice(0, 3).map((e) => e.delta).join('');
  assert.deepEqual(JSON.parse(streamed), toolArgs);
  assert.equal(events[6].data.arguments, streamed);
  assert.equal(events[6].data.name, 'get_weather');
  const done = events[7].data;
  assert.equal(done.output_index, 0);
  assert.deepEqual(done.item, { ...added.item, status: 'completed', arguments: streamed });
  const completed = events[8].data.response;
  assert.equal(completed.status, 'completed');
  assert.deepEqual(completed.output, [done.item]);
  assert.equal(completed.usage.output_tokens, 8);

  // x-mock-split cuts x-mock-tool-args into the chosen deltas.
  const split = await post('/v1/responses', respBody({ tools: fnTools, tool_choice: 'required', stream: true }), {
    'x-mock-tool-args': encodeURIComponent('{"city":"Paris"}'), 'x-mock-split': '5',
  });
  const deltas = namedEvents(split.text).filter((e) => e.event === 'response.function_call_arguments.delta').map((e) => e.data.delta);
  assert.deepEqual(deltas, ['{"cit', 'y":"P', 'aris"', '}']);
});

// ---- Anthropic ---------------------------------------------------------------------------------

const ANT = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
const antBody = (extra = {}) => ({ model: 'claude-test', max_tokens: 2048, messages: [{ role: 'user', content: 'hello there' }], ...extra });
const weatherTool = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

function assertAnthropic400(res, message) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.type, 'error');
  assert.equal(res.json.error.type, 'invalid_request_error');
  assert.match(res.json.error.message, message);
}

test('anthropic: output_config.format (and the older output_format) answer schema-valid JSON', async () => {
  for (const extra of [{ output_config: { format: { type: 'json_schema', schema } } }, { output_format: { type: 'json_schema', schema } }]) {
    let res = await post('/v1/messages', antBody(extra), ANT);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.content.length, 1);
    assert.equal(res.json.content[0].type, 'text');
    assert.deepEqual(JSON.parse(res.json.content[0].text), document);

    res = await post('/v1/messages', antBody({ ...extra, stream: true }), ANT);
    const text = namedEvents(res.text).filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join('');
    assert.deepEqual(JSON.parse(text), document);
  }
});

test('anthropic: structured output shapes are validated', async () => {
  const cases = [
    [{ output_config: { format: { type: 'json_schema' } } }, /output_config\.format\.schema: Field required/],
    [{ output_config: { format: { type: 'json_schema', schema: 'x' } } }, /output_config\.format\.schema: Input should be a valid dictionary/],
    [{ output_config: { format: { type: 'json' , schema } } }, /does not match any of the expected tags: 'json_schema'/],
    [{ output_config: { effort: 'extreme' } }, /output_config\.effort/],
    [{ output_format: { type: 'json_schema' } }, /output_format\.schema: Field required/],
    [{ output_config: { format: { type: 'json_schema', schema } }, output_format: { type: 'json_schema', schema } }, /output_format/],
  ];
  for (const [extra, message] of cases) assertAnthropic400(await post('/v1/messages', antBody(extra), ANT), message);
});

test('anthropic: thinking answers a signed thinking block first, complete and streamed', async () => {
  let res = await post('/v1/messages', antBody({ thinking: { type: 'enabled', budget_tokens: 1024 } }), ANT);
  assert.equal(res.status, 200, res.text);
  const [thinking, text] = res.json.content;
  assert.equal(thinking.type, 'thinking');
  assert.ok(thinking.thinking.length > 0);
  assert.match(thinking.signature, /^[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(text, { type: 'text', text: 'chunk0 chunk1 chunk2 chunk3' });
  assert.ok(res.json.usage.output_tokens > 4, 'thinking tokens count as output');

  res = await post('/v1/messages', antBody({ thinking: { type: 'adaptive' }, stream: true }), ANT);
  const events = namedEvents(res.text);
  assert.deepEqual(events.map((e) => e.event), [
    'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta',
    'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_delta',
    'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
  ]);
  assert.deepEqual(events[1].data, { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
  const thoughts = events.slice(3, 6).map((e) => { assert.equal(e.data.delta.type, 'thinking_delta'); return e.data.delta.thinking; });
  assert.equal(thoughts.join(''), thinking.thinking);
  assert.deepEqual(events[6].data.delta, { type: 'signature_delta', signature: thinking.signature });
  assert.equal(events[8].data.index, 1);
  assert.equal(events[8].data.content_block.type, 'text');
  assert.ok(events.slice(9, 13).every((e) => e.data.index === 1 && e.data.delta.type === 'text_delta'));
});

test('anthropic: a replayed thinking block must keep the signature the mock issued', async () => {
  const first = await post('/v1/messages', antBody({ thinking: { type: 'enabled', budget_tokens: 1024 } }), ANT);
  const block = first.json.content[0];
  const replay = (thinkingBlock) => antBody({
    thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [
      { role: 'user', content: 'hello there' },
      { role: 'assistant', content: [thinkingBlock, { type: 'text', text: 'an answer' }] },
      { role: 'user', content: 'and then?' },
    ],
  });
  assert.equal((await post('/v1/messages', replay(block), ANT)).status, 200);
  assertAnthropic400(await post('/v1/messages', replay({ ...block, signature: `${block.signature.slice(0, -4)}AAA=` }), ANT),
    /messages\.1\.content\.0: Invalid `signature` in `thinking` block/);
  assertAnthropic400(await post('/v1/messages', replay({ ...block, thinking: `${block.thinking} (edited)` }), ANT),
    /Invalid `signature` in `thinking` block/);
  assertAnthropic400(await post('/v1/messages', replay({ type: 'thinking', thinking: block.thinking }), ANT),
    /signature: Field required/);
});

test('anthropic: with thinking, the tool-use turn being answered must start with its thinking block', async () => {
  const first = await post('/v1/messages', antBody({
    thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [weatherTool], messages: [{ role: 'user', content: 'use the tool' }],
  }), ANT);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.json.content.map((b) => b.type), ['thinking', 'tool_use']);
  assert.equal(first.json.stop_reason, 'tool_use');
  const [thinking, toolUse] = first.json.content;
  const followUp = (assistantContent) => antBody({
    thinking: { type: 'enabled', budget_tokens: 1024 },
    tools: [weatherTool],
    messages: [
      { role: 'user', content: 'use the tool' },
      { role: 'assistant', content: assistantContent },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'sunny' }] },
    ],
  });
  const ok = await post('/v1/messages', followUp([thinking, toolUse]), ANT);
  assert.equal(ok.status, 200, ok.text);
  assertAnthropic400(await post('/v1/messages', followUp([toolUse]), ANT),
    /^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/);
  // Without thinking the same history is fine.
  const plain = followUp([toolUse]);
  delete plain.thinking;
  assert.equal((await post('/v1/messages', plain, ANT)).status, 200);
});

test('anthropic: thinking parameters are validated', async () => {
  const cases = [
    [{ thinking: { type: 'enabled', budget_tokens: 1000 } }, /greater than or equal to 1024/],
    [{ thinking: { type: 'enabled', budget_tokens: 4096 } }, /`max_tokens` must be greater than `thinking.budget_tokens`/],
    [{ thinking: { type: 'enabled', budget_tokens: 1024 }, temperature: 0.5 }, /`temperature` may only be set to 1/],
    [{ thinking: { type: 'adaptive' }, top_k: 5 }, /`top_k` must be unset/],
    [{ thinking: { type: 'adaptive' }, tools: [weatherTool], tool_choice: { type: 'any' } }, /tool_choice forces tool use/],
  ];
  for (const [extra, message] of cases) assertAnthropic400(await post('/v1/messages', antBody(extra), ANT), message);
});

test('anthropic: count_tokens matches the input_tokens of /v1/messages', async () => {
  const prompt = {
    model: 'claude-test',
    system: [{ type: 'text', text: 'You are a careful assistant.' }],
    tools: [weatherTool],
    messages: [
      { role: 'user', content: 'What is the weather like in Paris today, and tomorrow?' },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }] },
      { role: 'user', content: [{ type: 'text', text: 'Please be quick about it.' }] },
    ],
  };
  const counted = await post('/v1/messages/count_tokens', prompt, ANT);
  assert.equal(counted.status, 200, counted.text);
  assert.deepEqual(Object.keys(counted.json), ['input_tokens']);
  const answered = await post('/v1/messages', { ...prompt, max_tokens: 100 }, ANT);
  assert.equal(answered.json.usage.input_tokens, counted.json.input_tokens);
  assert.ok(counted.json.input_tokens > 10);

  assertAnthropic400(await post('/v1/messages/count_tokens', { ...prompt, max_tokens: 100 }, ANT), /max_tokens: Extra inputs are not permitted/);
  assertAnthropic400(await post('/v1/messages/count_tokens', { model: 'claude-test' }, ANT), /messages: Field required/);
  assertAnthropic400(await post('/v1/messages/count_tokens', { ...prompt, messages: [{ role: 'assistant', content: 'x' }] }, ANT), /first message/);
  assert.equal((await post('/v1/messages/count_tokens', prompt, { 'anthropic-version': '2023-06-01' })).status, 401);
});

// ---- Gemini ------------------------------------------------------------------------------------

const GEM = { 'x-goog-api-key': 'AIza-test' };
const GEN = '/v1beta/models/gemini-3-pro-preview';
const VERTEX_GEM = '/v1/projects/proj/locations/us-central1/publishers/google/models';
const gemBody = (extra = {}) => ({ contents: [{ role: 'user', parts: [{ text: 'hello gemini, how are you?' }] }], ...extra });
const gemTools = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: weatherTool.input_schema }] }];

function assertGoogle400(res, message) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.error.code, 400);
  assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
  assert.match(res.json.error.message, message);
}

test('gemini: responseSchema / responseJsonSchema answer schema-valid JSON, complete and streamed', async () => {
  const cases = [
    [{ responseMimeType: 'application/json', responseSchema: openApiSchema }, openApiDocument],
    [{ responseMimeType: 'application/json', responseJsonSchema: schema }, document],
    [{ response_mime_type: 'application/json', response_json_schema: schema }, document],
    [{ responseMimeType: 'application/json' }, { answer: 'mock' }],
  ];
  for (const [generationConfig, expected] of cases) {
    let res = await post(`${GEN}:generateContent`, gemBody({ generationConfig }), GEM);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.json.candidates[0].content.parts[0].text), expected);

    res = await post(`${GEN}:streamGenerateContent?alt=sse`, gemBody({ generationConfig }), GEM);
    const chunks = dataEvents(res.text);
    assert.equal(chunks.length, 4);
    assert.deepEqual(JSON.parse(chunks.map((c) => c.candidates[0].content.parts[0].text).join('')), expected);
  }
  const res = await post(`${GEN}:generateContent`, gemBody({ generationConfig: { responseMimeType: 'text/x.enum', responseSchema: { type: 'STRING', enum: ['yes', 'no'] } } }), GEM);
  assert.equal(res.json.candidates[0].content.parts[0].text, 'yes');
});

test('gemini: structured output settings are validated like Google does', async () => {
  const cases = [
    [{ responseMimeType: 'application/json', responseSchema: openApiSchema, responseJsonSchema: schema }, /cannot both be set/],
    [{ responseSchema: openApiSchema }, /generation_config\.response_schema: response_mime_type must be set to `application\/json`/],
    [{ responseMimeType: 'text/plain', responseJsonSchema: schema }, /response_json_schema: response_mime_type/],
    [{ responseMimeType: 'application/json', responseSchema: { type: 'object' } }, /Invalid value at 'generation_config\.response_schema\.type'.*"object"/],
    [{ responseMimeType: 'application/json', responseSchema: { type: 'OBJECT', properties: { a: { type: 'STRING', additionalProperties: false } } } },
      /Unknown name "additionalProperties" at 'generation_config\.response_schema\.properties\[0\]\.value'/],
    [{ responseMimeType: 'application/json', responseJsonSchema: 'x' }, /response_json_schema/],
    [{ responseMimeType: 'text/html' }, /allowed mimetypes/],
    [{ responseMimeType: 'text/x.enum', responseSchema: { type: 'STRING' } }, /enum/],
  ];
  for (const [generationConfig, message] of cases) {
    assertGoogle400(await post(`${GEN}:generateContent`, gemBody({ generationConfig }), GEM), message);
  }
});

test('gemini: thinkingConfig is validated; includeThoughts answers thought parts first', async () => {
  let res = await post(`${GEN}:generateContent`, gemBody({ generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } } }), GEM);
  assert.equal(res.status, 200, res.text);
  const parts = res.json.candidates[0].content.parts;
  assert.equal(parts.length, 2);
  assert.equal(parts[0].thought, true);
  assert.ok(parts[0].text.length > 0);
  assert.deepEqual(parts[1], { text: 'chunk0 chunk1 chunk2 chunk3' });
  const usage = res.json.usageMetadata;
  assert.ok(usage.thoughtsTokenCount > 0);
  assert.equal(usage.totalTokenCount, usage.promptTokenCount + usage.candidatesTokenCount + usage.thoughtsTokenCount);

  res = await post(`${GEN}:streamGenerateContent?alt=sse`, gemBody({ generationConfig: { thinkingConfig: { includeThoughts: true, thinkingLevel: 'high' } } }), GEM);
  const chunks = dataEvents(res.text);
  assert.equal(chunks[0].candidates[0].content.parts[0].thought, true);
  assert.equal(chunks.slice(1).map((c) => c.candidates[0].content.parts[0].text).join(''), 'chunk0 chunk1 chunk2 chunk3');

  // Without includeThoughts: no thought part; x-mock-thoughts keeps its meaning.
  res = await post(`${GEN}:generateContent`, gemBody({ generationConfig: { thinkingConfig: { thinkingBudget: -1 } } }), GEM);
  assert.equal(res.json.candidates[0].content.parts.length, 1);
  res = await post(`${GEN}:generateContent`, gemBody({ generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 0 } } }), GEM);
  assert.equal(res.json.candidates[0].content.parts.length, 1, 'budget 0 disables thinking');
  res = await post(`${GEN}:generateContent`, gemBody(), { ...GEM, 'x-mock-thoughts': '9' });
  assert.equal(res.json.candidates[0].content.parts[0].thought, true);
  assert.equal(res.json.usageMetadata.thoughtsTokenCount, 9);

  const cases = [
    [{ thinkingBudget: 50 }, /thinking budget 50 is invalid/],
    [{ thinkingBudget: 40000 }, /thinking budget 40000 is invalid/],
    [{ thinkingBudget: 1024, thinkingLevel: 'low' }, /only one of thinking budget and thinking level/],
    [{ thinkingLevel: 'extreme' }, /thinking_level/],
    [{ includeThoughts: 'yes' }, /include_thoughts/],
    [{ thinkingSteps: 3 }, /Unknown name "thinkingSteps"/],
  ];
  for (const [thinkingConfig, message] of cases) {
    assertGoogle400(await post(`${GEN}:generateContent`, gemBody({ generationConfig: { thinkingConfig } }), GEM), message);
  }
});

test('gemini: with thinking, function calls carry a thoughtSignature that replays must keep', async () => {
  const generationConfig = { thinkingConfig: { thinkingLevel: 'low' } };
  const first = await post(`${GEN}:generateContent`, gemBody({ generationConfig, tools: gemTools, contents: [{ role: 'user', parts: [{ text: 'use a tool' }] }] }), GEM);
  assert.equal(first.status, 200, first.text);
  const [part] = first.json.candidates[0].content.parts;
  assert.equal(part.functionCall.name, 'get_weather');
  assert.equal(typeof part.thoughtSignature, 'string');
  assert.ok(part.thoughtSignature.length > 0);

  const replay = (modelParts, config = generationConfig) => gemBody({
    generationConfig: config,
    tools: gemTools,
    contents: [
      { role: 'user', parts: [{ text: 'use a tool' }] },
      { role: 'model', parts: modelParts },
      { role: 'user', parts: modelParts.map(() => ({ functionResponse: { name: 'get_weather', response: { sky: 'blue' } } })) },
    ],
  });
  assert.equal((await post(`${GEN}:generateContent`, replay([part]), GEM)).status, 200);
  // Parallel calls: only the first carries the signature.
  assert.equal((await post(`${GEN}:generateContent`, replay([part, { functionCall: part.functionCall }]), GEM)).status, 200);
  assertGoogle400(await post(`${GEN}:generateContent`, replay([{ functionCall: part.functionCall }]), GEM),
    /^Function call is missing a thought_signature in functionCall parts\..*`default_api:get_weather` , position 2\./);
  assertGoogle400(await post(`${GEN}:generateContent`, replay([{ ...part, thoughtSignature: 'bm90IG1pbmU=' }]), GEM), /Corrupted thought signature/);
  // The documented placeholders pass, and so does a request without thinking.
  for (const dummy of ['skip_thought_signature_validator', 'c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I=', 'context_engineering_is_the_way_to_go']) {
    assert.equal((await post(`${GEN}:generateContent`, replay([{ ...part, thoughtSignature: dummy }]), GEM)).status, 200, dummy);
  }
  assert.equal((await post(`${GEN}:generateContent`, replay([{ functionCall: part.functionCall }], null), GEM)).status, 200);
  assert.equal((await post(`${GEN}:generateContent`, replay([{ functionCall: part.functionCall }], { thinkingConfig: { thinkingBudget: 0 } }), GEM)).status, 200);
  // Calls of earlier turns (before the last user prompt) are not checked.
  const older = replay([{ functionCall: part.functionCall }]);
  older.contents.push({ role: 'model', parts: [{ text: 'It is sunny.' }] }, { role: 'user', parts: [{ text: 'thanks' }] });
  assert.equal((await post(`${GEN}:generateContent`, older, GEM)).status, 200);
  // Without thinking no signature is issued.
  const plain = await post(`${GEN}:generateContent`, gemBody({ tools: gemTools, contents: [{ role: 'user', parts: [{ text: 'use a tool' }] }] }), GEM);
  assert.equal(plain.json.candidates[0].content.parts[0].thoughtSignature, undefined);
});

test('gemini: countTokens equals the promptTokenCount of generateContent (AI Studio and Vertex)', async () => {
  const request = {
    systemInstruction: { parts: [{ text: 'Answer briefly, in one sentence please.' }] },
    contents: [
      { role: 'user', parts: [{ text: 'What is the capital of France, and why?' }] },
      { role: 'model', parts: [{ text: 'Paris, for historical reasons.' }] },
      { role: 'user', parts: [{ text: 'And of Italy?' }] },
    ],
  };
  const generated = await post(`${GEN}:generateContent`, request, GEM);
  const full = generated.json.usageMetadata.promptTokenCount;
  const onlyContents = (await post(`${GEN}:generateContent`, { contents: request.contents }, GEM)).json.usageMetadata.promptTokenCount;
  assert.ok(full > onlyContents);

  let res = await post(`${GEN}:countTokens`, { contents: request.contents }, GEM);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { totalTokens: onlyContents });
  res = await post(`${GEN}:countTokens`, { generateContentRequest: { model: 'models/gemini-3-pro-preview', ...request } }, GEM);
  assert.deepEqual(res.json, { totalTokens: full });

  const auth = { authorization: 'Bearer ya29.token' };
  res = await post(`${VERTEX_GEM}/gemini-2.5-pro:countTokens`, request, auth);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.totalTokens, full);
  assert.equal(typeof res.json.totalBillableCharacters, 'number');
  assert.equal((await post(`${VERTEX_GEM}/gemini-2.5-pro:countTokens`, request, {})).status, 401);

  assertGoogle400(await post(`${GEN}:countTokens`, { contents: request.contents, generateContentRequest: request }, GEM), /mutually exclusive/);
  assertGoogle400(await post(`${GEN}:countTokens`, { contents: [] }, GEM), /contents/);
  assertGoogle400(await post(`${GEN}:countTokens`, { ...request }, GEM), /Unknown name "systemInstruction"/);
  assert.equal((await post(`${GEN}:countTokens`, { contents: request.contents })).status, 403);
});

// ---- Bedrock -----------------------------------------------------------------------------------

// Decodes application/vnd.amazon.eventstream frames (string headers only), without CRC checks
// (mock_providers.test.mjs checks them).
function decodeEventStream(buf) {
  const messages = [];
  let off = 0;
  while (off < buf.length) {
    const total = buf.readUInt32BE(off);
    const headersLength = buf.readUInt32BE(off + 4);
    const headers = {};
    let h = off + 12;
    while (h < off + 12 + headersLength) {
      const nameLength = buf[h];
      const name = buf.subarray(h + 1, h + 1 + nameLength).toString();
      h += 1 + nameLength;
      const valueLength = buf.readUInt16BE(h + 1);
      headers[name] = buf.subarray(h + 3, h + 3 + valueLength).toString();
      h += 3 + valueLength;
    }
    messages.push({ type: headers[':event-type'], payload: JSON.parse(buf.subarray(off + 12 + headersLength, off + total - 4).toString()) });
    off += total;
  }
  return messages;
}

const BEDROCK = { authorization: 'Bearer bedrock-key' };
const CLAUDE = '/model/anthropic.claude-sonnet-4-20250514-v1%3A0';
const converseBody = (extra = {}) => ({ messages: [{ role: 'user', content: [{ text: 'hello bedrock' }] }], ...extra });
const reasoningFields = { additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } } };

test('bedrock: thinking on a Claude model answers a signed reasoningContent block first', async () => {
  for (const extra of [reasoningFields, { additionalModelRequestFields: { reasoning_config: { type: 'enabled', budget_tokens: 2000 } } }]) {
    const res = await post(`${CLAUDE}/converse`, converseBody(extra), BEDROCK);
    assert.equal(res.status, 200, res.text);
    const [reasoning, text] = res.json.output.message.content;
    assert.equal(typeof reasoning.reasoningContent.reasoningText.text, 'string');
    assert.match(reasoning.reasoningContent.reasoningText.signature, /^[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(text, { text: 'chunk0 chunk1 chunk2 chunk3' });
    assert.ok(res.json.usage.outputTokens > 4);
  }
  const plain = await post('/model/amazon.nova-pro-v1%3A0/converse', converseBody(reasoningFields), BEDROCK);
  assert.equal(plain.json.output.message.content.length, 1, 'only Claude models think');

  const res = await post(`${CLAUDE}/converse-stream`, converseBody(reasoningFields), BEDROCK);
  const frames = decodeEventStream(res.bytes);
  assert.deepEqual(frames.map((f) => f.type), [
    'messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop',
    'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata',
  ]);
  const thought = frames.slice(1, 4).map((f) => { assert.equal(f.payload.contentBlockIndex, 0); return f.payload.delta.reasoningContent.text; }).join('');
  const { signature } = frames[4].payload.delta.reasoningContent;
  assert.ok(thought.length > 0 && signature.length > 0);
  assert.ok(frames.slice(6, 10).every((f) => f.payload.contentBlockIndex === 1 && typeof f.payload.delta.text === 'string'));

  // Replays must keep the signature.
  const replay = (sig) => converseBody({
    ...reasoningFields,
    messages: [
      { role: 'user', content: [{ text: 'hello bedrock' }] },
      { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: thought, signature: sig } } }, { text: 'hi' }] },
      { role: 'user', content: [{ text: 'more' }] },
    ],
  });
  assert.equal((await post(`${CLAUDE}/converse`, replay(signature), BEDROCK)).status, 200);
  const bad = await post(`${CLAUDE}/converse`, replay('Zm9v'), BEDROCK);
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('x-amzn-errortype'), /^ValidationException:/);
  assert.match(bad.json.message, /Invalid `signature` in `thinking` block/);

  const small = await post(`${CLAUDE}/converse`, converseBody({ additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 100 } } }), BEDROCK);
  assert.equal(small.status, 400);
  assert.match(small.json.message, /budget_tokens: Input should be greater than or equal to 1024/);
});

// ---- Tool inputs: one schema-valid generator for every format ----------------------------------

test('tool inputs honour enum, $ref, nested required objects, minItems and bounds in every format', async () => {
  const prompt = 'Use the tool please.';
  // OpenAI chat
  let res = await post('/v1/chat/completions', chatBody({
    messages: [{ role: 'user', content: prompt }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: toolSchema } }],
  }));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.json.choices[0].message.tool_calls[0].function.arguments), toolArgs);

  // Anthropic
  res = await post('/v1/messages', antBody({
    messages: [{ role: 'user', content: prompt }],
    tools: [{ name: 'get_weather', input_schema: toolSchema }],
  }), ANT);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.content[0].input, toolArgs);

  // Gemini: a JSON Schema (parametersJsonSchema), and Google's OpenAPI subset (upper-case types,
  // nullable, int64 fields as strings).
  res = await post(`${GEN}:generateContent`, gemBody({
    contents: [{ role: 'user', parts: [{ text: prompt }] }],
    tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: toolSchema }] }],
  }), GEM);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.candidates[0].content.parts[0].functionCall.args, toolArgs);
  const openApi = {
    type: 'OBJECT',
    properties: {
      unit: { type: 'STRING', format: 'enum', enum: ['celsius', 'fahrenheit'] },
      place: { type: 'OBJECT', properties: { lat: { type: 'NUMBER' }, name: { type: 'STRING', nullable: true } }, required: ['lat', 'name'] },
      tags: { type: 'ARRAY', items: { type: 'STRING' }, minItems: '2', maxItems: '3' },
      count: { type: 'INTEGER', minimum: 10, maximum: 20 },
      label: { type: 'STRING', minLength: '6', maxLength: '8' },
    },
    required: ['unit', 'place', 'tags', 'count', 'label'],
  };
  res = await post(`${GEN}:generateContent`, gemBody({
    contents: [{ role: 'user', parts: [{ text: prompt }] }],
    tools: [{ functionDeclarations: [{ name: 'f', parameters: openApi }] }],
  }), GEM);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.candidates[0].content.parts[0].functionCall.args, {
    unit: 'celsius', place: { lat: 1, name: 'mock' }, tags: ['mock', 'mock'], count: 10, label: 'mockkk',
  });

  // Bedrock Converse, complete and streamed.
  const toolConfig = { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: toolSchema } } }], toolChoice: { any: {} } };
  res = await post(`${CLAUDE}/converse`, converseBody({ toolConfig }), BEDROCK);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.output.message.content[0].toolUse.input, toolArgs);
  res = await post(`${CLAUDE}/converse-stream`, converseBody({ toolConfig }), BEDROCK);
  const input = decodeEventStream(res.bytes).filter((f) => f.type === 'contentBlockDelta').map((f) => f.payload.delta.toolUse.input).join('');
  assert.deepEqual(JSON.parse(input), toolArgs);
});

test('structured output: recursive and allOf schemas answer a bounded, valid document', async () => {
  const tree = {
    type: 'object',
    properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } }, left: { $ref: '#' }, right: { $ref: '#' } },
    required: ['name', 'children'],
  };
  const res = await post('/v1/chat/completions', chatBody({ response_format: { type: 'json_schema', json_schema: { name: 'tree', schema: tree } } }));
  assert.equal(res.status, 200, res.text);
  const doc = JSON.parse(res.json.choices[0].message.content);
  const check = (node, depth) => {
    assert.equal(node.name, 'mock');
    assert.ok(Array.isArray(node.children));
    assert.ok(depth < 32);
    for (const child of [...node.children, node.left, node.right]) if (child !== undefined) check(child, depth + 1);
  };
  check(doc, 0);
  assert.ok(res.text.length < 1_000_000, `bounded: ${res.text.length} bytes`);

  const merged = {
    allOf: [
      { type: 'object', properties: { a: { type: 'integer', exclusiveMinimum: 5 } }, required: ['a'] },
      { type: 'object', properties: { b: { type: 'string', format: 'email' } }, required: ['b'] },
    ],
    properties: { c: { type: 'number', maximum: 0.5 } },
  };
  const allOf = await post('/v1/chat/completions', chatBody({ response_format: { type: 'json_schema', json_schema: { name: 'm', schema: merged } } }));
  assert.deepEqual(JSON.parse(allOf.json.choices[0].message.content), { a: 6, b: 'mock@example.com', c: 0.5 });
});
