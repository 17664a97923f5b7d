// Signed reasoning through the Responses API on translated providers (issue 12): a provider's
// thinking signature (Anthropic and Claude on Bedrock: the signed thinking block; Gemini: the
// thoughtSignature of a function call) reaches a Responses client in a reasoning item's
// encrypted_content, and comes back to the provider when the client sends the item again in
// `input` — what the OpenAI Agents SDK and the AI SDK do with store: false and include
// ["reasoning.encrypted_content"]. sluice-mock checks signatures as the providers do (a replayed
// block must carry the signature it issued for that text), so a dropped, edited or invented
// signature fails the next turn. Through the real binaries and the official openai SDK.
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

const client = (backend) => new OpenAI({ baseURL: `${gw.url}/${backend}/v1`, apiKey: 'sk-client', maxRetries: 0 });

const weather = {
  type: 'function',
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const PREFIX = 'sluice.v1.';
const unseal = (content) => JSON.parse(Buffer.from(content.slice(PREFIX.length), 'base64').toString());
const seal = (value) => PREFIX + Buffer.from(JSON.stringify(value)).toString('base64');

// A first turn that thinks and calls the tool, as the Agents SDK asks it.
async function firstTurn(backend, model = CHAT_MODELS[backend]) {
  const question = { role: 'user', content: 'Use the tool: what is the weather in Paris?' };
  const response = await client(backend).responses.create({
    model,
    input: [question],
    tools: [weather],
    reasoning: { effort: 'low' },
    include: ['reasoning.encrypted_content'],
    store: false,
  });
  const call = response.output.find((item) => item.type === 'function_call');
  assert.ok(call, JSON.stringify(response.output));
  return { question, response, call, model };
}

// The next turn: the earlier output items, edited by `edit`, then the tool's result.
function nextTurn(backend, first, edit = (items) => items) {
  return client(backend).responses.create({
    model: first.model,
    input: [
      first.question,
      ...edit(first.response.output),
      { type: 'function_call_output', call_id: first.call.call_id, output: '{"temperature": 21}' },
    ],
    tools: [weather],
    reasoning: { effort: 'low' },
    include: ['reasoning.encrypted_content'],
    store: false,
  });
}

for (const backend of ['anthropic', 'bedrock']) {
  describe(`Claude thinking signatures through Responses items (${backend})`, () => {
    test('the signed thinking block travels in encrypted_content and back', async () => {
      const first = await firstTurn(backend);
      const reasoning = first.response.output[0];
      assert.equal(reasoning.type, 'reasoning');
      assert.ok(reasoning.summary[0].text.length > 0);
      assert.ok(reasoning.encrypted_content.startsWith(PREFIX));
      const sealed = unseal(reasoning.encrypted_content);
      assert.equal(sealed.family, 'anthropic');
      assert.equal(sealed.block.type, 'thinking');
      assert.equal(sealed.block.thinking, reasoning.summary[0].text);
      assert.ok(sealed.block.signature.length > 0);

      // Sent back, the block opens the assistant turn: Claude keeps thinking in the tool loop
      // (the reply starts with a new reasoning item).
      const second = await nextTurn(backend, first);
      assert.equal(second.status, 'completed');
      assert.equal(second.output[0].type, 'reasoning');

      // Without it (a client that drops reasoning items), the tool loop goes on without thinking.
      const bare = await nextTurn(backend, first, (items) => items.filter((item) => item.type !== 'reasoning'));
      assert.equal(bare.status, 'completed');
      assert.notEqual(bare.output[0].type, 'reasoning');
    });

    test('an edited block reaches the provider, which refuses its signature', async () => {
      const first = await firstTurn(backend);
      const edited = (items) =>
        items.map((item) => {
          if (item.type !== 'reasoning') return item;
          const sealed = unseal(item.encrypted_content);
          sealed.block.thinking += ' (edited)';
          return { ...item, encrypted_content: seal(sealed) };
        });
      await assert.rejects(nextTurn(backend, first, edited), (error) => {
        assert.equal(error.status, 400);
        assert.match(error.message, /signature/);
        return true;
      });
    });

    test('encrypted_content Sluice did not write is dropped; an altered one is a 400 naming it', async () => {
      const first = await firstTurn(backend);
      const foreign = await nextTurn(backend, first, (items) =>
        items.map((item) => (item.type === 'reasoning' ? { ...item, encrypted_content: 'gAAAAABnOpenAI' } : item)),
      );
      assert.equal(foreign.status, 'completed');
      await assert.rejects(
        nextTurn(backend, first, (items) =>
          items.map((item) => (item.type === 'reasoning' ? { ...item, encrypted_content: `${PREFIX}garbage` } : item)),
        ),
        (error) => {
          assert.equal(error.status, 400);
          assert.equal(error.error.param, 'input[1].encrypted_content');
          return true;
        },
      );
    });
  });
}

for (const [backend, model] of [
  ['anthropic', 'claude-opus-4-6'],
  ['bedrock', 'anthropic.claude-opus-4-6-v1'],
]) {
  describe(`Claude 4.6 adaptive thinking through Responses items (${backend})`, () => {
    test('reasoning.effort is adaptive thinking with an effort, and its signed blocks round-trip', async () => {
      // sluice-mock checks the adaptive request (thinking {type: adaptive}) as the provider does,
      // and the signature of the block sent back.
      const first = await firstTurn(backend, model);
      assert.equal(first.response.output[0].type, 'reasoning');
      assert.equal(unseal(first.response.output[0].encrypted_content).family, 'anthropic');
      const second = await nextTurn(backend, first);
      assert.equal(second.status, 'completed');
      assert.equal(second.output[0].type, 'reasoning');
    });
  });
}

describe('Gemini thought signatures through Responses items', () => {
  test('the signature of a function call travels in a reasoning item and back to its functionCall', async () => {
    const first = await firstTurn('gemini');
    const index = first.response.output.findIndex((item) => item.type === 'function_call');
    const reasoning = first.response.output[index - 1];
    assert.equal(reasoning?.type, 'reasoning');
    const sealed = unseal(reasoning.encrypted_content);
    assert.equal(sealed.family, 'google');
    assert.equal(sealed.call_id, first.call.call_id);
    assert.ok(sealed.thought_signature.length > 0);

    const second = await nextTurn('gemini', first);
    assert.equal(second.status, 'completed');

    // The signature is what reaches Gemini: an edited one is refused by it.
    const edited = (items) =>
      items.map((item) =>
        item.type === 'reasoning'
          ? { ...item, encrypted_content: seal({ ...unseal(item.encrypted_content), thought_signature: 'AAAA' }) }
          : item,
      );
    await assert.rejects(nextTurn('gemini', first, edited), (error) => {
      assert.equal(error.status, 400);
      assert.match(error.message, /thought signature/i);
      return true;
    });
  });
});
