// Tests of the sluice-mock binary itself: wire format, echo headers, fault injection, TLS.
// Run: SLUICE_BIN_DIR=build/bin node --test tests/integration/mock.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

const binDir = process.env.SLUICE_BIN_DIR ?? new URL('../../build/bin/', import.meta.url).pathname;
const mockBinary = join(binDir, 'sluice-mock');

// Starts the mock on an ephemeral port and resolves once it printed its listening line.
async function startMock(args = []) {
  const child = spawn(mockBinary, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = readline.createInterface({ input: child.stdout });
  const firstLine = once(lines, 'line').then(([line]) => line);
  const line = await Promise.race([
    firstLine,
    exited.then(([code]) => { throw new Error(`sluice-mock exited early with code ${code}`); }),
  ]);
  return { child, exited, listening: JSON.parse(line) };
}

async function stopMock(mock) {
  mock.child.kill('SIGTERM');
  const [code, signal] = await mock.exited;
  return { code, signal };
}

const chatBody = (extra = {}) => JSON.stringify({
  model: 'mock-gpt',
  messages: [
    { role: 'system', content: 'abcd' },
    { role: 'user', content: 'hello world!' },
  ],
  ...extra,
});

// Minimal request helper over node:http(s) for what fetch cannot do (agents, CA, Expect).
function request(module, options, body) {
  return new Promise((resolve, reject) => {
    const req = module.request(options, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Reads an SSE body, returning each event's data and the time it arrived.
async function readEvents(response) {
  const events = [];
  const decoder = new TextDecoder();
  let pending = '';
  for await (const bytes of response.body) {
    pending += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = pending.indexOf('\n\n')) !== -1) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      assert.ok(event.startsWith('data: '), `unexpected event framing: ${event}`);
      events.push({ data: event.slice('data: '.length), at: performance.now() });
    }
  }
  assert.equal(pending, '', 'stream ended mid-event');
  return events;
}

function assertOpenAIError(body, type) {
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(body.error.type, type);
}

let mock;
let base;

before(async () => {
  mock = await startMock(['--threads', '2']);
  base = `http://127.0.0.1:${mock.listening.port}`;
});

after(() => {
  if (mock.child.exitCode === null) mock.child.kill('SIGKILL');
});

test('prints one listening line', () => {
  assert.deepEqual(Object.keys(mock.listening), ['msg', 'address', 'port', 'tls']);
  assert.equal(mock.listening.msg, 'listening');
  assert.equal(mock.listening.address, '127.0.0.1');
  assert.ok(mock.listening.port > 0);
  assert.equal(mock.listening.tls, false);
});

test('non-streaming chat completion has the OpenAI shape and echo headers', async () => {
  const res = await fetch(`${base}/api/v1/chat/completions?debug=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'api-key': 'azure-key' },
    body: chatBody(),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('x-mock-path'), '/api/v1/chat/completions?debug=1');
  assert.equal(res.headers.get('x-mock-method'), 'POST');
  assert.equal(res.headers.get('x-mock-host'), `127.0.0.1:${mock.listening.port}`);
  assert.equal(res.headers.get('x-mock-authorization'), 'Bearer sk-test');
  assert.equal(res.headers.get('x-mock-api-key'), 'azure-key');
  assert.match(res.headers.get('x-mock-connection-id'), /^[1-9][0-9]*$/);
  assert.equal(res.headers.get('x-mock-request-model'), 'mock-gpt');

  const body = await res.json();
  assert.match(body.id, /^chatcmpl-mock-[0-9]+$/);
  assert.equal(body.object, 'chat.completion');
  assert.ok(Math.abs(body.created - Date.now() / 1000) < 60);
  assert.equal(body.model, 'mock-gpt');
  assert.deepEqual(body.choices, [{
    index: 0,
    message: { role: 'assistant', content: 'chunk0 chunk1 chunk2 chunk3', refusal: null },
    logprobs: null,
    finish_reason: 'stop',
  }]);
  // 16 characters of message content -> 4 prompt tokens; one completion token per piece.
  assert.deepEqual(body.usage, { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
});

test('x-mock-chunks sets the number of content pieces; no auth gives an empty echo', async () => {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'x-mock-chunks': '2' }, body: chatBody(),
  });
  assert.equal(res.headers.get('x-mock-authorization'), '');
  assert.equal(res.headers.get('x-mock-api-key'), null);
  const body = await res.json();
  assert.equal(body.choices[0].message.content, 'chunk0 chunk1');
  assert.equal(body.usage.completion_tokens, 2);
});

test('invalid chat requests get a 400 OpenAI error', async () => {
  const cases = [
    [JSON.stringify({ model: 'mock-gpt' }), 'messages'],
    [JSON.stringify({ model: 'mock-gpt', messages: [] }), 'messages'],
    [JSON.stringify({ model: 'mock-gpt', messages: [{ content: 'no role' }] }), 'messages'],
    [JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), 'model'],
    [JSON.stringify({ model: '', messages: [{ role: 'user', content: 'x' }] }), 'model'],
    ['{"model": "mock-gpt", "messages": [', null],
    [chatBody({ stream: 'yes' }), 'stream'],
  ];
  for (const [body, param] of cases) {
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body });
    assert.equal(res.status, 400, body);
    const error = await res.json();
    assertOpenAIError(error, 'invalid_request_error');
    assert.equal(error.error.param, param, body);
    assert.equal(error.error.code, null);
  }
});

test('streaming chat sends role, pieces, finish, usage and [DONE] incrementally', async () => {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'x-mock-chunk-delay-ms': '200' },
    body: chatBody({ stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  const events = await readEvents(res);
  assert.equal(events.length, 8);
  assert.ok(events.at(-1).at - events[0].at >= 150, 'events must arrive incrementally');
  assert.equal(events.at(-1).data, '[DONE]');

  const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
  const [first] = chunks;
  assert.match(first.id, /^chatcmpl-mock-[0-9]+$/);
  for (const chunk of chunks) {
    assert.equal(chunk.id, first.id);
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.created, first.created);
    assert.equal(chunk.model, 'mock-gpt');
  }
  const choice = (delta, finishReason) => [{ index: 0, delta, logprobs: null, finish_reason: finishReason }];
  assert.deepEqual(chunks[0].choices, choice({ role: 'assistant', content: '' }, null));
  ['chunk0', ' chunk1', ' chunk2', ' chunk3'].forEach((piece, i) => {
    assert.deepEqual(chunks[1 + i].choices, choice({ content: piece }, null));
  });
  assert.deepEqual(chunks[5].choices, choice({}, 'stop'));
  for (const chunk of chunks.slice(0, 6)) assert.equal(chunk.usage, null);
  assert.deepEqual(chunks[6].choices, []);
  assert.deepEqual(chunks[6].usage, { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
});

test('streaming without include_usage has no usage at all', async () => {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'x-mock-chunks': '3' }, body: chatBody({ stream: true }),
  });
  const events = await readEvents(res);
  assert.equal(events.length, 3 + 3);
  assert.equal(events.at(-1).data, '[DONE]');
  for (const event of events.slice(0, -1)) assert.equal('usage' in JSON.parse(event.data), false);
});

test('ttft and latency delay the stream', async () => {
  const started = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'x-mock-latency-ms': '100', 'x-mock-ttft-ms': '150' },
    body: chatBody({ stream: true }),
  });
  const headersAt = performance.now();
  const events = await readEvents(res);
  assert.ok(headersAt - started >= 90, `headers after ${headersAt - started} ms`);
  assert.ok(events[0].at - headersAt >= 120, `first event ${events[0].at - headersAt} ms after headers`);
});

test('embeddings: float and base64 encode the same deterministic vectors', async () => {
  const embed = async (extra, headers = {}) => {
    const res = await fetch(`${base}/v1/embeddings`, {
      method: 'POST', headers, body: JSON.stringify({ model: 'mock-embed', input: ['alpha', 'beta'], ...extra }),
    });
    assert.equal(res.status, 200);
    return res.json();
  };
  const floats = await embed({});
  assert.equal(floats.object, 'list');
  assert.equal(floats.model, 'mock-embed');
  assert.deepEqual(floats.usage, { prompt_tokens: 2, total_tokens: 2 });
  assert.equal(floats.data.length, 2);
  floats.data.forEach((item, i) => {
    assert.equal(item.object, 'embedding');
    assert.equal(item.index, i);
    assert.equal(item.embedding.length, 8);
    for (const value of item.embedding) assert.ok(value >= -1 && value <= 1);
  });
  assert.notDeepEqual(floats.data[0].embedding, floats.data[1].embedding);
  assert.deepEqual(await embed({ encoding_format: 'float' }), floats);

  const encoded = await embed({ encoding_format: 'base64' });
  encoded.data.forEach((item, i) => {
    const bytes = new Uint8Array(Buffer.from(item.embedding, 'base64'));
    const decoded = Array.from(new Float32Array(bytes.buffer));
    assert.deepEqual(decoded, floats.data[i].embedding.map(Math.fround));
  });

  assert.equal((await embed({ dimensions: 5 })).data[0].embedding.length, 5);
  assert.equal((await embed({}, { 'x-mock-dims': '3' })).data[1].embedding.length, 3);
});

test('embeddings accept token arrays and reject bad input', async () => {
  const post = (body) => fetch(`${base}/v1/embeddings`, { method: 'POST', body: JSON.stringify(body) });
  const tokens = await (await post({ model: 'e', input: [1, 2, 3] })).json();
  assert.equal(tokens.data.length, 1);
  assert.equal(tokens.usage.prompt_tokens, 3);
  const batches = await (await post({ model: 'e', input: [[1, 2], [3]] })).json();
  assert.equal(batches.data.length, 2);

  for (const body of [{ model: 'e' }, { model: 'e', input: [] }, { model: 'e', input: ['a', 1] }, { input: 'a' },
    { model: 'e', input: 'a', encoding_format: 'hex' }, { model: 'e', input: 'a', dimensions: 0 }]) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assertOpenAIError(await res.json(), 'invalid_request_error');
  }
});

test('models lists the mock models', async () => {
  const res = await fetch(`${base}/openai/v1/models`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, 'list');
  assert.deepEqual(body.data.map((model) => model.id), ['mock-gpt', 'mock-embed']);
  for (const model of body.data) {
    assert.deepEqual(model, { id: model.id, object: 'model', created: 1700000000, owned_by: 'sluice-mock' });
  }
});

test('echo returns method, target, headers and body', async () => {
  const res = await fetch(`${base}/passthrough/echo/anything?q=1`, {
    method: 'PUT', headers: { 'X-Custom': 'Value' }, body: 'héllo',
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.method, 'PUT');
  assert.equal(body.target, '/passthrough/echo/anything?q=1');
  assert.equal(body.headers['x-custom'], 'Value');
  assert.equal(body.body, 'héllo');
  assert.equal(body.body_bytes, 6);
});

test('unknown paths get a 404 naming the path', async () => {
  const res = await fetch(`${base}/v1/unknown`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assertOpenAIError(body, 'invalid_request_error');
  assert.match(body.error.message, /\/v1\/unknown/);
});

test('x-mock-status injects errors, with Retry-After on 429', async () => {
  const inject = (headers) => fetch(`${base}/v1/chat/completions`, { method: 'POST', headers, body: chatBody() });

  const limited = await inject({ 'x-mock-status': '429' });
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '1');
  assertOpenAIError(await limited.json(), 'rate_limit_error');

  const custom = await inject({ 'x-mock-status': '429', 'x-mock-retry-after': '7' });
  assert.equal(custom.headers.get('retry-after'), '7');
  await custom.body.cancel();

  const unavailable = await inject({ 'x-mock-status': '503' });
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.headers.get('x-mock-method'), 'POST');
  assertOpenAIError(await unavailable.json(), 'server_error');

  const forbidden = await inject({ 'x-mock-status': '403' });
  assertOpenAIError(await forbidden.json(), 'invalid_request_error');

  const invalid = await inject({ 'x-mock-status': 'teapot' });
  assert.equal(invalid.status, 400);
  assert.match((await invalid.json()).error.message, /x-mock-status/);
});

test('x-mock-latency-ms delays the response', async () => {
  const started = performance.now();
  const res = await fetch(`${base}/v1/models`, { headers: { 'x-mock-latency-ms': '200' } });
  await res.json();
  assert.ok(performance.now() - started >= 190);
});

test('x-mock-reset before-headers makes the request fail', async () => {
  await assert.rejects(fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'x-mock-reset': 'before-headers' }, body: chatBody(),
  }));
});

test('x-mock-reset mid-stream cuts a stream after half of its events', async () => {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'x-mock-reset': 'mid-stream' }, body: chatBody({ stream: true }),
  });
  assert.equal(res.status, 200);
  const received = [];
  await assert.rejects(async () => {
    for await (const bytes of res.body) received.push(Buffer.from(bytes).toString());
  });
  const text = received.join('');
  assert.match(text, /chunk0/);
  assert.doesNotMatch(text, /\[DONE\]/);
});

test('x-mock-blackhole never answers', async () => {
  await assert.rejects(
    fetch(`${base}/v1/models`, { headers: { 'x-mock-blackhole': '1' }, signal: AbortSignal.timeout(300) }),
    { name: 'TimeoutError' },
  );
});

test('keep-alive: two requests on one agent share a connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const options = { host: '127.0.0.1', port: mock.listening.port, path: '/v1/models', agent };
  const first = await request(http, options);
  const second = await request(http, options);
  agent.destroy();
  assert.equal(first.status, 200);
  assert.equal(second.status, 200);
  assert.equal(first.headers['x-mock-connection-id'], second.headers['x-mock-connection-id']);

  const third = await request(http, { ...options, agent: false });
  assert.notEqual(third.headers['x-mock-connection-id'], first.headers['x-mock-connection-id']);
});

test('chunked request bodies with Expect: 100-continue are read', async () => {
  const response = await new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: mock.listening.port,
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { expect: '100-continue', 'content-type': 'application/json' },
    }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.on('continue', () => {
      const body = chatBody();
      req.write(body.slice(0, 10));
      req.end(body.slice(10));
    });
  });
  assert.equal(response.status, 200);
  assert.equal(JSON.parse(response.body).usage.prompt_tokens, 4);
});

test('SIGTERM exits 0', async () => {
  assert.deepEqual(await stopMock(mock), { code: 0, signal: null });
});

test('TLS: serves HTTPS with the given certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mock-tls-'));
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', key, '-out', cert, '-days', '1',
    ], { stdio: 'ignore' });
    const tlsMock = await startMock(['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.equal(tlsMock.listening.tls, true);
      const res = await request(https, {
        host: '127.0.0.1',
        port: tlsMock.listening.port,
        method: 'POST',
        path: '/v1/chat/completions',
        ca: readFileSync(cert),
        headers: { 'content-type': 'application/json' },
        agent: false,
      }, chatBody());
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).choices[0].message.content, 'chunk0 chunk1 chunk2 chunk3');
    } finally {
      assert.deepEqual(await stopMock(tlsMock), { code: 0, signal: null });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
