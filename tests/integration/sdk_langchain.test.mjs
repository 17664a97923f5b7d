// The client matrix (issue 12, item 8), LangChain (`@langchain/openai` 1.x) with
// `useResponsesApi: true` and `configuration: {baseURL}` against OpenAI-format, Anthropic,
// Gemini and Bedrock backends of sluice-mock, one loop over the backends with no
// provider-specific branch in the client code: invoke, stream, a bindTools round trip,
// withStructuredOutput (zod) and reasoning. LangChain sends `reasoning` only for model names it
// knows to reason (o*, gpt-5…), so the test passes it through `modelKwargs`.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { startProviderGateway } from '../lib/providers.mjs';
import { CITY_SCHEMA, MATRIX_BACKENDS, TOOL_PROMPT, WEATHER_RESULT, assertMatchesSchema, modelFor } from '../lib/sdk_matrix.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

const chat = (backend, extra = {}) =>
  new ChatOpenAI({
    model: modelFor(backend),
    apiKey: 'sk-client',
    useResponsesApi: true,
    maxRetries: 0,
    timeout: 10_000,
    configuration: { baseURL: `${gw.url}/${backend}/v1`, defaultHeaders: { 'x-mock-chunks': '3' } },
    ...extra,
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
  describe(`@langchain/openai (useResponsesApi) -> ${backend}`, () => {
    test('invoke', async () => {
      const message = await chat(backend).invoke([
        ['system', 'Be brief.'],
        ['human', 'Say something.'],
      ]);
      assert.equal(message.text, 'chunk0 chunk1 chunk2');
      assert.ok(message.usage_metadata.input_tokens > 0);
    });

    test('stream', async () => {
      let text = '';
      let final;
      for await (const chunk of await chat(backend).stream('Say something.')) {
        text += chunk.text;
        final = final ? final.concat(chunk) : chunk;
      }
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(final.text, 'chunk0 chunk1 chunk2');
      assert.ok(final.usage_metadata?.output_tokens > 0, JSON.stringify(final.usage_metadata));
    });

    test('bindTools round trip', async () => {
      const calls = [];
      const getWeather = tool(
        async ({ city }) => {
          calls.push(city);
          return WEATHER_RESULT;
        },
        { name: 'get_weather', description: 'Weather for a city', schema: z.object({ city: z.string() }) },
      );
      const model = chat(backend).bindTools([getWeather]);
      const messages = [new HumanMessage(TOOL_PROMPT)];
      const first = await model.invoke(messages);
      assert.equal(first.tool_calls?.length, 1, JSON.stringify(first.content));
      assert.equal(first.tool_calls[0].name, 'get_weather');
      messages.push(first, await getWeather.invoke(first.tool_calls[0]));
      assert.equal(calls.length, 1);
      const second = await model.invoke(messages);
      assert.equal(second.tool_calls?.length ?? 0, 0);
      assert.ok(second.text.length > 0);
    });

    test('withStructuredOutput (zod)', async () => {
      const city = await chat(backend).withStructuredOutput(City, { name: 'city' }).invoke('Describe Lisbon.');
      assertMatchesSchema(city, CITY_SCHEMA);
    });

    test('reasoning: {effort, summary}', async () => {
      const message = await chat(backend, { modelKwargs: { reasoning: { effort: 'low', summary: 'auto' } }, maxTokens: 4096 }).invoke(
        'Think, then answer.',
      );
      assert.equal(message.text, 'chunk0 chunk1 chunk2');
      const reasoning = message.contentBlocks.filter((b) => b.type === 'reasoning');
      assert.ok(reasoning.length > 0 && reasoning.every((b) => b.reasoning.length > 0), JSON.stringify(message.contentBlocks));
    });
  });
}
