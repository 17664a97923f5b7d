// End-to-end: a real browser calling Sluice across origins. Headless Chromium (Debian's
// `chromium`, installed by scripts/install-deps.sh, driven by playwright-core) loads a page from
// one localhost port; the page imports the official `openai` npm package (its ESM build, served as
// static files) and calls Sluice, on another port, with an API key: a chat completion and a stream.
// The browser sends a real CORS preflight (the key travels in Authorization); Sluice answers it
// itself (TrafficPolicy spec.cors, before auth), and the recorder in front of sluice-mock proves
// no OPTIONS ever reached the provider. From an origin not allowed, the SDK call fails in the
// browser and nothing reaches the provider.
// Run: SLUICE_BIN_DIR=build/bin/ node --test tests/e2e/browser_cors.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startMock, startSluice } from '../lib/harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'sk-sluice-browser-page-31c9';
const openaiDir = fileURLToPath(new URL('../node_modules/openai/', import.meta.url));

let mock;
let recorder;
let sluice;
let allowedPage;
let otherPage;
let browser;
let profileDir;
const upstreamRequests = [];

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const close = (server) => new Promise((resolve) => (server ? server.close(resolve) : resolve()));

// The page: the SDK imported as a module; window.callSluice runs one completion and one stream.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice cors</title><link rel="icon" href="data:,"></head><body>
<script type="module">
import OpenAI from '/openai/index.mjs';
window.callSluice = async (baseURL, apiKey) => {
  const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0, timeout: 10000 });
  try {
    const messages = [{ role: 'user', content: 'hello from the browser' }];
    const completion = await client.chat.completions.create({ model: 'gpt-browser', messages });
    const stream = await client.chat.completions.create({ model: 'gpt-browser', messages, stream: true });
    let streamed = '';
    let finish = null;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    return { ok: true, content: completion.choices[0].message.content, model: completion.model, streamed, finish };
  } catch (error) {
    return { ok: false, name: error.constructor.name, message: String(error.message) };
  }
};
window.ready = true;
</script></body></html>`;

// Serves the page and the openai package's files (the SDK's ESM build) from one origin.
function pageServer() {
  return http.createServer((req, res) => {
    const url = new URL(req.url, 'http://page');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    const file = path.normalize(path.join(openaiDir, url.pathname.replace(/^\/openai\//, '')));
    if (!url.pathname.startsWith('/openai/') || !file.startsWith(openaiDir) || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.mjs') || file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' });
    res.end(readFileSync(file));
  });
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps.sh (Debian package chromium)`);
  mock = await startMock();
  // The provider as Sluice sees it: every request recorded (method, path), then passed to the mock.
  recorder = http.createServer((req, res) => {
    upstreamRequests.push({ method: req.method, url: req.url });
    const forward = http.request(
      { host: '127.0.0.1', port: mock.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const recorderPort = await listen(recorder);
  allowedPage = pageServer();
  otherPage = pageServer();
  const allowedPort = await listen(allowedPage);
  await listen(otherPage);
  sluice = await startSluice({
    config: `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-provider}}
      host: 127.0.0.1
      port: ${recorderPort}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: browser-app}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  cors:
    allowOrigins: ["http://127.0.0.1:${allowedPort}"]
    allowMethods: [POST, GET, OPTIONS]
    # The SDK sends authorization, content-type and its x-stainless-* headers; "*" answers with
    # the headers the preflight names (Authorization included).
    allowHeaders: ["*"]
    maxAge: 600
  auth:
    apiKey:
      keys:
      - name: page
        keyHash: "sha256:${createHash('sha256').update(KEY).digest('hex')}"
`,
  });
  profileDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-chromium-'));
  // No outside network here: without these flags Chromium keeps trying to reach Google's
  // services. A fresh profile per run.
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await sluice?.stop();
  await mock?.stop();
  await close(recorder);
  await close(allowedPage);
  await close(otherPage);
});

// The preflights Sluice answered, from its access log.
const preflights = () => sluice.accessLog().filter((l) => l.method === 'OPTIONS' && l.path === '/v1/chat/completions');

// Opens the page served by `server` and runs the SDK calls in it.
async function callFrom(server) {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    return await page.evaluate(([baseURL, apiKey]) => window.callSluice(baseURL, apiKey), [`${sluice.url}/v1`, KEY]);
  } finally {
    await page.close();
  }
}

test('the OpenAI SDK in a page of an allowed origin gets a completion and a stream through Sluice', async () => {
  const seen = upstreamRequests.length;
  const result = await callFrom(allowedPage);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(typeof result.content, 'string');
  assert.ok(result.content.length > 0, 'the completion has content');
  assert.ok(result.streamed.length > 0, 'the stream had deltas');
  assert.equal(result.finish, 'stop');
  const reached = upstreamRequests.slice(seen);
  assert.deepEqual(
    reached.map((r) => `${r.method} ${r.url}`),
    ['POST /v1/chat/completions', 'POST /v1/chat/completions'],
    'the provider saw the two calls and no OPTIONS',
  );
  // The browser did send a preflight (the Authorization header requires one): Sluice answered it.
  const preflight = await sluice.waitForAccessLog((l) => l.method === 'OPTIONS' && l.path === '/v1/chat/completions');
  assert.equal(preflight.status, 204);
  assert.equal(preflight.provider, undefined, 'no provider was tried for the preflight');
});

test('from an origin not allowed, the SDK call fails in the browser and nothing reaches the provider', async () => {
  const seen = upstreamRequests.length;
  const preflightsBefore = preflights().length;
  const result = await callFrom(otherPage);
  assert.equal(result.ok, false, JSON.stringify(result));
  assert.equal(result.name, 'APIConnectionError', 'the browser blocks the request: the SDK sees a network error');
  assert.deepEqual(upstreamRequests.slice(seen), [], 'the preflight failed, so the request was never sent');
  // The browser asked, and Sluice answered without Access-Control-Allow-Origin.
  const deadline = Date.now() + 3000;
  while (preflights().length === preflightsBefore && Date.now() < deadline) await sleep(20);
  assert.equal(preflights().length, preflightsBefore + 1, 'one preflight, answered by Sluice');
  assert.equal(preflights().at(-1).status, 204);
});
