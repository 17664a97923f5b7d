// The client matrix (issue 12, item 8), the Vercel AI SDK (`ai` 7.x + `@ai-sdk/openai`): the
// default `openai(model)` language model, which speaks the Responses API, against
// OpenAI-format, Anthropic, Gemini and Bedrock backends of sluice-mock, one loop over the
// backends with no provider-specific branch in the client code: generateText, streamText, a
// tool() loop (stopWhen isStepCount(3)), structured output (Output.object with a zod schema,
// complete and streamed) and reasoning (the portable `reasoning` setting; the model ids are not
// OpenAI reasoning models, so `forceReasoning` tells the provider to send it).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, isStepCount, Output, streamText, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import { startProviderGateway } from '../lib/providers.mjs';
import { MATRIX_BACKENDS, WEATHER_RESULT, TOOL_PROMPT, assertMatchesSchema, CITY_SCHEMA, modelFor } from '../lib/sdk_matrix.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

const model = (backend) =>
  createOpenAI({ baseURL: `${gw.url}/${backend}/v1`, apiKey: 'sk-client', headers: { 'x-mock-chunks': '3' } })(modelFor(backend));

// CITY_SCHEMA in zod.
const City = z.object({
  city: z.string(),
  population: z.number().int(),
  coastal: z.boolean(),
  climate: z.enum(['temperate', 'tropical', 'arid']),
  landmarks: z.array(z.string()),
  location: z.object({ lat: z.number(), lon: z.number() }),
});

const reasoningOptions = { reasoning: 'low', providerOptions: { openai: { forceReasoning: true, reasoningSummary: 'auto' } } };

for (const backend of MATRIX_BACKENDS) {
  describe(`ai + @ai-sdk/openai (Responses) -> ${backend}`, () => {
    test('generateText', async () => {
      const result = await generateText({ model: model(backend), system: 'Be brief.', prompt: 'Say something.', maxRetries: 0 });
      assert.equal(result.text, 'chunk0 chunk1 chunk2');
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.usage.inputTokens > 0);
    });

    test('streamText', async () => {
      const result = streamText({ model: model(backend), prompt: 'Say something.', maxRetries: 0 });
      let text = '';
      for await (const delta of result.textStream) text += delta;
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(await result.finishReason, 'stop');
      assert.ok((await result.usage).outputTokens > 0);
    });

    test('a tool() loop: stopWhen isStepCount(3)', async () => {
      const calls = [];
      const result = await generateText({
        model: model(backend),
        prompt: TOOL_PROMPT,
        maxRetries: 0,
        tools: {
          get_weather: tool({
            description: 'Weather for a city',
            inputSchema: z.object({ city: z.string() }),
            execute: async ({ city }) => {
              calls.push(city);
              return WEATHER_RESULT;
            },
          }),
        },
        stopWhen: isStepCount(3),
      });
      assert.equal(calls.length, 1, JSON.stringify(result.steps.map((s) => s.content)));
      assert.equal(typeof calls[0], 'string');
      assert.equal(result.steps.length, 2);
      assert.equal(result.steps[0].finishReason, 'tool-calls');
      assert.equal(result.finishReason, 'stop');
      assert.ok(result.text.length > 0);
    });

    test('structured output: Output.object with a zod schema', async () => {
      const result = await generateText({ model: model(backend), prompt: 'Describe Lisbon.', output: Output.object({ schema: City }), maxRetries: 0 });
      assertMatchesSchema(result.output, CITY_SCHEMA);
      assert.deepEqual(City.parse(result.output), result.output);
    });

    test('structured output, streamed (partialOutputStream)', async () => {
      const result = streamText({ model: model(backend), prompt: 'Describe Lisbon.', output: Output.object({ schema: City }), maxRetries: 0 });
      let last;
      for await (const partial of result.partialOutputStream) last = partial;
      const output = await result.output;
      assertMatchesSchema(output, CITY_SCHEMA);
      assert.deepEqual(last, output);
    });

    test('reasoning: generateText and streamText', async () => {
      const result = await generateText({ model: model(backend), prompt: 'Think, then answer.', maxRetries: 0, ...reasoningOptions });
      assert.equal(result.text, 'chunk0 chunk1 chunk2');
      assert.ok(result.reasoningText?.length > 0, JSON.stringify(result.content));
      assert.equal(result.content[0].type, 'reasoning');

      const stream = streamText({ model: model(backend), prompt: 'Think, then answer.', maxRetries: 0, ...reasoningOptions });
      let reasoning = '';
      let text = '';
      for await (const part of stream.fullStream) {
        if (part.type === 'reasoning-delta') reasoning += part.text ?? part.textDelta ?? '';
        if (part.type === 'text-delta') text += part.text ?? part.textDelta ?? '';
      }
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(reasoning, result.reasoningText);
    });
  });
}
