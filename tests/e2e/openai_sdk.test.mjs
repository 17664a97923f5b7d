// End-to-end: the official `openai` npm SDK talking to the real `sluice` binary, which proxies to
// `sluice-mock`. Proves that an unmodified OpenAI client works through the gateway: chat
// (plain and streamed, unbuffered), embeddings (the SDK's default base64 and explicit float),
// model listing, credential handling (gateway key injection and passthrough), model override,
// and errors surfacing as the SDK's typed exceptions.
// Run: SLUICE_BIN_DIR=build/bin/ node --test tests/e2e/openai_sdk.test.mjs
// (needs `npm ci` in tests/ for the `openai` package).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { aiBackendYaml, freePort, routeYaml, startMock, startSluice } from '../lib/harness.mjs';

const GATEWAY_KEY = 'sk-gateway-key';
const CLIENT_KEY = 'sk-client-key';

let mock;
let sluice;
let deadPort;

// Local helper: a YAML rule routing `prefix` to `backend`, optionally rewriting the prefix to /v1.
function rule({ name, prefix, backend, rewriteTo }) {
  const filters = rewriteTo
    ? `    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: ${rewriteTo}}}
`
    : '';
  return `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: ${prefix}}}]
${filters}    backendRefs: [{group: sluice.dev, kind: Backend, name: ${backend}}]
`;
}

// A client with no retries (fast, deterministic failures) against a gateway path prefix.
function client(prefix = '/v1', options = {}) {
  return new OpenAI({ baseURL: `${sluice.url}${prefix}`, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 10_000, ...options });
}

const messages = [{ role: 'user', content: 'hello gateway' }];

before(async () => {
  mock = await startMock();
  deadPort = await freePort(); // nothing listens there
  const config = [
    aiBackendYaml({ name: 'main', port: mock.port, auth: `{kind: Inline, inline: ${GATEWAY_KEY}}` }),
    aiBackendYaml({ name: 'passthrough', port: mock.port, auth: '{kind: Passthrough}', llm: '    passthrough: {apis: [models]}\n' }),
    aiBackendYaml({ name: 'forced', port: mock.port, auth: `{kind: Inline, inline: ${GATEWAY_KEY}}`, model: 'forced-model' }),
    aiBackendYaml({ name: 'dead', port: deadPort, auth: `{kind: Inline, inline: ${GATEWAY_KEY}}` }),
    routeYaml({
      name: 'llm',
      rules:
        rule({ name: 'openai-api', prefix: '/v1', backend: 'main' }) +
        rule({ name: 'passthrough', prefix: '/pt', backend: 'passthrough', rewriteTo: '/v1' }) +
        rule({ name: 'forced', prefix: '/forced', backend: 'forced', rewriteTo: '/v1' }) +
        rule({ name: 'dead', prefix: '/dead', backend: 'dead', rewriteTo: '/v1' }),
    }),
  ].join('---\n');
  sluice = await startSluice({ config });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

describe('chat completions', () => {
  test('non-streaming: content, finish_reason, usage; the gateway key replaces the client key', async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: 'mock-gpt', messages })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'mock-gpt');
    assert.equal(data.choices.length, 1);
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3');
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.ok(data.usage, 'usage present');
    assert.equal(data.usage.completion_tokens, 4);
    assert.ok(data.usage.prompt_tokens >= 1);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.equal(response.headers.get('x-mock-authorization'), `Bearer ${GATEWAY_KEY}`);
    assert.equal(response.headers.get('x-mock-path'), '/v1/chat/completions');
    assert.equal(response.headers.get('x-mock-request-model'), 'mock-gpt');
  });

  test('streaming with include_usage: deltas add up to the content, last chunk has usage', async () => {
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'mock-gpt', messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(response.headers.get('x-mock-authorization'), `Bearer ${GATEWAY_KEY}`);
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk); // ends normally on [DONE]
    assert.ok(chunks.length >= 7, `got ${chunks.length} chunks`);
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, 'chunk0 chunk1 chunk2 chunk3');
    const finish = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
    assert.deepEqual(finish, ['stop']);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage, 'final chunk carries usage');
    assert.equal(last.usage.completion_tokens, 4);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the whole stream');
  });

  test('streaming is not buffered: the first delta arrives long before the end', async () => {
    const started = performance.now();
    const stream = await client().chat.completions.create(
      { model: 'mock-gpt', messages, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-mock-chunk-delay-ms': '150', 'x-mock-chunks': '6' } },
    );
    let firstDeltaAt;
    let content = '';
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content;
      if (piece && firstDeltaAt === undefined) firstDeltaAt = performance.now();
      content += piece ?? '';
    }
    const endedAt = performance.now();
    assert.equal(content, 'chunk0 chunk1 chunk2 chunk3 chunk4 chunk5');
    assert.ok(firstDeltaAt !== undefined, 'saw a content delta');
    // 10 events 150 ms apart: ~1.35 s in total, the first content ~150 ms in.
    assert.ok(endedAt - started >= 1000, `stream took ${Math.round(endedAt - started)} ms`);
    assert.ok(
      firstDeltaAt < endedAt - 400,
      `first delta at +${Math.round(firstDeltaAt - started)} ms, end at +${Math.round(endedAt - started)} ms`,
    );
  });
});

