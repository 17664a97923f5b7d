// Integration: the policy pipeline through the real `sluice` and sluice-mock.
// - Usage capture: native OpenAI-format answers are read as they pass, so the access log has
//   token counts, finish reason and the answering model for plain relays too, streams included;
//   a stream whose client did not ask for the usage chunk gets none, though Sluice asked the
//   provider for it. Gateway spec.accessLog.captureUsage: false makes it a pure relay again.
// - Providers that cannot serve the API are skipped rather than failed on, and every answer
//   after a provider was tried names it (x-sluice-provider / x-sluice-attempts).
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chatBody, routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { parseSse } from '../lib/providers.mjs';

let mock;
before(async () => {
  mock = await startMock();
});
after(async () => {
  await mock?.stop();
});

function backend(name, groups) {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    priorityGroups:
${groups
  .map(
    (g) =>
      `    - providers:\n` +
      g
        .map(
          ([provider, kind, extra = '']) => `      - name: ${provider}
        ${kind}: {authToken: {kind: Inline, inline: sk-test}${extra}}
        host: 127.0.0.1
        port: ${mock.port}
`,
        )
        .join(''),
  )
  .join('')}`;
}

const config = () =>
  [
    backend('native', [[['gpt', 'openai']]]),
    backend('mixed', [[['claude', 'anthropic', ', model: claude-test']], [['gpt', 'openai']]]),
    backend('claude-only', [[['claude', 'anthropic']]]),
    routeYaml({
      name: 'p',
      rules: `  - matches: [{path: {type: PathPrefix, value: /native}}]
    backendRefs: [{name: native}]
  - matches: [{path: {type: PathPrefix, value: /mixed}}]
    backendRefs: [{name: mixed}]
  - matches: [{path: {type: PathPrefix, value: /claude}}]
    backendRefs: [{name: claude-only}]
`,
    }),
  ].join('---\n');

const post = (gw, path, body, headers = {}) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('usage capture (default on)', () => {
  let gw;
  before(async () => {
    gw = await startSluice({ config: config() });
  });
  after(async () => {
    await gw?.stop();
  });

  test('a native chat answer logs its tokens, finish reason and answering model', async () => {
    const res = await post(gw, '/native/v1/chat/completions', chatBody(), { 'x-request-id': 'u-plain' });
    assert.equal(res.status, 200);
    const body = await res.json();
    const line = await gw.waitForAccessLog((l) => l.path === '/native/v1/chat/completions' && l.prompt_tokens !== undefined);
    assert.equal(line.prompt_tokens, body.usage.prompt_tokens);
    assert.equal(line.completion_tokens, body.usage.completion_tokens);
    assert.equal(line.finish_reason, body.choices[0].finish_reason);
    assert.equal(line.response_model, body.model);
  });

  test('a native stream without include_usage: the client gets no usage chunk, the log has the tokens', async () => {
    const res = await post(gw, '/native/v1/chat/completions?u=stream', chatBody({ stream: true }));
    assert.equal(res.status, 200);
    const text = await res.text();
    const events = parseSse(text);
    assert.equal(events.at(-1).data, '[DONE]');
    const chunks = events.filter((e) => e.data !== '[DONE]').map((e) => e.data);
    assert.ok(chunks.length >= 2);
    for (const chunk of chunks) {
      assert.ok(chunk.choices.length > 0, `no usage-only chunk reaches the client: ${JSON.stringify(chunk)}`);
      assert.equal(chunk.usage, undefined, 'chunks carry no usage field the client did not ask for');
    }
    const line = await gw.waitForAccessLog((l) => l.path === '/native/v1/chat/completions?u=stream');
    assert.ok(line.prompt_tokens > 0 && line.completion_tokens > 0, JSON.stringify(line));
    assert.equal(line.finish_reason, chunks.at(-1).choices[0].finish_reason);
  });

  test('a native stream with include_usage: the client gets its usage chunk, the log the same counts', async () => {
    const res = await post(
      gw,
      '/native/v1/chat/completions?u=asked',
      chatBody({ stream: true, stream_options: { include_usage: true } }),
    );
    const events = parseSse(await res.text()).filter((e) => e.data !== '[DONE]');
    const usage = events.map((e) => e.data).find((c) => c.usage && c.choices.length === 0);
    assert.ok(usage, 'the usage chunk the client asked for is there');
    const line = await gw.waitForAccessLog((l) => l.path === '/native/v1/chat/completions?u=asked');
    assert.equal(line.prompt_tokens, usage.usage.prompt_tokens);
    assert.equal(line.completion_tokens, usage.usage.completion_tokens);
  });

  test('native embeddings log their prompt tokens', async () => {
    const res = await post(gw, '/native/v1/embeddings', JSON.stringify({ model: 'emb', input: 'hello there' }));
    assert.equal(res.status, 200);
    const body = await res.json();
    const line = await gw.waitForAccessLog((l) => l.path === '/native/v1/embeddings');
    assert.equal(line.prompt_tokens, body.usage.prompt_tokens);
  });

  test('a native Anthropic Messages answer logs its tokens, stop reason and model, streams too', async () => {
    const message = (extra = {}) =>
      JSON.stringify({ model: 'claude-x', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }], ...extra });
    const res = await post(gw, '/claude/v1/messages', message(), { 'anthropic-version': '2023-06-01' });
    assert.equal(res.status, 200);
    const body = await res.json();
    const line = await gw.waitForAccessLog((l) => l.path === '/claude/v1/messages');
    assert.equal(line.prompt_tokens, body.usage.input_tokens);
    assert.equal(line.completion_tokens, body.usage.output_tokens);
    assert.equal(line.finish_reason, body.stop_reason);
    assert.equal(line.response_model, body.model);

    const streamed = await post(gw, '/claude/v1/messages?s=1', message({ stream: true }), {
      'anthropic-version': '2023-06-01',
    });
    const events = parseSse(await streamed.text());
    const delta = events.find((e) => e.event === 'message_delta');
    assert.ok(delta, 'the stream reached the client unchanged');
    const streamLine = await gw.waitForAccessLog((l) => l.path === '/claude/v1/messages?s=1');
    assert.equal(streamLine.completion_tokens, delta.data.usage.output_tokens);
    assert.equal(streamLine.finish_reason, delta.data.delta.stop_reason);
  });

  test('embeddings skip a priority group that cannot serve them instead of failing on it', async () => {
    const res = await post(gw, '/mixed/v1/embeddings', JSON.stringify({ model: 'emb', input: 'x' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-provider'), 'gpt');
    assert.equal(res.headers.get('x-sluice-attempts'), '1');
  });

  test('embeddings on a Backend none of whose providers can serve them: a 400 naming why', async () => {
    const res = await post(gw, '/claude/v1/embeddings', JSON.stringify({ model: 'emb', input: 'x' }));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'unsupported_api');
  });

  test('an error the provider attempt produced itself names the provider and the attempt', async () => {
    // A translated provider needs a model; this request has none.
    const res = await post(gw, '/claude/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, 'missing_model');
    assert.equal(res.headers.get('x-sluice-provider'), 'claude');
    assert.equal(res.headers.get('x-sluice-attempts'), '1');
  });

  test('a provider that cannot convert the request lets the next group take it', async () => {
    // Group 0 (Anthropic) is pinned to a model; the request is one it cannot express: n > 1.
    const res = await post(gw, '/mixed/v1/chat/completions', chatBody({ n: 2 }));
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(res.headers.get('x-sluice-provider'), 'gpt');
    assert.equal(res.headers.get('x-sluice-attempts'), '2');
  });
});

describe('usage capture off', () => {
  let gw;
  before(async () => {
    gw = await startSluice({ config: config(), gatewayExtra: '  accessLog: {captureUsage: false}\n' });
  });
  after(async () => {
    await gw?.stop();
  });

  test('a native answer is relayed without being read', async () => {
    const res = await post(gw, '/native/v1/chat/completions?off=1', chatBody({ stream: true }));
    await res.text();
    const line = await gw.waitForAccessLog((l) => l.path === '/native/v1/chat/completions?off=1');
    assert.equal(line.prompt_tokens, undefined);
    assert.equal(line.finish_reason, undefined);
  });
});
