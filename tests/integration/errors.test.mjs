// Every error an API client can get from the gateway is an OpenAI-shaped JSON body with a
// fitting status: 404, 400 (with the JSON parse position), 413, 431, 502, 504, 500 for a
// missing Secret, and an SSE error event when the upstream dies mid-stream.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, startMock, startSluice, chatBody } from '../lib/harness.mjs';

let mock;
let sluice;
let closedPort;

function assertOpenAIError(body, { code, status, res }) {
  assert.equal(res.status, status, JSON.stringify(body));
  assert.match(res.headers.get('content-type'), /application\/json/);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof body.error.message, 'string');
  if (code) assert.equal(body.error.code, code);
}

before(async () => {
  mock = await startMock();
  closedPort = await freePort();
  sluice = await startSluice({
    limits: { maxRequestBodyBytes: '4Ki', maxRequestHeaderBytes: '2Ki', requestHeaderTimeout: '1s' },
    config: `
apiVersion: v1
kind: Secret
metadata: {name: present}
stringData: {apiKey: sk-present}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mock}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: present}}}
      host: 127.0.0.1
      port: ${mock.port}
  timeouts: {firstByte: 500ms}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: refused}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: present}}}
      host: 127.0.0.1
      port: ${closedPort}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: no-secret}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: missing-secret}}}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: refused
    matches: [{path: {type: PathPrefix, value: /refused}}]
    backendRefs: [{name: refused}]
  - name: no-secret
    matches: [{path: {type: PathPrefix, value: /nosecret}}]
    backendRefs: [{name: no-secret}]
  - name: main
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: mock}]
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

async function post(path, body, headers = {}) {
  const res = await fetch(sluice.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { res, body: JSON.parse(text) };
}

// Sends raw bytes, returns everything the server answers until it closes (or timeout).
function rawExchange(bytes, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(sluice.port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data, closed: false });
    }, timeoutMs);
    socket.on('data', (d) => (data += d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true });
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (data) resolve({ data, closed: true });
      else reject(e);
    });
    socket.write(bytes);
  });
}

test('no route: 404 naming the method and path', async () => {
  const res = await fetch(sluice.url + '/nowhere/chat/completions', { method: 'POST', body: '{}' });
  const body = await res.json();
  assertOpenAIError(body, { res, status: 404, code: 'route_not_found' });
  assert.match(body.error.message, /POST \/nowhere\/chat\/completions/);
});

test('malformed JSON: 400 with the parse position', async () => {
  const { res, body } = await post('/v1/chat/completions', '{"model": "x",\n "messages": [}');
  assertOpenAIError(body, { res, status: 400, code: 'invalid_json' });
  assert.match(body.error.message, /line 2, column \d+/);
  assert.match(body.error.message, /byte offset \d+/);
});

test('a JSON body that is not an object: 400', async () => {
  const { res, body } = await post('/v1/chat/completions', '[1,2]');
  assertOpenAIError(body, { res, status: 400, code: 'invalid_json' });
  assert.match(body.error.message, /must be a JSON object/);
});

test('body over the limit: 413 naming the limit', async () => {
  const { res, body } = await post('/v1/chat/completions', chatBody({ padding: 'x'.repeat(8000) }));
  assertOpenAIError(body, { res, status: 413, code: 'request_too_large' });
  assert.match(body.error.message, /4096 bytes/);
});

test('chunked body over the limit: 413', async () => {
  const chunk = 'x'.repeat(3000);
  const request =
    'POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
  const { data } = await rawExchange(request);
  assert.match(data, /^HTTP\/1\.1 413 /);
  assert.match(data, /request_too_large/);
});

test('headers over the limit: 431', async () => {
  const request = `GET /v1/models HTTP/1.1\r\nHost: t\r\nX-Big: ${'y'.repeat(4000)}\r\n\r\n`;
  const { data } = await rawExchange(request);
  assert.match(data, /^HTTP\/1\.1 431 /);
  assert.match(data, /headers_too_large/);
});

test('malformed HTTP: 400', async () => {
  const { data } = await rawExchange('THIS IS NOT HTTP\r\n\r\n');
  assert.match(data, /^HTTP\/1\.1 400 /);
});

test('incomplete headers: 408 and close after requestHeaderTimeout', async () => {
  const started = Date.now();
  const { closed, data } = await rawExchange('GET /v1/models HTTP/1.1\r\nHost: t\r\n', { timeoutMs: 4000 });
  assert.equal(closed, true);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 3500, `closed after ${elapsed} ms`);
  assert.match(data, /^HTTP\/1\.1 408 /);
  assert.match(data, /request_timeout/);
});

test('an idle connection that never sends a request is closed silently', async () => {
  const { closed, data } = await rawExchange('', { timeoutMs: 4000 });
  assert.equal(closed, true);
  assert.equal(data, '');
});

test('refused requests are logged and counted too', async () => {
  await rawExchange(`GET /v1/models HTTP/1.1\r\nHost: t\r\nX-Big: ${'z'.repeat(4000)}\r\n\r\n`);
  const entry = await sluice.waitForAccessLog((e) => e.status === 431);
  assert.equal(entry.route, '');
  const metrics = await (await fetch(sluice.adminUrl + '/metrics')).text();
  assert.match(metrics, /sluice_requests_total\{route="",backend="",code="431"\} [1-9]/);
});

test('upstream refused: 502 naming the backend, no secret in the message', async () => {
  const { res, body } = await post('/refused/v1/chat/completions', chatBody());
  assertOpenAIError(body, { res, status: 502, code: 'upstream_unavailable' });
  assert.match(body.error.message, /backend refused/);
  assert.match(body.error.message, /refused/i);
  assert.doesNotMatch(body.error.message, /sk-present/);
});

test('upstream reset before responding: 502', async () => {
  const { res, body } = await post('/v1/chat/completions', chatBody(), { 'x-mock-reset': 'before-headers' });
  assertOpenAIError(body, { res, status: 502, code: 'upstream_unavailable' });
  assert.match(body.error.message, /backend mock/);
});

test('upstream slower than firstByte: 504 naming the backend', async () => {
  const started = Date.now();
  const { res, body } = await post('/v1/chat/completions', chatBody(), { 'x-mock-latency-ms': '3000' });
  assertOpenAIError(body, { res, status: 504, code: 'upstream_timeout' });
  assert.match(body.error.message, /backend mock/);
  assert.ok(Date.now() - started < 2500);
});

test('missing Secret at run time: 500 naming the Secret', async () => {
  const { res, body } = await post('/nosecret/v1/chat/completions', chatBody());
  assertOpenAIError(body, { res, status: 500, code: 'backend_unavailable' });
  assert.match(body.error.message, /Secret "missing-secret" not found/);
  assert.ok(sluice.stderr.some((l) => l.includes('missing-secret')), 'serve logs the problem at start');
});

test('upstream error statuses pass through unchanged', async () => {
  const { res, body } = await post('/v1/chat/completions', chatBody(), { 'x-mock-status': '429' });
  assertOpenAIError(body, { res, status: 429 });
  assert.equal(res.headers.get('retry-after'), '1');
});

test('upstream reset mid-stream: the stream ends with an OpenAI error event, not silence', async () => {
  const res = await fetch(sluice.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-reset': 'mid-stream', 'x-mock-chunks': '8' },
    body: chatBody({ stream: true }),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  const events = text.split('\n\n').filter(Boolean);
  const last = events.at(-1);
  assert.ok(last.startsWith('data: '), text);
  const payload = JSON.parse(last.slice('data: '.length));
  assert.equal(payload.error.code, 'upstream_stream_error');
  assert.ok(!text.includes('[DONE]'));
  const entry = await sluice.waitForAccessLog((e) => e.error && e.error.includes('after the response started'));
  assert.equal(entry.status, 200);
  const metrics = await (await fetch(sluice.adminUrl + '/metrics')).text();
  assert.match(metrics, /sluice_upstream_errors_total\{backend="mock",kind="reset"\} [1-9]/);
});