describe('embeddings', () => {
  const input = ['the quick brown fox', 'jumps over the lazy dog'];

  // What the mock itself answers for `input` in float format, bypassing the gateway.
  async function directFloats(extra = {}) {
    const res = await fetch(`${mock.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` },
      body: JSON.stringify({ model: 'mock-embed', input, encoding_format: 'float', ...extra }),
    });
    assert.equal(res.status, 200);
    return (await res.json()).data.map((d) => d.embedding);
  }

  function assertSameVectors(actual, expected, dims) {
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < expected.length; ++i) {
      assert.equal(actual[i].length, dims, `vector ${i} dimension`);
      assert.ok(actual[i].some((v) => v !== 0), `vector ${i} is not all zeros`);
      for (let j = 0; j < dims; ++j) {
        assert.equal(typeof actual[i][j], 'number');
        // The mock's values are float32; the float decimal round-trips to the same float32.
        assert.equal(Math.fround(actual[i][j]), Math.fround(expected[i][j]), `vector ${i}[${j}]`);
      }
    }
  }

  test('SDK default (base64 on the wire, decoded by the SDK) matches the mock\'s float values', async () => {
    const { data, response } = await client().embeddings.create({ model: 'mock-embed', input }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-mock-authorization'), `Bearer ${GATEWAY_KEY}`);
    assert.equal(data.object, 'list');
    assert.equal(data.model, 'mock-embed');
    assert.deepEqual(data.data.map((d) => d.index), [0, 1]);
    assertSameVectors(data.data.map((d) => d.embedding), await directFloats(), 8);
    assert.ok(data.usage.prompt_tokens >= 2);
    // On the wire (before the SDK decodes it) the gateway relayed base64 strings.
    const raw = await (await client().embeddings.create({ model: 'mock-embed', input }).asResponse()).json();
    assert.equal(typeof raw.data[0].embedding, 'string');
    assert.equal(Buffer.from(raw.data[0].embedding, 'base64').length, 8 * 4);
  });

  test('SDK default with dimensions', async () => {
    const data = await client().embeddings.create({ model: 'mock-embed', input, dimensions: 32 });
    assertSameVectors(data.data.map((d) => d.embedding), await directFloats({ dimensions: 32 }), 32);
  });

  test('explicit encoding_format float', async () => {
    const data = await client().embeddings.create({ model: 'mock-embed', input, encoding_format: 'float' });
    assertSameVectors(data.data.map((d) => d.embedding), await directFloats(), 8);
  });
});

test('models.list passes through to the mock when the Backend allows the models API', async () => {
  const ids = [];
  for await (const model of client('/pt').models.list()) ids.push(model.id);
  assert.deepEqual(ids.sort(), ['mock-embed', 'mock-gpt']);
});

test('models.list is answered from the config otherwise: the models the route\'s backends serve', async () => {
  const ids = [];
  for await (const model of client('/forced').models.list()) ids.push(model.id);
  assert.deepEqual(ids, ['forced-model']);
});

test('passthrough auth: the client key reaches the mock unchanged', async () => {
  const { data, response } = await client('/pt')
    .chat.completions.create({ model: 'mock-gpt', messages })
    .withResponse();
  assert.equal(data.choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3');
  assert.equal(response.headers.get('x-mock-authorization'), `Bearer ${CLIENT_KEY}`);
  assert.equal(response.headers.get('x-mock-path'), '/v1/chat/completions');
});

test('model override: the backend model replaces the requested one', async () => {
  const { data, response } = await client('/forced')
    .chat.completions.create({ model: 'mock-gpt', messages })
    .withResponse();
  assert.equal(data.model, 'forced-model');
  assert.equal(response.headers.get('x-mock-request-model'), 'forced-model');
  assert.equal(response.headers.get('x-mock-authorization'), `Bearer ${GATEWAY_KEY}`);
});

describe('errors through the SDK', () => {
  test('an upstream 429 surfaces as RateLimitError', async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'mock-gpt', messages }, { headers: { 'x-mock-status': '429' } }),
      (err) => {
        assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 429);
        assert.equal(err.type, 'rate_limit_error');
        assert.equal(err.headers.get('retry-after'), '1');
        return true;
      },
    );
  });

  test('a streaming request answered 429 also throws RateLimitError', async () => {
    await assert.rejects(
      client().chat.completions.create(
        { model: 'mock-gpt', messages, stream: true },
        { headers: { 'x-mock-status': '429' } },
      ),
      (err) => err instanceof OpenAI.RateLimitError && err.status === 429,
    );
  });

  test('an unreachable backend: 502 InternalServerError naming the backend', async () => {
    await assert.rejects(client('/dead').chat.completions.create({ model: 'mock-gpt', messages }), (err) => {
      assert.ok(err instanceof OpenAI.InternalServerError, `got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 502);
      assert.equal(err.type, 'server_error');
      assert.equal(err.code, 'upstream_unavailable');
      assert.match(err.message, /backend dead\b/);
      return true;
    });
  });
});
