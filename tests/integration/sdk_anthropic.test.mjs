// The client matrix (issue 12, item 8), `@anthropic-ai/sdk` at its current 1.x: messages.create
// and messages.stream against OpenAI-format, Anthropic, Gemini and Bedrock backends of
// sluice-mock, one loop over the backends with no provider-specific branch in the client code:
// text, a stream, a tool round trip, structured output (output_config.format json_schema),
// extended thinking (thinking {type: enabled, budget_tokens}) and a multi-turn tool loop with
// thinking whose signed thinking blocks are replayed as the SDK returned them (the mock checks
// the signatures on Anthropic and Bedrock).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startProviderGateway } from '../lib/providers.mjs';
import {
  CITY_SCHEMA,
  MATRIX_BACKENDS,
  MOCK_THINKING,
  REASONING_TEXT,
  TOOL_PROMPT,
  WEATHER_PARAMETERS,
  WEATHER_RESULT,
  modelFor,
  parseStructured,
} from '../lib/sdk_matrix.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

const client = (backend) =>
  new Anthropic({
    baseURL: `${gw.url}/${backend}`,
    apiKey: 'sk-client',
    maxRetries: 0,
    timeout: 10_000,
    defaultHeaders: { 'x-mock-chunks': '3' },
  });

const tools = [{ name: 'get_weather', description: 'Weather for a city', input_schema: WEATHER_PARAMETERS }];
const thinking = { type: 'enabled', budget_tokens: 1024 };
const textOf = (message) =>
  message.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('');

for (const backend of MATRIX_BACKENDS) {
  const model = modelFor(backend);

  describe(`@anthropic-ai/sdk -> ${backend}`, () => {
    test('text', async () => {
      const message = await client(backend).messages.create({
        model,
        max_tokens: 256,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'Say something.' }],
      });
      assert.equal(message.type, 'message');
      assert.equal(textOf(message), 'chunk0 chunk1 chunk2');
      assert.equal(message.stop_reason, 'end_turn');
      assert.ok(message.usage.input_tokens > 0);
    });

    test('stream', async () => {
      const stream = client(backend).messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: 'Say something.' }] });
      let text = '';
      stream.on('text', (delta) => (text += delta));
      const final = await stream.finalMessage();
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(textOf(final), 'chunk0 chunk1 chunk2');
      assert.equal(final.stop_reason, 'end_turn');
      assert.ok(final.usage.output_tokens > 0);
    });

    // The 1.x toolRunner keeps the loop in a server-side message thread by default (`thread:
    // {type: create}`, then only the new turn with `{type: continue, previous_message_id}`), which
    // only Anthropic itself can hold: through a gateway to any provider it runs with
    // `thread: false`, sending the whole history each turn.
    test('tool round trip (the SDK toolRunner)', async () => {
      const calls = [];
      const runner = client(backend).beta.messages.toolRunner({
        model,
        max_tokens: 256,
        messages: [{ role: 'user', content: TOOL_PROMPT }],
        tools: [
          {
            ...tools[0],
            run: (input) => {
              calls.push(input);
              return WEATHER_RESULT;
            },
          },
        ],
        max_iterations: 3,
        thread: false,
      });
      const final = await runner;
      assert.equal(calls.length, 1);
      assert.equal(typeof calls[0].city, 'string');
      assert.equal(final.stop_reason, 'end_turn');
      assert.ok(textOf(final).length > 0);
    });

    test('structured output: output_config.format json_schema', async () => {
      const message = await client(backend).messages.create({
        model,
        max_tokens: 512,
        messages: [{ role: 'user', content: 'Describe Lisbon.' }],
        output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } },
      });
      assert.equal(message.stop_reason, 'end_turn');
      parseStructured(textOf(message));
    });

    test('thinking: {type: enabled, budget_tokens} -> thinking blocks first', async () => {
      const stream = client(backend).messages.stream({
        model,
        max_tokens: 2048,
        thinking,
        messages: [{ role: 'user', content: 'Think, then answer.' }],
      });
      let thought = '';
      stream.on('thinking', (delta) => (thought += delta));
      const final = await stream.finalMessage();
      assert.equal(textOf(final), 'chunk0 chunk1 chunk2');
      const blocks = final.content.filter((b) => b.type === 'thinking');
      assert.equal(blocks.length, REASONING_TEXT[backend] ? 1 : 0, JSON.stringify(final.content));
      if (blocks.length) {
        assert.equal(final.content[0].type, 'thinking');
        assert.equal(blocks[0].thinking, thought);
        assert.ok(blocks[0].thinking.length > 0);
      }
      const complete = await client(backend).messages.create({
        model,
        max_tokens: 2048,
        thinking,
        messages: [{ role: 'user', content: 'Think, then answer.' }],
      });
      assert.deepEqual(
        complete.content.map((b) => b.type),
        final.content.map((b) => b.type),
      );
    });

    test('a multi-turn tool loop with thinking: the thinking blocks replayed', async () => {
      const anthropic = client(backend);
      const messages = [{ role: 'user', content: TOOL_PROMPT }];
      const first = await anthropic.messages.create({ model, max_tokens: 2048, thinking, tools, messages });
      assert.equal(first.stop_reason, 'tool_use', JSON.stringify(first.content));
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      assert.equal(typeof use.input.city, 'string');
      assert.equal(first.content.filter((b) => b.type === 'thinking').length, REASONING_TEXT[backend] ? 1 : 0);
      messages.push({ role: 'assistant', content: first.content });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: WEATHER_RESULT }] });

      // The second turn streamed: the SDK accumulates it; the replayed blocks are the first turn's.
      const second = await anthropic.messages.stream({ model, max_tokens: 2048, thinking, tools, messages }).finalMessage();
      assert.equal(second.stop_reason, 'end_turn', JSON.stringify(second.content));
      assert.ok(textOf(second).length > 0);

      // A third turn: a new question after the finished tool loop, the whole history replayed.
      messages.push({ role: 'assistant', content: second.content });
      messages.push({ role: 'user', content: 'Thanks. And tomorrow?' });
      const third = await anthropic.messages.create({ model, max_tokens: 2048, thinking, tools, messages });
      assert.equal(third.stop_reason, 'end_turn', JSON.stringify(third.content));
      assert.equal(textOf(third), 'chunk0 chunk1 chunk2');
    });
  });
}

test('the mock thinks the documented text (the replayed blocks are the ones it signed)', async () => {
  const message = await client('anthropic').messages.create({
    model: modelFor('anthropic'),
    max_tokens: 2048,
    thinking,
    messages: [{ role: 'user', content: 'Think.' }],
  });
  assert.equal(message.content[0].thinking, MOCK_THINKING);
  assert.ok(message.content[0].signature.length > 0);
});
