// End-to-end: the admin status page in a real browser. Headless Chromium (Debian's `chromium`,
// driven by playwright-core) loads `/` from the admin listener while requests go through Sluice
// to sluice-mock: one AI Backend whose first provider is down (connection refused, ejected by
// outlier detection after one failure) and whose second answers with a pinned model. The page
// must show the Backend, both providers' health (ejected / healthy), request and token counts
// above zero, a live request rate, the failover among the recent errors — with no console error
// (a Content-Security-Policy violation would be one) and no request outside the admin origin.
// A screenshot is kept as a test artifact: <build>/test-artifacts/status-page.png.
// Run: SLUICE_BIN_DIR=build/bin/ node --test tests/e2e/status_page.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { binDir, chatBody, freePort, startMock, startSluice } from '../lib/harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = path.resolve(binDir, '..', 'test-artifacts');

let mock;
let sluice;
let browser;
let profileDir;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps.sh (Debian package chromium)`);
  mock = await startMock();
  const deadPort = await freePort();
  sluice = await startSluice({
    config: `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: llm}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
      - name: primary
        openai: {authToken: {kind: Inline, inline: sk-dead}}
        host: 127.0.0.1
        port: ${deadPort}
    - providers:
      - name: fallback
        openai: {authToken: {kind: Inline, inline: sk-test}, model: gpt-status}
        host: 127.0.0.1
        port: ${mock.port}
    outlierDetection: {consecutiveFailures: 1, baseEjectionTime: 60s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat}
spec:
  rules:
  - name: v1
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: llm}]
`,
  });
  profileDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
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
});

async function chat() {
  const res = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  await res.arrayBuffer();
  return res;
}

test('the status page shows Backends, provider health, live rates, tokens and recent errors', async () => {
  // The first request fails over (and ejects the dead provider); the others go to the fallback.
  for (let i = 0; i < 4; i++) assert.equal((await chat()).status, 200);

  const page = await browser.newPage();
  const problems = [];
  const requested = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => requested.push(request.url()));
  try {
    const response = await page.goto(`${sluice.adminUrl}/?interval=500`);
    assert.equal(response.status(), 200);
    const csp = response.headers()['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /unsafe-inline/);

    const text = (selector) => page.locator(selector).innerText();
    await page.waitForFunction(() => document.querySelector('#connection')?.dataset.state === 'ok', null, { timeout: 10_000 });
    await page.waitForFunction(
      () => /ejected/.test(document.querySelector('#providers tbody')?.innerText ?? ''),
      null,
      { timeout: 10_000 },
    );
    const providers = await text('#providers tbody');
    assert.match(providers, /llm/);
    assert.match(providers, /primary[^\n]*ejected for/, providers);
    assert.match(providers, /fallback[^\n]*healthy/, providers);

    // Requests while the page watches: the rate it computes from /metrics deltas goes above 0.
    for (let i = 0; i < 6; i++) await chat();
    await page.waitForFunction(() => Number(document.querySelector('#request-rate')?.textContent) > 0, null, { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.querySelector('#token-rate')?.textContent) > 0, null, { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.querySelector('#request-total')?.textContent.replace(/,/g, '')) >= 10, null, {
      timeout: 10_000,
    });
    const requests = Number((await text('#request-total')).replace(/,/g, ''));
    const tokens = Number((await text('#token-total')).replace(/,/g, ''));
    assert.ok(requests >= 10, `requests counted: ${requests}`);
    assert.ok(tokens > 0, `tokens counted: ${tokens}`);
    assert.match(await text('#models tbody'), /gpt-status/);
    assert.match(await text('#routes tbody'), /chat\/v1/);
    assert.match(await text('#errors tbody'), /failed over/);
    assert.match(await text('#generation'), /^1$/);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'status-page.png'), fullPage: true });

    assert.deepEqual(problems, [], 'no console errors');
    const outside = requested.filter((url) => !url.startsWith(sluice.adminUrl) && !url.startsWith('data:'));
    assert.deepEqual(outside, [], 'the page loads nothing from elsewhere');
  } finally {
    await page.close();
  }
});
