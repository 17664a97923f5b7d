// CORS (TrafficPolicy spec.cors and the HTTPRoute CORS filter), through the real sluice and
// sluice-mock binaries: preflights answered by Sluice (allowed, denied, wildcard origins, without
// a credential, never reaching the upstream), the CORS headers on every answer of an allowed
// origin (a reply, a stream, a 401 from auth, a relayed upstream error, a 502 Sluice writes), the
// upstream's own Access-Control-* headers replaced, credentials never with `*`, the filter, and
// `validate` on bad origins.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { startMock, startSluice, runValidate, gatewayYaml, chatBody, freePort } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';

const KEY = 'sk-sluice-browser-5e1d';
const APP = 'https://app.example.com';

let mock;
let capture;
let staticUpstream;
let sluice;

const aiBackend = (name, port) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-provider}}
      host: 127.0.0.1
      port: ${port}
---
`;

before(async () => {
  mock = await startMock();
  capture = await startCaptureUpstream();
  // An upstream that answers with CORS headers of its own.
  staticUpstream = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' });
    res.end('static');
  });
  await new Promise((resolve) => staticUpstream.listen(0, '127.0.0.1', resolve));
  const closedPort = await freePort();
  sluice = await startSluice({
    config: `${aiBackend('openai', mock.port)}${aiBackend('captured', capture.port)}${aiBackend('down', closedPort)}apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: web}
spec:
  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: ${staticUpstream.address().port}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: captured
    matches: [{path: {type: PathPrefix, value: /captured}}]
    backendRefs: [{name: captured}]
  - name: down
    matches: [{path: {type: PathPrefix, value: /down}}]
    backendRefs: [{name: down}]
  - name: web
    matches: [{path: {type: PathPrefix, value: /web}}]
    backendRefs: [{name: web}]
  - name: filtered
    matches: [{path: {type: PathPrefix, value: /filtered}}]
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://filter.example.com"], allowCredentials: true}
    backendRefs: [{name: openai}]
  - name: credentials
    matches: [{path: {type: PathPrefix, value: /credentials}}]
    backendRefs: [{name: openai}]
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: browsers}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  cors:
    allowOrigins: ["${APP}", "https://*.example.org"]
    allowMethods: [POST, GET, OPTIONS]
    allowHeaders: [authorization, content-type, x-api-key, x-mock-status]
    exposeHeaders: [x-sluice-provider]
    maxAge: 600
  auth:
    apiKey:
      keys:
      - name: browser
        keyHash: "sha256:${createHash('sha256').update(KEY).digest('hex')}"
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: with-credentials}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: credentials}]
  cors: {allowOrigins: ["*"], allowCredentials: true}
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await capture?.close();
  await new Promise((resolve) => staticUpstream?.close(resolve));
});

const preflight = (path, origin, { method = 'POST', headers = 'authorization,content-type' } = {}) =>
  fetch(`${sluice.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      ...(headers ? { 'access-control-request-headers': headers } : {}),
    },
  });

const chat = (path, { origin = APP, key = KEY, headers = {}, body = chatBody() } = {}) =>
  fetch(`${sluice.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(origin ? { origin } : {}),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body,
  });

const corsHeaders = (res) =>
  Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

test('an allowed preflight is answered 204 by Sluice with every Allow header, without a credential', async () => {
  const res = await preflight('/v1/chat/completions', APP);
  assert.equal(res.status, 204);
  assert.equal(await res.text(), '');
  assert.deepEqual(corsHeaders(res), {
    'access-control-allow-origin': APP,
    'access-control-allow-methods': 'POST, GET, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type, x-api-key, x-mock-status',
    'access-control-max-age': '600',
    vary: 'Origin',
  });
  assert.equal(res.headers.get('content-length'), null, 'a 204 has no Content-Length');
});

test('a preflight from an origin not allowed gets 204 without any Allow header', async () => {
  for (const origin of ['https://evil.example.net', 'https://example.org', 'http://app.example.com']) {
    const res = await preflight('/v1/chat/completions', origin);
    assert.equal(res.status, 204, origin);
    assert.deepEqual(corsHeaders(res), { vary: 'Origin' }, origin);
  }
  const unlistedHeader = await preflight('/v1/chat/completions', APP, { headers: 'authorization,x-secret' });
  assert.equal(unlistedHeader.headers.get('access-control-allow-origin'), null, 'a header not allowed');
  const unlistedMethod = await preflight('/v1/chat/completions', APP, { method: 'DELETE' });
  assert.equal(unlistedMethod.headers.get('access-control-allow-origin'), null, 'a method not allowed');
});

test('a wildcard origin allows the subdomains', async () => {
  const res = await preflight('/v1/chat/completions', 'https://ui.example.org');
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://ui.example.org');
  const deeper = await chat('/v1/chat/completions', { origin: 'https://a.b.example.org' });
  assert.equal(deeper.status, 200);
  assert.equal(deeper.headers.get('access-control-allow-origin'), 'https://a.b.example.org');
});

