// HTTP/2 on the client listener: h2 over TLS chosen by ALPN, h2c with prior knowledge on a
// plaintext listener, with Node's http2 client, curl --http2 and nghttp; 100 concurrent streams
// on one connection (the mock delays every answer, so they can only finish in time together);
// SSE relayed per stream; the HTTP/1.1 path's limits and errors (404, 431, 413) answered on the
// stream; a listener with http2: false offering only http/1.1; a drain that lets a stream in
// flight finish and sends GOAWAY; the access log's protocol field. Certificates are made at test
// time by the openssl CLI.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { aiBackendYaml, chatBody, freePort, routeYaml, startMock, startSluice, tempDir } from '../lib/harness.mjs';
import { makeCa, makeCert } from '../lib/certs.mjs';

const run = promisify(execFile);
const kLatencyMs = 200;

let dir;
let mock;
let sluice;
let tlsPort;
let h1OnlyPort;

const pem = (file) => readFileSync(path.join(dir, file), 'utf8');
const b64 = (file) => readFileSync(path.join(dir, file)).toString('base64');

before(async () => {
  dir = tempDir('sluice-http2-');
  makeCa(dir, 'ca');
  makeCert(dir, 'server', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  mock = await startMock(['--latency-ms', String(kLatencyMs)]);
  tlsPort = await freePort();
  h1OnlyPort = await freePort();
  const config = `apiVersion: v1
kind: Secret
metadata: {name: gw-cert}
data: {tls.crt: ${b64('server.crt')}, tls.key: ${b64('server.key')}}
---
${aiBackendYaml({ port: mock.port })}---
${routeYaml({ rules: '  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: mock}]\n' })}`;
  sluice = await startSluice({
    config,
    limits: { maxRequestHeaderBytes: '8Ki', maxRequestBodyBytes: '64Ki' },
    gatewayExtra: '  accessLog: {trustRequestId: true}\n',
    listeners: `  - {name: h2, address: 127.0.0.1, port: ${tlsPort}, tls: {certificateRef: {name: gw-cert}}}
  - {name: h1, address: 127.0.0.1, port: ${h1OnlyPort}, http2: false, tls: {certificateRef: {name: gw-cert}}}
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function connectTls(port = tlsPort) {
  return http2.connect(`https://localhost:${port}`, { ca: pem('ca.crt') });
}
const connectH2c = () => http2.connect(`http://127.0.0.1:${sluice.port}`);

// One request on `session` (`body: null`: none); resolves to {headers, body, events (data chunks as received)}.
function request(session, { method = 'POST', path: p = '/v1/chat/completions', body = chatBody(), headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': method,
      ':path': p,
      ...(body !== null ? { 'content-type': 'application/json' } : {}),
      ...headers,
    });
    const chunks = [];
    let responseHeaders;
    req.on('response', (h) => (responseHeaders = h));
    req.on('data', (c) => chunks.push(c));
    const done = () => resolve({ headers: responseHeaders, body: Buffer.concat(chunks).toString(), chunks });
    req.on('end', done);
    // A server that answered before reading the whole body stops the upload with RST_STREAM
    // NO_ERROR (RFC 9113 section 8.1); Node reports the unsent rest as an error after the answer.
    req.on('error', (e) => (responseHeaders && req.rstCode === http2.constants.NGHTTP2_NO_ERROR ? done() : reject(e)));
    if (body !== null) req.end(body);
    else req.end();
  });
}

test('h2 over TLS: ALPN chooses h2 and a chat completion is answered on the stream', async () => {
  const session = connectTls();
  try {
    const res = await request(session);
    assert.equal(session.alpnProtocol, 'h2');
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.ok(res.headers['x-request-id'], 'x-request-id is returned on HTTP/2 too');
    assert.equal(res.headers.connection, undefined, 'no connection-specific field in HTTP/2');
    assert.equal(res.headers['transfer-encoding'], undefined);
    const reply = JSON.parse(res.body);
    assert.equal(reply.object, 'chat.completion');
    assert.equal(reply.choices[0].message.role, 'assistant');
  } finally {
    session.close();
  }
});

test('curl --http2 over TLS and --http2-prior-knowledge (h2c) speak HTTP/2', async () => {
  // Each request carries its own x-request-id (trusted by default), so its access-log line is found.
  const args = (id) => ['-s', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', '-H',
    'content-type: application/json', '-H', `x-request-id: ${id}`, '--data', chatBody()];
  const viaTls = await run('curl', [...args('curl-h2-tls'), '--http2', '--cacert', path.join(dir, 'ca.crt'),
    `https://localhost:${tlsPort}/v1/chat/completions`]);
  assert.equal(viaTls.stdout, '2 200');
  const h2c = await run('curl', [...args('curl-h2c'), '--http2-prior-knowledge',
    `http://127.0.0.1:${sluice.port}/v1/chat/completions`]);
  assert.equal(h2c.stdout, '2 200');
  // HTTP/1.1 on the same plaintext listener is unchanged.
  const h1 = await run('curl', [...args('curl-h1'), `http://127.0.0.1:${sluice.port}/v1/chat/completions`]);
  assert.equal(h1.stdout, '1.1 200');
  // The access log says which protocol each request came in on.
  for (const [id, protocol] of [['curl-h2-tls', 'HTTP/2'], ['curl-h2c', 'HTTP/2'], ['curl-h1', 'HTTP/1.1']]) {
    const line = await sluice.waitForAccessLog((l) => l.request_id === id);
    assert.equal(line.protocol, protocol, id);
    assert.equal(line.status, 200);
  }
});

test('nghttp (h2c and TLS) gets the answer with its request body', async () => {
  const bodyFile = path.join(dir, 'body.json');
  writeFileSync(bodyFile, chatBody());
  for (const url of [`http://127.0.0.1:${sluice.port}/v1/chat/completions`,
    `https://localhost:${tlsPort}/v1/chat/completions`]) {
    const { stdout } = await run('nghttp', ['-v', '-d', bodyFile, '-H', 'content-type: application/json', url]);
    assert.match(stdout, /recv \(stream_id=\d+\) :status: 200/, url);
    assert.match(stdout, /"object":"chat.completion"/, url);
  }
});

test('one connection carries 100 concurrent streams', async () => {
  const session = connectH2c();
  try {
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 100 }, () => request(session)));
    const elapsed = Date.now() - started;
    for (const res of results) {
      assert.equal(res.headers[':status'], 200);
      assert.equal(JSON.parse(res.body).object, 'chat.completion');
    }
    // Every answer waits kLatencyMs at the mock: one after another they would take 20 s.
    assert.ok(elapsed < 20 * kLatencyMs, `100 streams took ${elapsed} ms: they did not run concurrently`);
    const metrics = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
    assert.match(metrics, /sluice_open_connections\S* 1\b/, 'all streams shared one client connection');
  } finally {
    session.close();
  }
});

