// Integration: the cost of AI responses (src/pricing) in the access log's cost_usd and told to
// the client (policy/cost_report: x-sluice-cost-usd, a stream's usage sluice_cost_usd), through
// the real `sluice` and sluice-mock. The mock's usage is deterministic: prompt_tokens =
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

// The SSE events of a stream body, parsed ([DONE] and comments left out).
const events = (text) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)));

const anthropicHeaders = { 'anthropic-version': '2023-06-01', 'x-mock-chunks': '7' };
const message = (model, tokens, extra = {}) =>
  JSON.stringify({ model, max_tokens: 50, messages: [{ role: 'user', content: 'x'.repeat(tokens * 4) }], ...extra });

describe('x-sluice-cost-usd: the cost told to the client', () => {
  // Every case: 100 prompt tokens x 2.5 + 7 completion tokens x 10 = 320 micro-USD.
  test('complete replies carry the header, native and translated, OpenAI and Anthropic clients', async () => {
    const cases = [
      ['/openai/v1/chat/completions?r=native', chat('priced-gpt', 100)],
      ['/claude/v1/chat/completions?r=translated', chat('priced-gpt', 100)],
      ['/openai/v1/messages?r=translated', message('priced-gpt', 100)],
    ];
    for (const [path, body] of cases) {
      const res = await post(path, body, anthropicHeaders);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('x-sluice-cost-usd'), '0.000320', path);
      const reply = await res.json();
      assert.equal(reply.usage.sluice_cost_usd, undefined, path);
      const line = await gw.waitForAccessLog((l) => l.path === path);
      assert.equal(line.cost_usd, '0.000320', path);
    }
  });

  test('a native Anthropic reply with cached input: the header has the same cost as the access log', async () => {
    const res = await post('/claude/v1/messages?r=cached', message('priced-claude', 50), {
      ...anthropicHeaders,
      'x-mock-cache-read': '1000',
      'x-mock-chunks': '4',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-cost-usd'), '0.000510');
    const body = await res.json();
    assert.equal(body.usage.cache_read_input_tokens, 1000, 'the body is the provider\'s, unchanged');
  });

  test('an OpenAI stream with include_usage: the usage chunk carries sluice_cost_usd', async () => {
    for (const route of ['openai', 'claude']) {
      const res = await post(
        `/${route}/v1/chat/completions?r=stream-usage`,
        chat('priced-gpt', 100, { stream: true, stream_options: { include_usage: true } }),
        { 'x-mock-chunks': '7' },
      );
      assert.equal(res.status, 200, route);
      assert.equal(res.headers.get('x-sluice-cost-usd'), null, 'a stream has no cost header');
      const chunks = events(await res.text());
      const withUsage = chunks.filter((c) => c.usage);
      assert.equal(withUsage.length, 1, route);
      assert.equal(withUsage[0].usage.sluice_cost_usd, 0.00032, route);
      assert.equal(withUsage[0].usage.prompt_tokens, 100, route);
      assert.equal(chunks.filter((c) => JSON.stringify(c).includes('sluice_cost_usd')).length, 1, route);
    }
  });

  test('an OpenAI stream without include_usage is the stream the client asked for: no usage, no cost', async () => {
    const res = await post('/openai/v1/chat/completions?r=stream-plain', chat('priced-gpt', 100, { stream: true }), {
      'x-mock-chunks': '7',
    });
    const text = await res.text();
    assert.equal(text.includes('sluice_cost_usd'), false);
    assert.equal(text.includes('"usage"'), false, text);
    const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?r=stream-plain');
    assert.equal(line.cost_usd, '0.000320', 'still priced for the access log');
  });

  test('an Anthropic stream: message_delta usage carries sluice_cost_usd, native and translated', async () => {
    for (const route of ['claude', 'openai']) {
      const res = await post(`/${route}/v1/messages?r=stream`, message('priced-gpt', 100, { stream: true }),
        anthropicHeaders);
      assert.equal(res.status, 200, route);
      const all = events(await res.text());
      const delta = all.find((e) => e.type === 'message_delta');
      assert.equal(delta.usage.sluice_cost_usd, 0.00032, route);
      assert.equal(delta.usage.output_tokens, 7, route);
      const start = all.find((e) => e.type === 'message_start');
      assert.equal(start.message.usage.sluice_cost_usd, undefined, route);
    }
  });

  test('embeddings carry the header', async () => {
    const res = await post('/openai/v1/embeddings?r=embed', JSON.stringify({ model: 'cheap', input: 'x'.repeat(400) }));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.usage.prompt_tokens, 100);
    // 100 x 0.15 = 15 micro-USD.
    assert.equal(res.headers.get('x-sluice-cost-usd'), '0.000015');
  });

  test('no header for a model without a price, nor for an error', async () => {
    const unknown = await post('/openai/v1/chat/completions?r=unknown', chat('nobody-prices-this', 10));
    assert.equal(unknown.status, 200);
    assert.equal(unknown.headers.get('x-sluice-cost-usd'), null);
    await unknown.json();
    const failed = await post('/openai/v1/chat/completions?r=error', chat('priced-gpt', 10), { 'x-mock-status': '500' });
    assert.equal(failed.status, 500);
    assert.equal(failed.headers.get('x-sluice-cost-usd'), null);
    await failed.text();
  });
});

describe('pricing.reportCost: false', () => {
  let quiet;
  before(async () => {
    quiet = await startSluice({
      config:
        aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-test}}', mock.port) +
        routeYaml({ name: 'p', rules: prefixRule('openai', 'openai') }),
      gatewayExtra: `  pricing:
    reportCost: false
    models:
      priced-gpt: {input: "2.5", output: "10"}
`,
    });
  });
  after(async () => {
    await quiet?.stop();
  });

  test('the client is told nothing; the access log still has the cost', async () => {
    const res = await fetch(`${quiet.url}/openai/v1/chat/completions?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-chunks': '7' },
      body: chat('priced-gpt', 100),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-cost-usd'), null);
    await res.json();
    const stream = await fetch(`${quiet.url}/openai/v1/chat/completions?q=2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-chunks': '7' },
      body: chat('priced-gpt', 100, { stream: true, stream_options: { include_usage: true } }),
    });
    assert.equal((await stream.text()).includes('sluice_cost_usd'), false);
    const line = await quiet.waitForAccessLog((l) => l.path === '/openai/v1/chat/completions?q=1');
    assert.equal(line.cost_usd, '0.000320');
  });
});
