// Process lifecycle: SIGTERM drains in-flight requests and exits 0; SIGHUP reloads a good
// config and keeps the running one when the new one is invalid; `sluice validate` reports
// every problem with file, resource and field; the admin endpoints; the embedded quick start.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { binDir, startMock, startSluice, runValidate, aiBackendYaml, routeYaml, chatBody } from '../lib/harness.mjs';

let mock;
before(async () => {
  mock = await startMock();
});
after(async () => {
  await mock?.stop();
});

const simpleConfig = (prefix = '/v1') => `${aiBackendYaml({ port: mock.port })}---
${routeYaml({ rules: `  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]\n    backendRefs: [{name: mock}]\n` })}`;

test('SIGTERM: in-flight streams finish, new connections are refused, exit code 0', async () => {
  const sluice = await startSluice({ config: simpleConfig(), limits: { drainTimeout: '10s' } });
  const streaming = fetch(sluice.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '200', 'x-mock-chunks': '5' },
    body: chatBody({ stream: true }),
  }).then(async (res) => ({ status: res.status, text: await res.text() }));
  await sleep(300);
  sluice.proc.kill('SIGTERM');
  await sleep(200);
  const ready = await fetch(sluice.adminUrl + '/readyz').then((r) => r.status).catch(() => 'closed');
  assert.ok(ready === 503 || ready === 'closed', `readyz during drain: ${ready}`);
  const refused = await new Promise((resolve) => {
    const socket = net.connect(sluice.port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
  assert.equal(refused, true, 'listener closed while draining');
  const { status, text } = await streaming;
  assert.equal(status, 200);
  assert.ok(text.trimEnd().endsWith('data: [DONE]'), text);
  const { code } = await sluice.exited;
  assert.equal(code, 0);
  assert.ok(sluice.stderr.some((l) => l.includes('"msg":"draining"')));
});

test('SIGTERM: idle keep-alive connections are closed at once', async () => {
  const sluice = await startSluice({ config: simpleConfig() });
  const socket = net.connect(sluice.port, '127.0.0.1');
  await new Promise((resolve) => socket.on('connect', resolve));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  const started = Date.now();
  sluice.proc.kill('SIGTERM');
  await closed;
  const { code } = await sluice.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 2000);
});

test('SIGTERM: a request that outlives drainTimeout is cut and the process still exits 0', async () => {
  const sluice = await startSluice({ config: simpleConfig(), limits: { drainTimeout: '300ms' } });
  const pending = fetch(sluice.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '500', 'x-mock-chunks': '10' },
    body: chatBody({ stream: true }),
  }).then((res) => res.text()).catch((e) => `error: ${e.message}`);
  await sleep(200);
  const started = Date.now();
  sluice.proc.kill('SIGTERM');
  const { code } = await sluice.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 3000);
  const text = await pending;
  assert.ok(!text.includes('[DONE]'));
});

test('SIGHUP: a valid new config is swapped in; an invalid one is rejected and the old kept', async () => {
  const sluice = await startSluice({ config: simpleConfig('/v1') });
  try {
    const gatewayDoc = (await import('node:fs')).readFileSync(sluice.file, 'utf8').split('---')[0];
    writeFileSync(sluice.file, `${gatewayDoc}---\n${simpleConfig('/v2')}`);
    sluice.proc.kill('SIGHUP');
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await sleep(50);
      status = (await fetch(sluice.url + '/v2/chat/completions', { method: 'POST', body: chatBody() })).status;
    }
    assert.equal(status, 200, 'new route active after reload');
    assert.equal((await fetch(sluice.url + '/v1/chat/completions', { method: 'POST', body: chatBody() })).status, 404);

    writeFileSync(sluice.file, `${gatewayDoc}---\nkind: Nonsense\n`);
    sluice.proc.kill('SIGHUP');
    for (let i = 0; i < 50 && !sluice.stderr.some((l) => l.includes('reload rejected')); i++) await sleep(50);
    assert.ok(sluice.stderr.some((l) => l.includes('reload rejected')));
    assert.ok(sluice.stderr.some((l) => l.includes('Nonsense')), 'the reason is logged');
    assert.equal((await fetch(sluice.url + '/v2/chat/completions', { method: 'POST', body: chatBody() })).status, 200);
  } finally {
    await sluice.stop();
  }
});

