// The client matrix (issue 12, item 8), `@google/genai`: generateContent and
// generateContentStream against OpenAI-format, Anthropic, Gemini and Bedrock backends of
// sluice-mock, one loop over the backends with no provider-specific branch in the client code:
// text, a stream, a function-calling round trip, structured output (responseMimeType
// application/json + responseJsonSchema), thinking (thinkingConfig {includeThoughts,
// thinkingBudget}) and a tool loop with thinking on (the mock checks the replayed thought
// signatures on Gemini).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI } from '@google/genai';
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
  new GoogleGenAI({ apiKey: 'sk-client', httpOptions: { baseUrl: `${gw.url}/${backend}`, headers: { 'x-mock-chunks': '3' }, timeout: 10_000 } });

const tools = [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city', parametersJsonSchema: WEATHER_PARAMETERS }] }];
const thinkingConfig = { includeThoughts: true, thinkingBudget: 1024 };
const answerText = (response) =>
  (response.candidates?.[0]?.content?.parts ?? [])
    .filter((p) => p.text !== undefined && !p.thought)
    .map((p) => p.text)
    .join('');
const thoughts = (response) => (response.candidates?.[0]?.content?.parts ?? []).filter((p) => p.thought);

for (const backend of MATRIX_BACKENDS) {
  const model = modelFor(backend);

  describe(`@google/genai -> ${backend}`, () => {
    test('text', async () => {
      const response = await client(backend).models.generateContent({
        model,
        contents: 'Say something.',
        config: { systemInstruction: 'Be brief.', maxOutputTokens: 256 },
      });
      assert.equal(response.text, 'chunk0 chunk1 chunk2');
      assert.equal(response.candidates[0].finishReason, 'STOP');
      assert.ok(response.usageMetadata.promptTokenCount > 0);
    });

    test('stream', async () => {
      const stream = await client(backend).models.generateContentStream({ model, contents: 'Say something.' });
      let text = '';
      let last;
      for await (const chunk of stream) {
        text += chunk.text ?? '';
        last = chunk;
      }
      assert.equal(text, 'chunk0 chunk1 chunk2');
      assert.equal(last.candidates[0].finishReason, 'STOP');
      assert.ok(last.usageMetadata.totalTokenCount > 0);
    });

    test('tool round trip: functionCall, then functionResponse', async () => {
      const genai = client(backend);
      const contents = [{ role: 'user', parts: [{ text: TOOL_PROMPT }] }];
      const first = await genai.models.generateContent({ model, contents, config: { tools } });
      const call = first.functionCalls?.[0];
      assert.ok(call, JSON.stringify(first.candidates));
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof call.args.city, 'string');
      contents.push(first.candidates[0].content);
      contents.push({ role: 'user', parts: [{ functionResponse: { id: call.id, name: call.name, response: { output: WEATHER_RESULT } } }] });
      const second = await genai.models.generateContent({ model, contents, config: { tools } });
      assert.equal(second.functionCalls, undefined);
      assert.ok(second.text.length > 0);
    });

    test('structured output: responseMimeType application/json + responseJsonSchema', async () => {
      const response = await client(backend).models.generateContent({
        model,
        contents: 'Describe Lisbon.',
        config: { responseMimeType: 'application/json', responseJsonSchema: CITY_SCHEMA },
      });
      assert.equal(response.candidates[0].finishReason, 'STOP');
      parseStructured(response.text);
    });

    test('structured output, streamed', async () => {
      const stream = await client(backend).models.generateContentStream({
        model,
        contents: 'Describe Lisbon.',
        config: { responseMimeType: 'application/json', responseJsonSchema: CITY_SCHEMA },
      });
      let text = '';
      for await (const chunk of stream) text += chunk.text ?? '';
      parseStructured(text);
    });

    test('thinking: thinkingConfig {includeThoughts, thinkingBudget} -> thought parts', async () => {
      const response = await client(backend).models.generateContent({
        model,
        contents: 'Think, then answer.',
        config: { thinkingConfig, maxOutputTokens: 4096 },
      });
      assert.equal(answerText(response), 'chunk0 chunk1 chunk2');
      const parts = thoughts(response);
      if (REASONING_TEXT[backend]) {
        assert.equal(parts.length, 1, JSON.stringify(response.candidates[0].content));
        assert.ok(parts[0].text.length > 0);
        assert.equal(response.candidates[0].content.parts[0].thought, true);
      } else {
        // No reasoning text from this provider (OpenAI chat): its reasoning token count.
        assert.equal(parts.length, 0);
        assert.ok(response.usageMetadata.thoughtsTokenCount > 0, JSON.stringify(response.usageMetadata));
      }

      const stream = await client(backend).models.generateContentStream({
        model,
        contents: 'Think, then answer.',
        config: { thinkingConfig, maxOutputTokens: 4096 },
      });
      let streamedThought = '';
      let streamedText = '';
      for await (const chunk of stream)
        for (const part of chunk.candidates?.[0]?.content?.parts ?? [])
          if (part.thought) streamedThought += part.text ?? '';
          else streamedText += part.text ?? '';
      assert.equal(streamedText, 'chunk0 chunk1 chunk2');
      assert.equal(streamedThought, parts.map((p) => p.text).join(''));
    });

    test('a tool loop with thinking on: the model turn replayed as returned', async () => {
      const genai = client(backend);
      const config = { tools, thinkingConfig, maxOutputTokens: 4096 };
      const contents = [{ role: 'user', parts: [{ text: TOOL_PROMPT }] }];
      const first = await genai.models.generateContent({ model, contents, config });
      const call = first.functionCalls?.[0];
      assert.ok(call, JSON.stringify(first.candidates));
      contents.push(first.candidates[0].content);
      contents.push({ role: 'user', parts: [{ functionResponse: { id: call.id, name: call.name, response: { output: WEATHER_RESULT } } }] });
      const second = await genai.models.generateContent({ model, contents, config });
      assert.equal(second.functionCalls, undefined, JSON.stringify(second.candidates));
      assert.equal(answerText(second), 'chunk0 chunk1 chunk2');
    });
  });
}