test('a preflight never reaches the upstream; the actual request does', async () => {
  const before = capture.requests.length;
  const res = await preflight('/captured/v1/chat/completions', APP);
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), APP);
  const denied = await preflight('/captured/v1/chat/completions', 'https://evil.example.net');
  assert.equal(denied.status, 204);
  assert.equal(capture.requests.length, before, 'no request reached the upstream');
  const actual = await chat('/captured/v1/chat/completions');
  assert.equal(actual.status, 200);
  assert.equal(actual.headers.get('access-control-allow-origin'), APP);
  assert.deepEqual(
    capture.requests.slice(before).map((r) => r.method),
    ['POST'],
    'only the actual request, never an OPTIONS',
  );
});

test('an actual request from an allowed origin gets the CORS headers on a 200', async () => {
  const res = await chat('/v1/chat/completions');
  assert.equal(res.status, 200);
  assert.deepEqual(corsHeaders(res), {
    'access-control-allow-origin': APP,
    'access-control-expose-headers': 'x-sluice-provider',
    vary: 'Origin',
  });
  assert.ok((await res.json()).choices);
  const none = await chat('/v1/chat/completions', { origin: null });
  assert.equal(none.status, 200);
  assert.deepEqual(corsHeaders(none), {}, 'no Origin: no CORS header');
  const denied = await chat('/v1/chat/completions', { origin: 'https://evil.example.net' });
  assert.equal(denied.status, 200, 'CORS does not refuse a request: the browser withholds the answer');
  assert.deepEqual(corsHeaders(denied), { vary: 'Origin' });
});

test('a stream carries the CORS headers', async () => {
  const res = await chat('/v1/chat/completions', { body: chatBody({ stream: true }) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/event-stream/);
  assert.equal(res.headers.get('access-control-allow-origin'), APP);
  assert.equal(res.headers.get('vary'), 'Origin');
  assert.match(await res.text(), /data: \[DONE\]/);
});

test('a 401 from auth carries the CORS headers, so the page can read it', async () => {
  const res = await chat('/v1/chat/completions', { key: null });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('access-control-allow-origin'), APP);
  assert.equal(res.headers.get('access-control-expose-headers'), 'x-sluice-provider');
  assert.equal((await res.json()).error.code, 'missing_api_key');
  const wrong = await chat('/v1/chat/completions', { key: 'sk-wrong' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('access-control-allow-origin'), APP);
});

test('errors carry the CORS headers: a relayed upstream error and a 502 Sluice writes', async () => {
  const relayed = await chat('/v1/chat/completions', { headers: { 'x-mock-status': '429' } });
  assert.equal(relayed.status, 429);
  assert.equal(relayed.headers.get('access-control-allow-origin'), APP);
  await relayed.arrayBuffer();
  const down = await chat('/down/v1/chat/completions');
  assert.equal(down.status, 502);
  assert.equal((await down.json()).error.code, 'upstream_unavailable');
  assert.equal(down.headers.get('access-control-allow-origin'), APP);
  assert.equal(down.headers.get('vary'), 'Origin');
});

test("the upstream's own Access-Control-* headers are replaced by the policy's", async () => {
  const res = await fetch(`${sluice.url}/web/page`, { headers: { origin: APP, authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'static');
  assert.equal(res.headers.get('access-control-allow-origin'), APP, 'one value, the policy\'s, not "*, ..."');
});

test('with credentials, any origin is echoed, never "*"', async () => {
  const origin = 'https://anyone.test';
  const pre = await preflight('/credentials/v1/chat/completions', origin, { headers: '' });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  const res = await chat('/credentials/v1/chat/completions', { origin });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), origin);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(res.headers.get('vary'), 'Origin');
});

test("the HTTPRoute CORS filter is the rule's own setting, over the Gateway's policy", async () => {
  const allowed = await preflight('/filtered/v1/chat/completions', 'https://filter.example.com');
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://filter.example.com');
  assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(allowed.headers.get('access-control-max-age'), '600', "the Gateway's maxAge, not set by the filter");
  const gatewayOrigin = await preflight('/filtered/v1/chat/completions', APP);
  assert.equal(gatewayOrigin.headers.get('access-control-allow-origin'), null, "the filter's origins replace the list");
  const res = await chat('/filtered/v1/chat/completions', { origin: 'https://filter.example.com' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://filter.example.com');
});

test('validate refuses a bad origin, naming file, resource and field', async () => {
  const config = `${gatewayYaml({ port: 8080, adminPort: 9901 })}---
${aiBackend('openai', 9)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: chat
    filters:
    - type: CORS
      cors: {allowOrigins: ["https://*.example.com:99999"]}
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: bad-cors}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  cors:
    allowOrigins: ["https://app.example.com/", "*.example.com"]
    maxAge: 100000
`;
  const { code, stdout, stderr } = await runValidate(config);
  const output = stdout + stderr;
  assert.notEqual(code, 0, output);
  assert.match(output, /config\.yaml:\d+: error: HTTPRoute\/llm: spec\.rules\[0\]\.filters\[0\]\.cors\.allowOrigins\[0\]: .*invalid port/);
  assert.match(output, /TrafficPolicy\/bad-cors: spec\.cors\.allowOrigins\[0\]: "https:\/\/app\.example\.com\/" has a path/);
  assert.match(output, /TrafficPolicy\/bad-cors: spec\.cors\.allowOrigins\[1\]: "\*\.example\.com" is not an origin/);
  assert.match(output, /TrafficPolicy\/bad-cors: spec\.cors\.maxAge: must be between 0 and 86400/);
});