test('admin: healthz, readyz, metrics; unknown admin path 404', async () => {
  const sluice = await startSluice({ config: simpleConfig() });
  try {
    assert.equal(await (await fetch(sluice.adminUrl + '/healthz')).text(), 'ok\n');
    assert.equal((await fetch(sluice.adminUrl + '/readyz')).status, 200);
    const metrics = await fetch(sluice.adminUrl + '/metrics');
    assert.match(metrics.headers.get('content-type'), /text\/plain/);
    assert.match(await metrics.text(), /# TYPE sluice_requests_total counter/);
    assert.equal((await fetch(sluice.adminUrl + '/nope')).status, 404);
  } finally {
    await sluice.stop();
  }
});

test('validate: a good config exits 0', async () => {
  const { code, stdout } = await runValidate(simpleConfig());
  assert.equal(code, 0);
  assert.match(stdout, /OK \(2 resources\)/);
});

test('validate: every problem is reported with file, Kind/name and field, exit 1', async () => {
  const { code, stderr, file } = await runValidate(`apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: broken}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: nowhere}}, colour: blue}
      port: 70000
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - matches: [{path: {type: RegularExpression, value: "(unclosed"}}]
    backendRefs: [{name: ghost}]
`);
  assert.equal(code, 1);
  const lines = stderr.trim().split('\n');
  const expect = [
    [/Backend\/broken: spec\.ai\.llm\.openai\.colour: unknown field/],
    [/Backend\/broken: spec\.ai\.llm\.port: must be between/],
    [/Backend\/broken: spec\.ai\.llm\.openai\.authToken\.secretRef\.name: Secret "nowhere" not found/],
    [/HTTPRoute\/r: spec\.rules\[0\]\.matches\[0\]\.path\.value: invalid regular expression/],
    [/HTTPRoute\/r: spec\.rules\[0\]\.backendRefs\[0\]\.name: Backend "ghost" not found; defined Backends: broken/],
  ];
  for (const [re] of expect) {
    const line = lines.find((l) => re.test(l));
    assert.ok(line, `missing ${re} in:\n${stderr}`);
    assert.ok(line.startsWith(`${file}:`), line);
  }
  assert.match(lines.at(-1), /5 errors/);
});

test('validate: an unset ${ENV} variable is an error naming it', async () => {
  const { code, stderr } = await runValidate(`apiVersion: v1
kind: Secret
metadata: {name: k}
stringData: {apiKey: "\${SLUICE_TEST_SURELY_UNSET}"}
---
${aiBackendYaml({ port: 1, auth: '{kind: SecretRef, secretRef: {name: k}}' })}`);
  assert.equal(code, 1);
  assert.match(stderr, /SLUICE_TEST_SURELY_UNSET is not set/);
  const ok = await runValidate(`apiVersion: v1
kind: Secret
metadata: {name: k}
stringData: {apiKey: "\${SLUICE_TEST_SET}"}
---
${aiBackendYaml({ port: 1, auth: '{kind: SecretRef, secretRef: {name: k}}' })}`, { SLUICE_TEST_SET: 'x' });
  assert.equal(ok.code, 0, ok.stderr);
});

test('serve refuses to start on an invalid config, naming the problem', async () => {
  await assert.rejects(
    startSluice({ config: 'apiVersion: sluice.dev/v1alpha1\nkind: Backend\nmetadata: {name: b}\nspec: {type: Nope}\n' }),
    /spec\.type: unknown value \\"Nope\\"/,
  );
});

test('serve with no -c uses the embedded quick start (routes /v1 to a mock on 127.0.0.1:8090, /claude translated)', async (t) => {
  // The quick start binds fixed ports (8080, 9901, mock 8090); skip if something holds them.
  const busy = await Promise.all([8080, 9901, 8090].map((port) => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  })));
  if (busy.some(Boolean)) {
    t.skip('quick-start ports in use');
    return;
  }
  const quickMock = spawn(path.join(binDir, 'sluice-mock'), ['--port', '8090'], { stdio: 'ignore' });
  const proc = spawn(path.join(binDir, 'sluice'), ['serve'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await sleep(50);
      status = await fetch('http://127.0.0.1:8080/v1/chat/completions', { method: 'POST', body: chatBody() })
        .then((r) => r.status).catch(() => 0);
    }
    assert.equal(status, 200);
    const translated = await fetch('http://127.0.0.1:8080/claude/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(translated.status, 200);
    assert.equal(translated.headers.get('x-mock-path'), '/v1/messages', 'the quick start also translates to Anthropic');
    assert.equal((await translated.json()).object, 'chat.completion');
    // The README's quick start: the Responses API on the Anthropic route, @google/genai on /v1beta.
    const { default: OpenAI } = await import('openai');
    const { GoogleGenAI } = await import('@google/genai');
    const openai = new OpenAI({ baseURL: 'http://127.0.0.1:8080/claude/v1', apiKey: 'unused', maxRetries: 0 });
    const response = await openai.responses.create({ model: 'claude-sonnet-4-5', input: 'Say hi.' });
    assert.ok(response.output_text.length > 0);
    const google = new GoogleGenAI({ apiKey: 'unused', httpOptions: { baseUrl: 'http://127.0.0.1:8080' } });
    const reply = await google.models.generateContent({ model: 'gpt-4o-mini', contents: 'Say hi.' });
    assert.ok(reply.text.length > 0);
  } finally {
    proc.kill('SIGTERM');
    quickMock.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
});
