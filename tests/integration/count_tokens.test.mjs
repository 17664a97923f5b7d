// Counting tokens (issue 12): Anthropic's POST /v1/messages/count_tokens through the official
// @anthropic-ai/sdk — answered by an Anthropic provider natively (the count equals what the
// provider then reports for the same messages), and elsewhere with an estimate marked
// `x-sluice-token-count: estimate` — and Anthropic's other Messages APIs answering errors in
// Anthropic's shape, a provider's 529 reaching an Anthropic client as 529 overloaded_error on
// Vertex AI's Anthropic publisher too. Gemini's countTokens: gemini_client.test.mjs.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { CHAT_MODELS, startProviderGateway } from '../lib/providers.mjs';

let gw;
before(async () => {
  gw = await startProviderGateway();
});
after(async () => {
  await gw?.sluice.stop();
  await gw?.mock.stop();
});

const anthropic = (backend) => new Anthropic({ baseURL: `${gw.url}/${backend}`, apiKey: 'sk-client', maxRetries: 0 });

const request = {
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'x'.repeat(400) }],
};

test('an Anthropic provider counts natively: the same number its reply reports', async () => {
  const client = anthropic('anthropic');
  const counted = await client.messages.countTokens({ model: CHAT_MODELS.anthropic, ...request });
  const reply = await client.messages.create({ model: CHAT_MODELS.anthropic, max_tokens: 32, ...request });
  assert.equal(counted.input_tokens, reply.usage.input_tokens);
  const line = await gw.sluice.waitForAccessLog((l) => l.path === '/anthropic/v1/messages/count_tokens');
  assert.equal(line.upstream_path, '/v1/messages/count_tokens');
  assert.equal(line.status, 200);
});

test('elsewhere: an estimate of 4 bytes a token, marked as such', async () => {
  const { data, response } = await anthropic('openai')
    .messages.countTokens({ model: CHAT_MODELS.openai, ...request })
    .withResponse();
  assert.equal(response.headers.get('x-sluice-token-count'), 'estimate');
  // 9 bytes of system prompt and 400 of message: 409 bytes, 103 tokens.
  assert.equal(data.input_tokens, 103);
  const bad = await fetch(`${gw.url}/gemini/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'm' }),
  });
  assert.equal(bad.status, 400);
  const error = await bad.json();
  assert.equal(error.type, 'error');
  assert.equal(error.error.type, 'invalid_request_error');
});

test("Anthropic's other Messages APIs answer errors in Anthropic's shape", async () => {
  const res = await fetch(`${gw.url}/openai/v1/messages/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: '{}',
  });
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'not_found_error');
  const wrongMethod = await fetch(`${gw.url}/anthropic/v1/messages/count_tokens`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'POST');
  assert.equal((await wrongMethod.json()).type, 'error');
});

test('an Anthropic-format provider\'s 529 is 529 overloaded_error for an Anthropic client, Vertex AI Claude included', async () => {
  for (const backend of ['anthropic', 'vertex-claude']) {
    const client = new Anthropic({
      baseURL: `${gw.url}/${backend}`,
      apiKey: 'sk-client',
      maxRetries: 0,
      defaultHeaders: { 'x-mock-status': '529' },
    });
    await assert.rejects(
      client.messages.create({ model: CHAT_MODELS[backend], max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      (error) => {
        assert.equal(error.status, 529, backend);
        assert.equal(error.error?.error?.type, 'overloaded_error', backend);
        return true;
      },
    );
  }
});
