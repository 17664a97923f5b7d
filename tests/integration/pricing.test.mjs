// Integration: the cost of AI responses (src/pricing) in the access log's cost_usd, through the
// real `sluice` and sluice-mock. The mock's usage is deterministic: prompt_tokens =
// max(1, characters of the messages / 4), completion_tokens = the number of reply pieces
// (x-mock-chunks); Anthropic adds cache_read_input_tokens with x-mock-cache-read (docs/mock.md).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startMock, startSluice, routeYaml } from '../lib/harness.mjs';
import { aiBackend, prefixRule } from '../lib/config_yaml.mjs';

let mock;
let gw;
before(async () => {
  mock = await startMock();
  gw = await startSluice({
    config:
      aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-test}}', mock.port) +
      aiBackend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-test}}', mock.port) +
      routeYaml({ name: 'p', rules: prefixRule('openai', 'openai') + prefixRule('claude', 'claude') }),
    gatewayExtra: `  pricing:
    unknownModel: Free
    models:
      priced-gpt: {input: "2.5", output: "10", cachedInput: "1.25"}
      cheap: {input: "0.15"}
      priced-claude: {input: 3, output: 15, cachedInput: "0.3"}
`,
  });
});
after(async () => {
  await gw?.stop();
  await mock?.stop();
});

const post = (path, body, headers = {}) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

// A prompt of `tokens` tokens for the mock (4 characters each).
const chat = (model, tokens, extra = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(tokens * 4) }], ...extra });

describe('cost_usd in the access log', () => {
  test('a chat completion priced by a spec.pricing override', async () => {
    const res = await post('/openai/v1/chat/completions?c=plain', chat('priced-gpt', 100), { 'x-mock-chunks': '7' });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.usage.prompt_tokens, 100);
    assert.equal(body.usage.completion_tokens, 7);
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?c=plain');
    // 100 x 2.5 + 7 x 10 = 320 micro-USD.
    assert.equal(line.cost_usd, '0.000320', JSON.stringify(line));
  });

  test('a stream is priced from the usage Sluice asked the provider for', async () => {
    const res = await post('/openai/v1/chat/completions?c=stream', chat('priced-gpt', 100, { stream: true }), {
      'x-mock-chunks': '7',
    });
    assert.equal(res.status, 200);
    await res.text();
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?c=stream');
    assert.equal(line.prompt_tokens, 100);
    assert.equal(line.completion_tokens, 7);
    assert.equal(line.cost_usd, '0.000320', JSON.stringify(line));
  });

  test('a fraction of a micro-dollar is rounded up', async () => {
    const res = await post('/openai/v1/chat/completions?c=round', chat('cheap', 7), { 'x-mock-chunks': '3' });
    assert.equal(res.status, 200);
    await res.json();
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?c=round');
    // 7 x 0.15 = 1.05 micro-USD; output price 0.
    assert.equal(line.cost_usd, '0.000002', JSON.stringify(line));
  });

  test('a model of the built-in catalog', async () => {
    const res = await post('/openai/v1/chat/completions?c=catalog', chat('gpt-4o-mini', 100), { 'x-mock-chunks': '7' });
    assert.equal(res.status, 200);
    await res.json();
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?c=catalog');
    // gpt-4o-mini: 0.15 / 0.60 per 1M: 100 x 0.15 + 7 x 0.60 = 19.2, rounded up to 20 micro-USD.
    assert.equal(line.cost_usd, '0.000020', JSON.stringify(line));
  });

  test('cached prompt tokens at the cached price (Anthropic Messages, native)', async () => {
    const message = JSON.stringify({
      model: 'priced-claude',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'x'.repeat(200) }],
    });
    const res = await post('/claude/v1/messages?c=cached', message, {
      'anthropic-version': '2023-06-01',
      'x-mock-cache-read': '1000',
      'x-mock-chunks': '4',
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.usage.input_tokens, 50);
    assert.equal(body.usage.cache_read_input_tokens, 1000);
    assert.equal(body.usage.output_tokens, 4);
    const line = await gw.waitForAccessLog((l) => l.path === '/claude/v1/messages?c=cached');
    assert.equal(line.cached_tokens, 1000);
    // 50 x 3 + 1000 x 0.3 + 4 x 15 = 150 + 300 + 60 = 510 micro-USD.
    assert.equal(line.cost_usd, '0.000510', JSON.stringify(line));
  });

  test('an unknown model has no cost_usd', async () => {
    const res = await post('/openai/v1/chat/completions?c=unknown', chat('nobody-prices-this', 10));
    assert.equal(res.status, 200);
    await res.json();
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?c=unknown');
    assert.ok(line.prompt_tokens > 0);
    assert.equal(line.cost_usd, undefined, JSON.stringify(line));
  });

  test('an answer without usage has no cost_usd', async () => {
    const res = await post('/openai/v1/chat/completions?c=error', chat('priced-gpt', 10), { 'x-mock-status': '500' });
    assert.equal(res.status, 500);
    await res.text();
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?c=error');
    assert.equal(line.cost_usd, undefined, JSON.stringify(line));
  });
});
