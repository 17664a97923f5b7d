// Routing, upstream path precedence, credentials, header filters, keep-alive reuse and the
// access log, through the real sluice and sluice-mock binaries.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startMock, startSluice, chatBody } from '../lib/harness.mjs';

let mock;
let mock2;
let sluice;

before(async () => {
  mock = await startMock();
  mock2 = await startMock();
  sluice = await startSluice({
    config: `
apiVersion: v1
kind: Secret
metadata: {name: provider-key}
stringData: {apiKey: sk-from-secret, other: sk-other-key}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: default-path}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: provider-key}}}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openrouter-like}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-inline}, model: openai/gpt-4o-mini}
      host: 127.0.0.1
      port: ${mock.port}
      path: {prefix: /api/v1}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: full-path}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: provider-key, key: other}}}
      host: 127.0.0.1
      port: ${mock.port}
      path: {full: /deployments/x/chat/completions}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: passthrough}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Passthrough}}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: custom-header}
spec:
  type: AI
  ai:
    llm:
      ollama: {authToken: {kind: Inline, inline: raw-key}}
      host: 127.0.0.1
      port: ${mock.port}
      authHeader: {headerName: api-key}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: static-svc}
spec:
  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: ${mock2.port}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: rewrite-to-prefix
    matches: [{path: {type: PathPrefix, value: /openrouter}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1}}
    backendRefs: [{group: sluice.dev, kind: Backend, name: openrouter-like}]
  - name: rewrite-kept
    matches: [{path: {type: PathPrefix, value: /rewritten}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /custom/base}}
    backendRefs: [{name: default-path}]
  - name: full
    matches: [{path: {type: PathPrefix, value: /full}}]
    backendRefs: [{name: full-path}]
  - name: passthrough
    matches: [{path: {type: PathPrefix, value: /pt}}]
    backendRefs: [{name: passthrough}]
  - name: custom-header
    matches: [{path: {type: PathPrefix, value: /ollama}}]
    backendRefs: [{name: custom-header}]
  - name: filtered
    matches: [{path: {type: PathPrefix, value: /filtered}, headers: [{name: x-tenant, value: blue}]}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-set, value: set-value}]
        add: [{name: x-added, value: added-value}]
        remove: [x-secret-header]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: x-served-by, value: sluice}]
        remove: [x-mock-method]
    backendRefs: [{name: static-svc}]
  - name: exact-models
    matches: [{path: {type: Exact, value: /v1/models}, method: GET}]
    backendRefs: [{name: static-svc}]
  - name: default
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: default-path}]
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await mock2?.stop();
});

async function post(path, body = chatBody(), headers = {}) {
  const res = await fetch(sluice.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { res, text: await res.text() };
}

test('provider default path: /v1 + the API suffix, key from the Secret', async () => {
  const { res, text } = await post('/v1/chat/completions', chatBody(), { authorization: 'Bearer sk-client' });
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get('x-mock-path'), '/v1/chat/completions');
  assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-from-secret');
  assert.equal(res.headers.get('x-mock-host'), `127.0.0.1:${mock.port}`);
  assert.equal(JSON.parse(text).choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3');
});

test('backend path.prefix wins over the route rewrite (OpenRouter shape), model override applied', async () => {
  const { res, text } = await post('/openrouter/chat/completions', chatBody({ model: 'client-model' }));
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get('x-mock-path'), '/api/v1/chat/completions');
  assert.equal(res.headers.get('x-mock-request-model'), 'openai/gpt-4o-mini');
  assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-inline');
  const entry = await sluice.waitForAccessLog((e) => e.path === '/openrouter/chat/completions');
  assert.equal(entry.upstream_path, '/api/v1/chat/completions');
  assert.equal(entry.path_source, 'prefix');
  assert.equal(entry.model, 'openai/gpt-4o-mini');
  assert.equal(entry.route, 'llm/rewrite-to-prefix');
  assert.equal(entry.backend, 'openrouter-like');
});

test('a route rewrite is not overwritten when the backend sets no path', async () => {
  const { res, text } = await post('/rewritten/chat/completions?trace=1');
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get('x-mock-path'), '/custom/base/chat/completions?trace=1');
  const entry = await sluice.waitForAccessLog((e) => e.path === '/rewritten/chat/completions?trace=1');
  assert.equal(entry.path_source, 'rewrite');
});

test('backend path.full is used exactly, with the key from a non-default Secret key', async () => {
  const { res, text } = await post('/full/anything/chat/completions');
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get('x-mock-path'), '/deployments/x/chat/completions');
  assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-other-key');
});

test('Passthrough keeps the client Authorization; Inline replaces it', async () => {
  const pt = await post('/pt/v1/chat/completions', chatBody(), { authorization: 'Bearer sk-client-own' });
  assert.equal(pt.res.status, 200, pt.text);
  assert.equal(pt.res.headers.get('x-mock-authorization'), 'Bearer sk-client-own');
  const inline = await post('/openrouter/chat/completions', chatBody(), { authorization: 'Bearer sk-client-own' });
  assert.equal(inline.res.headers.get('x-mock-authorization'), 'Bearer sk-inline');
});

test('authHeader sends the bare key in a custom header and drops the client Authorization', async () => {
  const { res, text } = await post('/ollama/v1/chat/completions', chatBody(), { authorization: 'Bearer leak-me-not' });
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get('x-mock-api-key'), 'raw-key');
  assert.equal(res.headers.get('x-mock-authorization'), '');
});

test('header match, request and response header modifiers, static backend keeps the client path', async () => {
  const res = await fetch(sluice.url + '/filtered/echo?q=1', {
    headers: { 'x-tenant': 'blue', 'x-secret-header': 'hide', 'x-set': 'client-value' },
  });
  const echo = await res.json();
  assert.equal(res.status, 200);
  assert.equal(echo.target, '/filtered/echo?q=1');
  assert.equal(echo.headers['x-set'], 'set-value');
  assert.equal(echo.headers['x-added'], 'added-value');
  assert.equal(echo.headers['x-secret-header'], undefined);
  assert.equal(res.headers.get('x-served-by'), 'sluice');
  assert.equal(res.headers.get('x-mock-method'), null);
  const miss = await fetch(sluice.url + '/filtered/echo', { headers: { 'x-tenant': 'red' } });
  assert.equal(miss.status, 404);
  const body = await miss.json();
  assert.equal(body.error.code, 'route_not_found');
});

test('Exact + method match picks the static backend for GET /v1/models only', async () => {
  const res = await fetch(sluice.url + '/v1/models');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-mock-path'), '/v1/models');
  // The static backend is mock2: its connection ids are independent of mock's. Both answer
  // models, so tell them apart by the backend in the access log.
  const entry = await sluice.waitForAccessLog((e) => e.path === '/v1/models' && e.method === 'GET');
  assert.equal(entry.backend, 'static-svc');
  assert.equal(entry.path_source, 'client');
});

test('upstream keep-alive: sequential requests reuse one upstream connection', async () => {
  const ids = new Set();
  for (let i = 0; i < 5; i++) {
    const { res } = await post('/v1/chat/completions');
    ids.add(res.headers.get('x-mock-connection-id'));
  }
  assert.equal(ids.size, 1, `expected one upstream connection, saw ${[...ids]}`);
});

test('client keep-alive: several requests on one client connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set();
  for (let i = 0; i < 3; i++) {
    const localPort = await new Promise((resolve, reject) => {
      const req = http.request(sluice.url + '/v1/chat/completions', { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(req.socket.localPort));
      });
      req.on('error', reject);
      req.end(chatBody());
    });
    ports.add(localPort);
  }
  agent.destroy();
  assert.equal(ports.size, 1);
});

test('chunked request bodies are accepted', async () => {
  const status = await new Promise((resolve, reject) => {
    const req = http.request(sluice.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    const body = chatBody();
    req.write(body.slice(0, 10));
    req.write(body.slice(10));
    req.end();
  });
  assert.equal(status, 200);
});

test('streaming: each SSE event reaches the client before the upstream sends the last one', async () => {
  const started = Date.now();
  const res = await fetch(sluice.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '150', 'x-mock-chunks': '6' },
    body: chatBody({ stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  const decoder = new TextDecoder();
  let text = '';
  let firstContentAt = null;
  for await (const chunk of res.body) {
    text += decoder.decode(chunk, { stream: true });
    if (firstContentAt === null && text.includes('"chunk0"')) firstContentAt = Date.now();
  }
  const endedAt = Date.now();
  assert.ok(firstContentAt !== null, text);
  // 8 events 150 ms apart: the first content must arrive long before the stream ends.
  assert.ok(endedAt - firstContentAt >= 600, `first content ${firstContentAt - started} ms, end ${endedAt - started} ms`);
  const events = text.split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  const usage = JSON.parse(events.at(-2).slice('data: '.length));
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, 6);
  const entry = await sluice.waitForAccessLog((e) => e.stream === true);
  assert.equal(entry.status, 200);
});

test('metrics count requests by route, backend and status', async () => {
  await post('/v1/chat/completions');
  const text = await (await fetch(sluice.adminUrl + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('sluice_requests_total{route="llm/default",backend="default-path",code="200"}'));
  assert.ok(line, text);
  assert.ok(Number(line.split(' ').at(-1)) >= 1);
  assert.match(text, /sluice_request_duration_seconds_bucket\{route="llm\/default",backend="default-path",le="\+Inf"\} \d+/);
  assert.match(text, /sluice_requests_total\{route="",backend="",code="404"\} \d+/);
});

test('an in-cluster style backend on port 80 is reached in plaintext (tls mode Auto)', async (t) => {
  // Needs to bind port 80 (root, port free): skipped otherwise.
  const mock80 = await startMock([], { port: 80 }).catch(() => null);
  if (!mock80) {
    t.skip('cannot bind 127.0.0.1:80 here');
    return;
  }
  const gateway = await startSluice({
    config: `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: vllm}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Passthrough}}
      host: 127.0.0.1
      port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: local}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: vllm}]
`,
  });
  try {
    const res = await fetch(gateway.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-user' },
      body: chatBody(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-mock-host'), '127.0.0.1', 'no :80 in Host for the scheme default port');
    assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-user');
  } finally {
    await gateway.stop();
    await mock80.stop();
  }
});
