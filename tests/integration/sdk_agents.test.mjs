// The client matrix (issue 12, item 8), the OpenAI Agents SDK (`@openai/agents`): an Agent on
// the default model path (the Responses API), its OpenAI client (openai 7) pointed at Sluice
// through an OpenAIProvider, tracing off, against OpenAI-format, Anthropic, Gemini and Bedrock
// backends of sluice-mock, one loop over the backends with no provider-specific branch in the
// client code: run() for text, a streamed run, a function tool, structured output (outputType
// with a zod schema) and reasoning (modelSettings.reasoning).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai-7';
import { z } from 'zod';
import { startProviderGateway } from '../lib/providers.mjs';
import { CITY_SCHEMA, MATRIX_BACKENDS, TOOL_PROMPT, WEATHER_RESULT, assertMatchesSchema, modelFor } from '../lib/sdk_matrix.mjs';

setTracingDisabled(true);

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

// A Runner whose model provider is the Agents SDK's OpenAIProvider with an openai client for
// the backend's prefix (useResponses: the default model path, stated).
const runner = (backend) =>
  new Runner({
    modelProvider: new OpenAIProvider({
      useResponses: true,
      openAIClient: new OpenAI({
        baseURL: `${gw.url}/${backend}/v1`,
        apiKey: 'sk-client',
        maxRetries: 0,
        timeout: 10_000,
        defaultHeaders: { 'x-mock-chunks': '3' },
      }),
    }),
  });

const City = z.object({
  city: z.string(),
  population: z.number().int(),
  coastal: z.boolean(),
  climate: z.enum(['temperate', 'tropical', 'arid']),
  landmarks: z.array(z.string()),
  location: z.object({ lat: z.number(), lon: z.number() }),
});

for (const backend of MATRIX_BACKENDS) {
  const model = modelFor(backend);

  describe(`@openai/agents -> ${backend}`, () => {
    test('run(): text', async () => {
      const agent = new Agent({ name: 'Assistant', instructions: 'Be brief.', model });
      const result = await runner(backend).run(agent, 'Say something.');
      assert.equal(result.finalOutput, 'chunk0 chunk1 chunk2');
    });

    test('a streamed run', async () => {
      const agent = new Agent({ name: 'Assistant', instructions: 'Be brief.', model });
      const result = await runner(backend).run(agent, 'Say something.', { stream: true });
      let text = '';
      for await (const delta of result.toTextStream()) text += delta;
      await result.completed;
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(result.finalOutput, 'chunk0 chunk1 chunk2');
    });

    test('a function tool', async () => {
      const calls = [];
      const getWeather = tool({
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          calls.push(city);
          return WEATHER_RESULT;
        },
      });
      const agent = new Agent({ name: 'Weather', instructions: 'Answer with the tool.', model, tools: [getWeather] });
      const result = await runner(backend).run(agent, TOOL_PROMPT, { maxTurns: 3 });
      assert.equal(calls.length, 1, JSON.stringify(result.newItems.map((i) => i.type)));
      assert.equal(typeof calls[0], 'string');
      assert.deepEqual(
        result.newItems.map((i) => i.type),
        ['tool_call_item', 'tool_call_output_item', 'message_output_item'],
      );
      assert.ok(result.finalOutput.length > 0);
    });

    test('structured output: outputType (zod)', async () => {
      const agent = new Agent({ name: 'Cities', instructions: 'Describe the city.', model, outputType: City });
      const result = await runner(backend).run(agent, 'Describe Lisbon.');
      assertMatchesSchema(result.finalOutput, CITY_SCHEMA);
    });

    test('reasoning: modelSettings.reasoning', async () => {
      const agent = new Agent({
        name: 'Thinker',
        instructions: 'Think, then answer.',
        model,
        modelSettings: { reasoning: { effort: 'low', summary: 'auto' }, maxTokens: 4096 },
      });
      const result = await runner(backend).run(agent, 'Think, then answer.');
      assert.equal(result.finalOutput, 'chunk0 chunk1 chunk2');
      const reasoning = result.newItems.find((i) => i.type === 'reasoning_item');
      assert.ok(reasoning, JSON.stringify(result.newItems.map((i) => i.type)));
      const summary = reasoning.rawItem.content ?? reasoning.rawItem.summary ?? [];
      assert.ok(summary.some((part) => part.text?.length > 0), JSON.stringify(reasoning.rawItem));
    });
  });
}