test('a stream is relayed event by event on its HTTP/2 stream', async () => {
  const session = connectTls();
  try {
    const res = await request(session, { body: chatBody({ stream: true }), headers: { 'x-mock-chunk-delay-ms': '50' } });
    assert.equal(res.headers[':status'], 200);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    const events = res.body.split('\n\n').filter((e) => e.startsWith('data: '));
    assert.ok(events.length >= 3, `events: ${events.length}`);
    assert.equal(events.at(-1), 'data: [DONE]');
    assert.ok(res.chunks.length > 1, 'the events arrive in several DATA frames, not one buffered body');
  } finally {
    session.close();
  }
});

test('the HTTP/1.1 limits and errors hold on HTTP/2: 404, 431 and 413 in the OpenAI schema', async () => {
  const session = connectH2c();
  try {
    const missing = await request(session, { method: 'GET', path: '/nope', body: null });
    assert.equal(missing.headers[':status'], 404);
    assert.equal(JSON.parse(missing.body).error.code, 'route_not_found');

    const bigHeader = await request(session, { headers: { 'x-filler': 'a'.repeat(9 * 1024) } });
    assert.equal(bigHeader.headers[':status'], 431);
    assert.equal(JSON.parse(bigHeader.body).error.code, 'headers_too_large');

    const bigBody = await request(session, { body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] }) });
    assert.equal(bigBody.headers[':status'], 413);
    assert.equal(JSON.parse(bigBody.body).error.code, 'request_too_large');

    // The connection survives a refused stream: the next request on it is served.
    const after = await request(session);
    assert.equal(after.headers[':status'], 200);
  } finally {
    session.close();
  }
});

test('a listener with http2: false offers only http/1.1 in ALPN', async () => {
  const socket = tls.connect({ host: '127.0.0.1', port: h1OnlyPort, servername: 'localhost', ca: pem('ca.crt'),
    ALPNProtocols: ['h2', 'http/1.1'] });
  try {
    await new Promise((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    assert.equal(socket.alpnProtocol, 'http/1.1');
  } finally {
    socket.destroy();
  }
});

test('a drain lets the stream in flight finish and sends GOAWAY', async () => {
  // Its own gateway: the drain ends it.
  const own = await startSluice({
    config: `${aiBackendYaml({ port: mock.port })}---
${routeYaml({ rules: '  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: mock}]\n' })}`,
  });
  const session = http2.connect(`http://127.0.0.1:${own.port}`);
  try {
    const goaway = new Promise((resolve) => session.once('goaway', (code) => resolve(code)));
    const inFlight = request(session);
    await new Promise((resolve) => setTimeout(resolve, kLatencyMs / 2));
    own.proc.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.headers[':status'], 200);
    assert.equal(JSON.parse(res.body).object, 'chat.completion');
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
  } finally {
    session.destroy();
    await own.stop();
  }
});
