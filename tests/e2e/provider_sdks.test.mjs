// End-to-end: the official SDKs through the real `sluice` to every provider format of
// `sluice-mock`. The `openai` SDK reaches Anthropic, Gemini, Vertex AI (both publishers), Azure
// OpenAI and Bedrock without changing a line (chat, streaming chat with tools, embeddings with
// the SDK's default base64 encoding); the `@anthropic-ai/sdk` (1.x sends Authorization: Bearer,
// 0.x sends x-api-key) reaches an OpenAI-compatible backend and Gemini.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import AnthropicV0 from 'anthropic-sdk-0';
import { CHAT_MODELS, startProviderGateway } from '../lib/providers.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

const openai = (backend) =>
  new OpenAI({ baseURL: `${gw.url}/${backend}/v1`, apiKey: 'sk-client', maxRetries: 0, timeout: 10_000 });

const tools = [
  {
    type: 'function',
    function: {
      name: 'lookup',
      description: 'Look something up',
      parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query', 'limit'] },
    },
  },
];

for (const backend of ['anthropic', 'gemini', 'vertex', 'vertex-claude', 'azure', 'bedrock']) {
  describe(`openai SDK -> ${backend}`, () => {
    const model = CHAT_MODELS[backend];

    test('chat.completions.create', async () => {
      const completion = await openai(backend).chat.completions.create({
        model,
        messages: [
          { role: 'developer', content: 'Answer briefly.' },
          { role: 'user', content: 'Say hello' },
        ],
        max_completion_tokens: 64,
      });
      assert.equal(completion.object, 'chat.completion');
      assert.ok(completion.choices[0].message.content.length > 0);
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.ok(completion.usage.total_tokens > 0);
    });

    test('streaming chat with tools, then the tool result', async () => {
      const messages = [{ role: 'user', content: 'Use the tool to look up sluice' }];
      const stream = await openai(backend).chat.completions.create({ model, messages, tools, stream: true, stream_options: { include_usage: true } });
      const calls = [];
      let finish = null;
      let usage = null;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        for (const delta of choice.delta.tool_calls ?? []) {
          calls[delta.index] ??= { id: '', name: '', arguments: '' };
          if (delta.id) calls[delta.index].id = delta.id;
          if (delta.function?.name) calls[delta.index].name = delta.function.name;
          calls[delta.index].arguments += delta.function?.arguments ?? '';
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      assert.equal(finish, 'tool_calls');
      assert.equal(calls.length, 1);
      assert.equal(calls[0].name, 'lookup');
      const args = JSON.parse(calls[0].arguments);
      assert.equal(typeof args.query, 'string');
      assert.equal(typeof args.limit, 'number');
      assert.ok(usage?.prompt_tokens > 0);

      const followUp = await openai(backend).chat.completions.create({
        model,
        tools,
        messages: [
          ...messages,
          { role: 'assistant', content: null, tool_calls: [{ id: calls[0].id, type: 'function', function: { name: 'lookup', arguments: calls[0].arguments } }] },
          { role: 'tool', tool_call_id: calls[0].id, content: 'Sluice is an AI gateway.' },
        ],
      });
      assert.equal(followUp.choices[0].finish_reason, 'stop');
      assert.ok(followUp.choices[0].message.content.length > 0);
    });
  });
}

describe('openai SDK embeddings (default base64 encoding)', () => {
  const cases = { gemini: 'text-embedding-004', vertex: 'text-embedding-005', bedrock: 'amazon.titan-embed-text-v2:0', azure: 'text-embedding-3-small' };
  for (const [backend, model] of Object.entries(cases)) {
    test(backend, async () => {
      const client = openai(backend);
      const encoded = await client.embeddings.create({ model, input: 'vectors through the gateway' });
      const floats = await client.embeddings.create({ model, input: 'vectors through the gateway', encoding_format: 'float' });
      const vector = encoded.data[0].embedding;
      assert.ok(vector.length > 0, 'the SDK decoded a non-empty vector');
      assert.deepEqual(vector, floats.data[0].embedding.map((v) => Math.fround(v)));
    });
  }
});

describe('@anthropic-ai/sdk', () => {
  for (const backend of ['openai', 'gemini']) {
    for (const [label, make] of [
      ['1.x (Authorization: Bearer)', () => new Anthropic({ baseURL: `${gw.url}/${backend}`, apiKey: 'sk-client', maxRetries: 0 })],
      ['0.x (x-api-key)', () => new AnthropicV0({ baseURL: `${gw.url}/${backend}`, apiKey: 'sk-client', maxRetries: 0 })],
    ]) {
      test(`${label} -> ${backend}: messages.create and a streamed tool use`, async () => {
        const client = make();
        const model = CHAT_MODELS[backend];
        const message = await client.messages.create({ model, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] });
        assert.equal(message.type, 'message');
        assert.equal(message.content[0].type, 'text');
        assert.ok(message.content[0].text.length > 0);
        assert.equal(message.stop_reason, 'end_turn');

        const stream = client.messages.stream({
          model,
          max_tokens: 100,
          tools: [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } }],
          tool_choice: { type: 'any' },
          messages: [{ role: 'user', content: 'look up sluice' }],
        });
        const final = await stream.finalMessage();
        assert.equal(final.stop_reason, 'tool_use');
        const use = final.content.find((b) => b.type === 'tool_use');
        assert.equal(use.name, 'lookup');
        assert.equal(typeof use.input.query, 'string');
      });
    }
  }
  test('errors surface as the SDK typed errors', async () => {
    const client = new Anthropic({ baseURL: `${gw.url}/openai`, apiKey: 'sk-client', maxRetries: 0 });
    await assert.rejects(
      client.messages.create({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-mock-status': '429' } }),
      (error) => error instanceof Anthropic.RateLimitError,
    );
  });
});
