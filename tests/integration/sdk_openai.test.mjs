// The client matrix (issue 12, item 8), `openai` at its current major (7.x, aliased `openai-7`;
// the other tests keep 5.x): chat.completions and responses against OpenAI-format, Anthropic,
// Gemini and Bedrock backends of sluice-mock, with one loop over the backends and no
// provider-specific branch in the client code: text, a stream, a tool round trip, structured
// output (response_format / text.format json_schema, strict) and reasoning
// (reasoning_effort / reasoning.effort).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai-7';
import { startProviderGateway } from '../lib/providers.mjs';
import {
  CITY_SCHEMA,
  MATRIX_BACKENDS,
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
  new OpenAI({
    baseURL: `${gw.url}/${backend}/v1`,
    apiKey: 'sk-client',
    maxRetries: 0,
    timeout: 10_000,
    defaultHeaders: { 'x-mock-chunks': '3' },
  });

const chatTools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: WEATHER_PARAMETERS, strict: true } }];
const responsesTools = [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: WEATHER_PARAMETERS, strict: true }];

for (const backend of MATRIX_BACKENDS) {
  const model = modelFor(backend);

  describe(`openai 7 chat.completions -> ${backend}`, () => {
    test('text', async () => {
      const completion = await client(backend).chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Say something.' },
        ],
        max_completion_tokens: 64,
      });
      assert.equal(completion.object, 'chat.completion');
      assert.equal(completion.choices[0].message.content, 'chunk0 chunk1 chunk2');
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.ok(completion.usage.prompt_tokens > 0);
    });

    test('stream', async () => {
      const stream = await client(backend).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Say something.' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish = null;
      let usage = null;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        text += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(finish, 'stop');
      assert.ok(usage?.completion_tokens > 0);
    });

    test('tool round trip (the SDK runTools helper)', async () => {
      const calls = [];
      const runner = client(backend).chat.completions.runTools({
        model,
        messages: [{ role: 'user', content: TOOL_PROMPT }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Weather for a city',
              parameters: WEATHER_PARAMETERS,
              function: (args) => {
                calls.push(args);
                return WEATHER_RESULT;
              },
              parse: JSON.parse,
            },
          },
        ],
      });
      const final = await runner.finalChatCompletion();
      assert.equal(calls.length, 1);
      assert.equal(typeof calls[0].city, 'string');
      assert.equal(final.choices[0].finish_reason, 'stop');
      assert.ok(final.choices[0].message.content.length > 0);
      const messages = runner.messages;
      assert.deepEqual(
        messages.map((m) => m.role),
        ['user', 'assistant', 'tool', 'assistant'],
      );
      assert.equal(messages[2].content, WEATHER_RESULT);
    });

    test('streamed tool call, then the tool result', async () => {
      const messages = [{ role: 'user', content: TOOL_PROMPT }];
      const stream = client(backend).chat.completions.stream({ model, messages, tools: chatTools });
      const first = await stream.finalChatCompletion();
      assert.equal(first.choices[0].finish_reason, 'tool_calls');
      const [call] = first.choices[0].message.tool_calls;
      assert.equal(call.function.name, 'get_weather');
      assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
      const second = await client(backend).chat.completions.create({
        model,
        tools: chatTools,
        messages: [...messages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: WEATHER_RESULT }],
      });
      assert.equal(second.choices[0].finish_reason, 'stop');
      assert.ok(second.choices[0].message.content.length > 0);
    });

    test('structured output: response_format json_schema (strict)', async () => {
      const completion = await client(backend).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Describe Lisbon.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'city', schema: CITY_SCHEMA, strict: true } },
      });
      assert.equal(completion.choices[0].finish_reason, 'stop');
      parseStructured(completion.choices[0].message.content);
    });

    test('structured output, streamed (chat.completions.stream parses it)', async () => {
      const stream = client(backend).chat.completions.stream({
        model,
        messages: [{ role: 'user', content: 'Describe Lisbon.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'city', schema: CITY_SCHEMA, strict: true } },
      });
      const final = await stream.finalChatCompletion();
      parseStructured(final.choices[0].message.content);
    });

    test('reasoning: reasoning_effort', async () => {
      const completion = await client(backend).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Think, then answer.' }],
        reasoning_effort: 'low',
        max_completion_tokens: 4096,
      });
      const { message } = completion.choices[0];
      assert.equal(message.content, 'chunk0 chunk1 chunk2');
      if (REASONING_TEXT[backend]) {
        // Sluice's OpenAI encoder: the provider's thinking as `reasoning_content`.
        assert.ok(message.reasoning_content?.length > 0, JSON.stringify(message));
      } else {
        assert.ok(completion.usage.completion_tokens_details?.reasoning_tokens > 0, JSON.stringify(completion.usage));
      }
    });
  });

  describe(`openai 7 responses -> ${backend}`, () => {
    test('text', async () => {
      const response = await client(backend).responses.create({ model, instructions: 'Be brief.', input: 'Say something.', max_output_tokens: 64 });
      assert.equal(response.status, 'completed');
      assert.equal(response.output_text, 'chunk0 chunk1 chunk2');
      assert.ok(response.usage.input_tokens > 0);
    });

    test('stream', async () => {
      const stream = client(backend).responses.stream({ model, input: 'Say something.' });
      let deltas = '';
      for await (const event of stream) if (event.type === 'response.output_text.delta') deltas += event.delta;
      const final = await stream.finalResponse();
      assert.equal(deltas, 'chunk0 chunk1 chunk2');
      assert.equal(final.output_text, 'chunk0 chunk1 chunk2');
      assert.equal(final.status, 'completed');
    });

    test('tool round trip: function_call, then function_call_output', async () => {
      const openai = client(backend);
      const input = [{ role: 'user', content: TOOL_PROMPT }];
      const first = await openai.responses.create({ model, input, tools: responsesTools });
      const call = first.output.find((item) => item.type === 'function_call');
      assert.ok(call, JSON.stringify(first.output));
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof JSON.parse(call.arguments).city, 'string');
      const second = await openai.responses.create({
        model,
        tools: responsesTools,
        input: [...input, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: WEATHER_RESULT }],
      });
      assert.equal(second.status, 'completed');
      assert.ok(second.output_text.length > 0);
    });

    test('structured output: text.format json_schema (strict)', async () => {
      const response = await client(backend).responses.create({
        model,
        input: 'Describe Lisbon.',
        text: { format: { type: 'json_schema', name: 'city', schema: CITY_SCHEMA, strict: true } },
      });
      assert.equal(response.status, 'completed');
      parseStructured(response.output_text);
    });

    test('reasoning: reasoning.effort, streamed, with a summary', async () => {
      const stream = client(backend).responses.stream({
        model,
        input: 'Think, then answer.',
        reasoning: { effort: 'low', summary: 'auto' },
        max_output_tokens: 4096,
      });
      let summaryDeltas = '';
      for await (const event of stream) if (event.type === 'response.reasoning_summary_text.delta') summaryDeltas += event.delta;
      const final = await stream.finalResponse();
      assert.equal(final.output_text, 'chunk0 chunk1 chunk2');
      const reasoning = final.output.find((item) => item.type === 'reasoning');
      assert.ok(reasoning, JSON.stringify(final.output));
      assert.ok(reasoning.summary[0]?.text.length > 0, JSON.stringify(reasoning));
      assert.equal(summaryDeltas, reasoning.summary[0].text);
      assert.equal(final.output.at(-1).type, 'message');
    });
  });
}
