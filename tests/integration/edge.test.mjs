// The HTTP/1.1 edge, over real sockets: request heads Sluice refuses (framing, Host, target
// forms), the canonical path that routing, allow-lists and the upstream all see, what the
// upstream never receives (the client's query on composed URLs, account headers next to an
// injected key, Connection-named headers), JSON bodies with duplicate keys, HTTP/1.0 and
// Expect, and draining a running stream. The upstream is a capture server that records every
// request it receives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSluice, chatBody } from '../lib/harness.mjs';

// An OpenAI-compatible upstream that records what reaches it.
function startCapture() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      // Sluice's background model-list fetch is not one of the requests the tests send.
      if (req.method === 'GET' && /\/models(\?|$)/.test(req.url)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"object":"list","data":[]}');
        return;
      }
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      const hop = { 'x-up-hop': 'secret', connection: 'keep-alive, x-up-hop' };
      let parsed = {};
      try {
        parsed = JSON.parse(body);
      } catch {
        // not JSON
      }
      if (parsed.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', ...hop });
        const slow = Number(req.headers['x-test-slow'] ?? 0);
        const count = Number(req.headers['x-test-events'] ?? 3);
        let i = 0;
        const tick = () => {
          if (i === count) {
            res.end('data: [DONE]\n\n');
            return;
          }
          const chunk = { id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `t${i}` } }] };
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
          i += 1;
          setTimeout(tick, slow);
        };
        tick();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', ...hop });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          model: parsed.model ?? 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, received }));
  });
}

// Sends raw bytes on a fresh connection; resolves with everything received until the server
// closes (or `waitMs` passes) and whether the connection ended with a reset.
function raw(port, bytes, { waitMs = 2000, after: afterResponse } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let reset = false;
    let sentFollowUp = false;
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (afterResponse && !sentFollowUp && afterResponse.when(data)) {
        sentFollowUp = true;
        socket.write(afterResponse.send);
      }
    });
    socket.on('error', (e) => {
      if (e.code === 'ECONNRESET') reset = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, reset, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0) });
    });
    socket.write(bytes);
  });
}

let capture;
let gw;

const backends = (port) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-org-key}}
      host: 127.0.0.1
      port: ${port}
    passthrough: {apis: [files]}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai-forwarding}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-org-key}}
      host: 127.0.0.1
      port: ${port}
    forwardClientHeaders: [OpenAI-Organization]
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: azure}
spec:
  type: AI
  ai:
    llm:
      azureopenai: {authToken: {kind: Inline, inline: azure-key}, endpoint: res.openai.azure.com, deploymentName: gpt-4o}
      host: 127.0.0.1
      port: ${port}
      tls: {mode: Disabled}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai-passthrough-auth}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Passthrough}}
      host: 127.0.0.1
      port: ${port}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: byhost}
spec:
  hostnames: [api.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: openai-forwarding}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /fwd}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: openai-forwarding}]
  - matches: [{path: {type: PathPrefix, value: /azure}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: azure}]
  - matches: [{path: {type: PathPrefix, value: /own}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: openai-passthrough-auth}]
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: openai}]
`;

before(async () => {
  capture = await startCapture();
  gw = await startSluice({ config: backends(capture.port), limits: { drainTimeout: '400ms' } });
});

after(async () => {
  await gw?.stop();
  capture?.server.close();
});

// One request on a connection the client closes after it (unless `extra` sets Connection).
const post = (path, body, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${
    /^connection:/im.test(extra) ? '' : 'Connection: close\r\n'
  }${extra}\r\n${body}`;

async function receivedDuring(fn) {
  const before = capture.received.length;
  const result = await fn();
  await sleep(50);
  return { result, received: capture.received.slice(before) };
}

test('a Transfer-Encoding that does not end in chunked is refused and its body never becomes a request', async () => {
  for (const te of ['xchunked', 'gzip', 'chunked, identity']) {
    const smuggled = 'GET /v1/files HTTP/1.1\r\nHost: gw\r\n\r\n';
    const { result, received } = await receivedDuring(() =>
      raw(gw.port, `POST /v1/files HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: ${te}\r\n\r\n${smuggled}`),
    );
    assert.ok(result.status === 400 || result.status === 501, `${te}: ${result.data}`);
    assert.match(result.data, /connection: close/i);
    assert.equal(received.length, 0, `${te}: nothing reaches the upstream`);
  }
});

