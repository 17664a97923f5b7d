// The OpenAI Responses API on providers that do not speak it (issue 12): the official openai
// SDK's responses.create / responses.stream against Anthropic, Gemini, Vertex AI (Gemini and
// Claude) and Bedrock backends of sluice-mock, through the real binaries. Each provider is
// asked in its own wire format (the mock validates it), and the SDK assembles what Sluice
// encodes: text, the stream's events in order with sequence numbers, a tool round trip
// (function_call then function_call_output), the output limit, usage; and the refusals are 400s
// naming the field.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { CHAT_MODELS, startProviderGateway } from '../lib/providers.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

const client = (backend, headers = {}) =>
  new OpenAI({ baseURL: `${gw.url}/${backend}/v1`, apiKey: 'sk-client', maxRetries: 0, defaultHeaders: headers });

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

// The path each provider is asked on, in its own format.
const UPSTREAM_PATH = {
  anthropic: /^\/v1\/messages$/,
  gemini: /^\/v1beta\/models\/gemini-2\.5-flash:(generateContent|streamGenerateContent)/,
  vertex: /publishers\/google\/models\/gemini-2\.5-pro:(generateContent|streamGenerateContent)/,
  'vertex-claude': /publishers\/anthropic\/models\/claude-sonnet-4-5:(rawPredict|streamRawPredict)/,
  bedrock: /^\/model\/anthropic\.claude-3-5-sonnet-20241022-v2%3A0\/(converse|converse-stream)$/,
};

for (const backend of Object.keys(UPSTREAM_PATH)) {
  const model = CHAT_MODELS[backend];
  describe(`Responses API on ${backend}`, () => {
    test('a complete response: text, usage, the echoed request', async () => {
      const response = await client(backend, { 'x-mock-chunks': '3' }).responses.create({
        model,
        instructions: 'Be brief.',
        input: 'Say something.',
        max_output_tokens: 64,
        metadata: { team: 'search' },
      });
      assert.equal(response.object, 'response');
      assert.match(response.id, /^resp_/);
      assert.equal(response.status, 'completed');
      assert.equal(response.output_text, 'chunk0 chunk1 chunk2');
      assert.equal(response.output[0].type, 'message');
      assert.ok(response.usage.input_tokens > 0);
      assert.equal(response.usage.total_tokens, response.usage.input_tokens + response.usage.output_tokens);
      assert.deepEqual(response.metadata, { team: 'search' });
      assert.equal(response.max_output_tokens, 64);
      const line = await gw.sluice.waitForAccessLog((l) => l.path === `/${backend}/v1/responses` && !l.stream);
      assert.match(line.upstream_path, UPSTREAM_PATH[backend]);
      assert.equal(line.prompt_tokens, response.usage.input_tokens);
    });

    test('a stream: the events the SDK parses, in order, with sequence numbers', async () => {
      const stream = client(backend, { 'x-mock-chunks': '4' }).responses.stream({ model, input: 'hello' });
      const events = [];
      for await (const event of stream) events.push(event);
      const final = await stream.finalResponse();
      assert.equal(final.status, 'completed');
      // The stream helper assembles output items (output_text is set on complete responses only).
      assert.equal(final.output[0].content[0].text, 'chunk0 chunk1 chunk2 chunk3');
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
      ]);
      assert.equal(types.at(-1), 'response.completed');
      assert.equal(types.filter((t) => t === 'response.output_text.delta').length, 4);
      assert.deepEqual(
        events.map((e) => e.sequence_number),
        events.map((_, i) => i),
      );
      assert.ok(final.usage.output_tokens > 0);
    });

    test('a tool round trip: function_call, then function_call_output', async () => {
      const openai = client(backend);
      const first = await openai.responses.create({
        model,
        input: [{ role: 'user', content: 'Use the tool for Paris.' }],
        tools: [weather],
      });
      const call = first.output.find((item) => item.type === 'function_call');
      assert.ok(call, JSON.stringify(first.output));
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'mock' });
      assert.ok(call.call_id);

      const second = await openai.responses.create({
        model,
        input: [
          { role: 'user', content: 'Use the tool for Paris.' },
          ...first.output,
          { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' },
        ],
        tools: [weather],
      });
      assert.equal(second.status, 'completed');
      assert.ok(second.output_text.length > 0);
      assert.equal(
        second.output.some((item) => item.type === 'function_call'),
        false,
      );
    });

    test('a streamed tool call: arguments deltas, then done, then the item', async () => {
      const stream = client(backend).responses.stream({
        model,
        input: 'Use the tool please.',
        tools: [weather],
        tool_choice: 'required',
      });
      const types = [];
      for await (const event of stream) types.push(event.type);
      const final = await stream.finalResponse();
      const call = final.output.find((item) => item.type === 'function_call');
      assert.ok(call);
      assert.deepEqual(JSON.parse(call.arguments), { city: 'mock' });
      assert.ok(types.includes('response.function_call_arguments.done'));
      assert.ok(types.indexOf('response.function_call_arguments.done') < types.lastIndexOf('response.output_item.done'));
    });
  });
}

test('the output limit: status incomplete with reason max_output_tokens', async () => {
  const response = await client('anthropic', { 'x-mock-chunks': '8' }).responses.create({
    model: CHAT_MODELS.anthropic,
    input: 'Talk at length.',
    max_output_tokens: 2,
  });
  assert.equal(response.status, 'incomplete');
  assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
});

test('an upstream failure mid-stream ends the stream with response.failed', async () => {
  const res = await fetch(`${gw.url}/anthropic/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-stream-error': 'overloaded_error' },
    body: JSON.stringify({ model: CHAT_MODELS.anthropic, input: 'hi', stream: true }),
  });
  assert.equal(res.status, 200);
  const events = (await res.text())
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)));
  const last = events.at(-1);
  assert.equal(last.type, 'response.failed');
  assert.equal(last.response.status, 'failed');
  assert.ok(last.response.error.message.length > 0);
});

test('what cannot be carried to another provider is a 400 naming the field, in the OpenAI shape', async () => {
  const cases = [
    [{ tools: [{ type: 'web_search' }] }, 'tools[0].type', /web_search/],
    [{ previous_response_id: 'resp_123' }, 'previous_response_id', /response store/],
    [{ store: true }, 'store', /response store/],
    [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type', /item_reference/],
  ];
  for (const [extra, param, message] of cases) {
    await assert.rejects(
      client('anthropic').responses.create({ model: CHAT_MODELS.anthropic, input: 'hi', ...extra }),
      (error) => {
        assert.equal(error.status, 400, JSON.stringify(extra));
        assert.equal(error.error.param, param);
        assert.match(error.error.message, message);
        assert.equal(error.error.type, 'invalid_request_error');
        return true;
      },
    );
  }
});

test('a provider error before the stream is the provider status in the OpenAI shape', async () => {
  await assert.rejects(
    client('gemini', { 'x-mock-status': '429' }).responses.create({ model: CHAT_MODELS.gemini, input: 'hi' }),
    (error) => {
      assert.equal(error.status, 429);
      return true;
    },
  );
});