test('Transfer-Encoding with Content-Length, or in HTTP/1.0, is refused', async () => {
  const both = await raw(gw.port, 'POST /v1/files HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.equal(both.status, 400);
  const old = await raw(gw.port, 'POST /v1/files HTTP/1.0\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.equal(old.status, 400);
});

test('Host: missing in HTTP/1.1 or given twice is a 400', async () => {
  assert.equal((await raw(gw.port, 'GET /v1/models HTTP/1.1\r\n\r\n')).status, 400);
  assert.equal((await raw(gw.port, 'GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')).status, 400);
});

test('a fragment in the target is a 400; CONNECT and authority-form are refused', async () => {
  const { result, received } = await receivedDuring(() =>
    raw(gw.port, 'GET /v1/files/file-1/content#/chat/completions HTTP/1.1\r\nHost: gw\r\n\r\n'),
  );
  assert.equal(result.status, 400);
  assert.equal(received.length, 0);
  assert.equal((await raw(gw.port, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n')).status, 405);
  assert.equal((await raw(gw.port, 'GET 127.0.0.1:1 HTTP/1.1\r\nHost: gw\r\n\r\n')).status, 400);
});

test('absolute-form is routed by its authority, which takes precedence over Host', async () => {
  const { result, received } = await receivedDuring(() =>
    raw(gw.port, post('http://api.example.com/v1/chat/completions', chatBody(), 'OpenAI-Organization: org-1\r\n').replace('Host: gw', 'Host: elsewhere')),
  );
  assert.equal(result.status, 200, result.data);
  assert.equal(received.length, 1);
  assert.equal(received[0].url, '/v1/chat/completions');
  // The byhost route's Backend forwards OpenAI-Organization: proof the authority chose the route.
  assert.equal(received[0].headers['openai-organization'], 'org-1');
});

test('paths are canonical before routing, allow-lists and the upstream', async () => {
  // Dot-segments cannot reach an API the Backend does not allow.
  // (files is allowed here, audio is not: the API is named by the path before its ";".)
  for (const path of ['/v1/files/../audio/speech', '/v1/files/%2e%2e/audio/speech', '/v1/audio/speech;/chat/completions']) {
    const { result, received } = await receivedDuring(() => raw(gw.port, post(path, chatBody())));
    assert.equal(result.status, 404, `${path}: ${result.data}`);
    assert.match(result.data, /api_not_enabled/);
    assert.equal(received.length, 0, path);
  }
  for (const path of ['/v1/files/..;/chat/completions', '/v1/files%2F..%2Faudio/speech', '/v1/a%00']) {
    const { result, received } = await receivedDuring(() => raw(gw.port, post(path, chatBody())));
    assert.equal(result.status, 400, `${path}: ${result.data}`);
    assert.equal(received.length, 0, path);
  }
  // What is routed is what reaches the upstream.
  const { result, received } = await receivedDuring(() => raw(gw.port, post('/v1//%63hat/./completions', chatBody())));
  assert.equal(result.status, 200, result.data);
  assert.equal(received[0].url, '/v1/chat/completions');
});

test('only POST reaches chat and embeddings without an allow-list entry: another method is 405 with Allow', async () => {
  const { result, received } = await receivedDuring(() =>
    raw(gw.port, post('/v1/chat/completions', chatBody()).replace(/^POST/, 'PUT')),
  );
  assert.equal(result.status, 405, result.data);
  assert.match(result.data, /\r\nAllow: POST\r\n/i);
  assert.equal(received.length, 0);
});

test('a JSON body with a duplicate top-level key is a 400 and never forwarded', async () => {
  const body = '{"model":"cheap","messages":[{"role":"user","content":"hi"}],"model":"expensive"}';
  const { result, received } = await receivedDuring(() => raw(gw.port, post('/v1/chat/completions', body)));
  assert.equal(result.status, 400);
  assert.match(result.data, /duplicate_key/);
  assert.equal(received.length, 0);
});

test('the client query reaches passthrough upstreams but not provider URLs Sluice composes', async () => {
  // Azure's URL is composed: the client's `key` stays out; its own api-version replaces the configured one.
  const azure = await receivedDuring(() => raw(gw.port, post('/azure/v1/chat/completions?key=abc&api-version=x', chatBody())));
  assert.equal(azure.result.status, 200, azure.result.data);
  assert.equal(azure.received[0].url, '/openai/deployments/gpt-4o/chat/completions?api-version=x');
  // An OpenAI-compatible chat path is the client's own API path: its query is kept.
  const chat = await receivedDuring(() => raw(gw.port, post('/v1/chat/completions?trace=1', chatBody())));
  assert.equal(chat.received[0].url, '/v1/chat/completions?trace=1');
  const files = await receivedDuring(() => raw(gw.port, 'GET /v1/files?limit=2 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'));
  assert.equal(files.received[0].url, '/v1/files?limit=2');
});

test('account-choosing headers and cookies stay behind when Sluice injects its key, unless allowed', async () => {
  const extra = 'OpenAI-Organization: org-client\r\nOpenAI-Project: proj-client\r\nx-goog-user-project: gp\r\nCookie: session=1\r\n';
  const injected = await receivedDuring(() => raw(gw.port, post('/v1/chat/completions', chatBody(), extra)));
  const h = injected.received[0].headers;
  assert.equal(h.authorization, 'Bearer sk-org-key');
  for (const name of ['openai-organization', 'openai-project', 'x-goog-user-project', 'cookie']) assert.equal(h[name], undefined, name);
  const allowed = await receivedDuring(() => raw(gw.port, post('/fwd/v1/chat/completions', chatBody(), extra)));
  assert.equal(allowed.received[0].headers['openai-organization'], 'org-client');
  assert.equal(allowed.received[0].headers['openai-project'], undefined);
  const own = await receivedDuring(() =>
    raw(gw.port, post('/own/v1/chat/completions', chatBody(), extra + 'Authorization: Bearer sk-client\r\n')),
  );
  assert.equal(own.received[0].headers['openai-organization'], 'org-client');
  assert.equal(own.received[0].headers.cookie, 'session=1');
});

test('headers named in Connection are removed in both directions', async () => {
  const { result, received } = await receivedDuring(() =>
    raw(gw.port, post('/v1/chat/completions', chatBody(), 'Connection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\nX-Kept: 2\r\n')),
  );
  assert.equal(received[0].headers['x-client-hop'], undefined);
  assert.equal(received[0].headers['x-kept'], '2');
  assert.equal(result.status, 200);
  assert.doesNotMatch(result.data, /x-up-hop/i);
});

test('a model that is a dot-segment or carries CR/LF is a 400', async () => {
  for (const model of ['..', 'gpt\r\nX-Injected: 1']) {
    const { result, received } = await receivedDuring(() => raw(gw.port, post('/v1/chat/completions', chatBody({ model }))));
    assert.equal(result.status, 400, JSON.stringify(model));
    assert.equal(received.length, 0);
  }
});

test('HTTP/1.0 clients never get 100 Continue', async () => {
  const body = chatBody();
  const old = await raw(
    gw.port,
    `POST /v1/chat/completions HTTP/1.0\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  assert.doesNotMatch(old.data, /100 Continue/);
  assert.match(old.data, /^HTTP\/1\.[01] 200/);
  const current = await raw(
    gw.port,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  assert.match(current.data, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
});

// Last: these stop the gateway.
test('drain: a running stream completes, then the connection closes cleanly (no reset) and is logged; a stream cut at the deadline ends with an error event', async () => {
  const body = chatBody({ stream: true });
  // Stream A: 6 events 50 ms apart (300 ms, within the 400 ms drain timeout); the client sends its
  // next request as soon as the stream ended.
  const streamA = raw(gw.port, post('/v1/chat/completions', body, 'Connection: keep-alive\r\nx-test-slow: 50\r\nx-test-events: 6\r\n'), {
    waitMs: 5000,
    after: { when: (d) => d.includes('data: [DONE]'), send: post('/v1/chat/completions', chatBody()) },
  });
  // Stream B: far longer than the drain timeout.
  const streamB = raw(gw.port, post('/v1/chat/completions', body, 'x-test-slow: 200\r\nx-test-events: 50\r\n'), { waitMs: 8000 });
  await sleep(100);
  gw.proc.kill('SIGTERM');
  const [a, b] = await Promise.all([streamA, streamB]);
  const exit = await gw.exited;
  assert.equal(exit.code, 0);
  assert.match(a.data, /data: \[DONE\]/);
  assert.equal(a.reset, false, 'the connection of a stream that completed during the drain is not reset');
  assert.doesNotMatch(b.data, /data: \[DONE\]/);
  assert.match(b.data, /"error":\{/, 'a stream cut at the drain deadline ends with an error event');
  assert.match(b.data, /0\r\n\r\n$/, 'and a complete chunked body');
  const logs = gw.accessLog();
  const cut = logs.find((l) => /drain deadline/.test(l.error ?? ''));
  assert.ok(cut, `the cut request is logged: ${JSON.stringify(logs.slice(-3))}`);
});
