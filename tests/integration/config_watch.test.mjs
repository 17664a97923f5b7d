// `sluice serve --watch`: the configuration reloads itself when its files change, through the
// same reload as SIGHUP. Exercised the ways files change in practice: the Kubernetes ConfigMap
// layout (each file a link through `..data`, itself a link swapped by rename to a new
// `..<timestamp>` directory, as the kubelet does), an editor's atomic rename over a plain file,
// an invalid edit (the running configuration stays, the problem is logged with file, resource
// and field, the next valid edit applies) and a burst of writes (one reload). Also the admin
// /config document: the running configuration with no secret value in it.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiBackendYaml, binDir, chatBody, freePort, gatewayYaml, routeYaml, startMock, startSluice, tempDir } from '../lib/harness.mjs';

let mock;

before(async () => {
  mock = await startMock();
});

after(async () => {
  await mock?.stop();
});

// The operational log lines (JSON on stderr) of a process.
const logLines = (stderr) => stderr.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const reloads = (stderr) => logLines(stderr).filter((l) => l.msg === 'configuration reloaded');

async function until(what, check, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const status = async (adminUrl) => (await fetch(`${adminUrl}/status`)).json();
const backendNames = async (adminUrl) => (await status(adminUrl)).backends.map((b) => b.name);

const llmYaml = (backend) =>
  `${aiBackendYaml({ name: backend, port: mock.port })}---
${routeYaml({ rules: `  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: ${backend}}]` })}`;

async function chat(url) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(),
  });
  await res.arrayBuffer();
  return res;
}

// `sluice serve -c DIR --watch` on a directory the test lays out itself.
async function serveDirectory(dir, port, adminPort) {
  const proc = spawn(path.join(binDir, 'sluice'), ['serve', '-c', dir, '--watch', '--workers', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  let pending = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      stderr.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  proc.stdout.resume();
  const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await until('sluice to be ready', async () => {
    if (proc.exitCode !== null) throw new Error(`sluice exited: ${stderr.join('\n')}`);
    try {
      return (await fetch(`${adminUrl}/readyz`)).status === 200;
    } catch {
      return false;
    }
  });
  // The watcher is armed before the process announces it; wait for that line.
  await until('the watcher', () => logLines(stderr).some((l) => l.msg === 'watching the configuration'));
  return {
    stderr,
    adminUrl,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

// What the kubelet does to a mounted ConfigMap: the files go into a new hidden timestamped
// directory, a temporary `..data_tmp` link to it is renamed over `..data`, the old directory is
// removed. The visible files are links to `..data/<file>` made once.
function configMapWrite(dir, files, stamp) {
  const stampDir = path.join(dir, `..2026_12_03_${stamp}`);
  mkdirSync(stampDir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(stampDir, name), text);
  symlinkSync(path.basename(stampDir), path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(path.join('..data', name), path.join(dir, name));
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
  }
  return stampDir;
}

test('a ConfigMap update (the ..data symlink swap) is applied', async () => {
  const dir = tempDir('sluice-configmap-');
  const port = await freePort();
  const adminPort = await freePort();
  const gateway = gatewayYaml({ port, adminPort });
  const first = configMapWrite(dir, { 'gateway.yaml': gateway, 'llm.yaml': llmYaml('first') }, '10_00_00.000000001');
  const sluice = await serveDirectory(dir, port, adminPort);
  try {
    assert.deepEqual(await backendNames(sluice.adminUrl), ['first']);
    assert.equal((await chat(sluice.url)).status, 200);

    configMapWrite(dir, { 'gateway.yaml': gateway, 'llm.yaml': llmYaml('second') }, '10_01_00.000000002');
    rmSync(first, { recursive: true });
    await until('the new Backend', async () => (await backendNames(sluice.adminUrl)).join() === 'second');
    const reload = await until('the reload line', () => reloads(sluice.stderr)[0]);
    assert.equal(reload.generation, 2);
    assert.equal(reload.trigger, 'watch');
    assert.equal((await status(sluice.adminUrl)).generation, 2);
    const res = await chat(sluice.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-provider'), 'second', 'requests go to the new Backend');

    // A second swap to identical files changes nothing: no reload.
    configMapWrite(dir, { 'gateway.yaml': gateway, 'llm.yaml': llmYaml('second') }, '10_02_00.000000003');
    await sleep(900);
    assert.equal(reloads(sluice.stderr).length, 1, 'same content, no reload');
  } finally {
    await sluice.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plain file replaced by an atomic rename is applied', async () => {
  const sluice = await startSluice({ config: llmYaml('before'), args: ['--watch'] });
  try {
    const text = (await import('node:fs')).readFileSync(sluice.file, 'utf8').replace(/before/g, 'after');
    const temp = path.join(sluice.dir, '.sluice.yaml.swp');
    writeFileSync(temp, text);
    renameSync(temp, sluice.file);
    await until('the renamed file', async () => (await backendNames(sluice.adminUrl)).join() === 'after');
    await until('the reload line', () => reloads(sluice.stderr)[0]);
    assert.equal(reloads(sluice.stderr).length, 1);
    assert.equal((await chat(sluice.url)).headers.get('x-sluice-provider'), 'after');
  } finally {
    await sluice.stop();
  }
});

test('an invalid edit keeps the running configuration and logs why; the next valid edit applies', async () => {
  const sluice = await startSluice({ config: llmYaml('good'), args: ['--watch'] });
  try {
    const fs = await import('node:fs');
    const original = fs.readFileSync(sluice.file, 'utf8');
    // A misspelt field in the Backend, written in place.
    fs.writeFileSync(sluice.file, original.replace('host: 127.0.0.1', 'hots: 127.0.0.1'));
    const rejected = await until('the rejection', () =>
      logLines(sluice.stderr).find((l) => l.msg === 'reload rejected; keeping the running configuration'),
    );
    assert.equal(rejected.trigger, 'watch');
    const problems = logLines(sluice.stderr).filter((l) => l.msg === 'config problem' && l.level === 'error');
    assert.ok(
      problems.some((p) => p.problem.includes(sluice.file) && p.problem.includes('Backend/good') && p.problem.includes('hots')),
      `the problem names the file, the resource and the field: ${JSON.stringify(problems)}`,
    );
    assert.equal((await status(sluice.adminUrl)).generation, 1, 'still the first configuration');
    assert.equal((await chat(sluice.url)).status, 200, 'and it still serves');
    assert.equal(reloads(sluice.stderr).length, 0);

    fs.writeFileSync(sluice.file, original.replace(/good/g, 'fixed'));
    await until('the valid edit', async () => (await backendNames(sluice.adminUrl)).join() === 'fixed');
    const reload = await until('the reload line', () => reloads(sluice.stderr)[0]);
    assert.equal(reload.generation, 3, 'the rejected attempt counted as generation 2');
    assert.equal((await chat(sluice.url)).headers.get('x-sluice-provider'), 'fixed');
  } finally {
    await sluice.stop();
  }
});

test('a burst of writes gives one reload, of the last content', async () => {
  const sluice = await startSluice({ config: llmYaml('v0'), args: ['--watch'] });
  try {
    const fs = await import('node:fs');
    const original = fs.readFileSync(sluice.file, 'utf8');
    for (let i = 1; i <= 5; i++) {
      fs.writeFileSync(sluice.file, original.replace(/v0/g, `v${i}`));
      await sleep(40);
    }
    await until('the last version', async () => (await backendNames(sluice.adminUrl)).join() === 'v5');
    await sleep(800);
    assert.equal(reloads(sluice.stderr).length, 1, `one reload: ${JSON.stringify(reloads(sluice.stderr))}`);
    assert.equal((await status(sluice.adminUrl)).generation, 2);
  } finally {
    await sluice.stop();
  }
});

test('SIGHUP still reloads with --watch, through the same path', async () => {
  const sluice = await startSluice({ config: llmYaml('hup'), args: ['--watch'] });
  try {
    sluice.proc.kill('SIGHUP');
    const reload = await until('the reload', () => reloads(sluice.stderr)[0]);
    assert.equal(reload.trigger, 'SIGHUP');
    assert.equal(reload.generation, 2);
  } finally {
    await sluice.stop();
  }
});

test('/config shows the running configuration with every secret value redacted', async () => {
  const secrets = {
    stringData: 'sk-watch-secret-data-8c1f',
    data: 'base64-secret-value-77aa',
    inline: 'sk-inline-credential-5d2e',
    header: 'Bearer header-token-9b40',
    key: 'client-api-key-31f7',
    otlpHeader: 'otlp-collector-token-6e12',
  };
  const keyHash = (await import('node:crypto')).createHash('sha256').update(secrets.key).digest('hex');
  const sluice = await startSluice({
    // An exporter header is a credential too (a collector's token). Port 9: nothing is exported
    // in this test; the exporter's failures stay in its counters.
    gatewayExtra: `  telemetry: {otlp: {endpoint: "http://127.0.0.1:9", headers: {authorization: "${secrets.otlpHeader}"}}}\n`,
    config: `apiVersion: v1
kind: Secret
metadata: {name: provider-keys}
stringData: {apiKey: ${secrets.stringData}}
data: {other: ${Buffer.from(secrets.data).toString('base64')}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: by-ref}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: SecretRef, secretRef: {name: provider-keys}}}
      host: 127.0.0.1
      port: ${mock.port}
---
${aiBackendYaml({ name: 'inline', port: mock.port, auth: `{kind: Inline, inline: ${secrets.inline}}` })}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-upstream-auth, value: "${secrets.header}"}]}
    backendRefs: [{name: inline}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: keys}
spec:
  targetRefs: [{kind: HTTPRoute, name: llm}]
  auth:
    apiKey:
      keys: [{name: alice, keyHash: "sha256:${keyHash}"}]
`,
  });
  try {
    const res = await fetch(`${sluice.adminUrl}/config`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    const text = await res.text();
    for (const [what, value] of Object.entries({ ...secrets, base64: Buffer.from(secrets.data).toString('base64'), keyHash }))
      assert.ok(!text.includes(value), `/config shows the ${what} secret`);
    assert.ok(!text.includes('header-token-9b40'));
    const doc = JSON.parse(text);
    assert.equal(doc.generation, 1);
    assert.deepEqual(doc.sources, [sluice.file]);
    const find = (kind, name) => doc.resources.find((r) => r.kind === kind && r.metadata.name === name);
    assert.deepEqual(find('Secret', 'provider-keys').data, { apiKey: 'REDACTED', other: 'REDACTED' });
    assert.equal(find('Backend', 'inline').spec.llm.authToken.inline, 'REDACTED');
    assert.deepEqual(find('Backend', 'by-ref').spec.llm.authToken.secretRef, { name: 'provider-keys', key: 'apiKey' });
    assert.deepEqual(find('HTTPRoute', 'llm').spec.rules[0].filters[0].headerModifier.set, [{ name: 'x-upstream-auth', value: 'REDACTED' }]);
    assert.equal(find('TrafficPolicy', 'keys').spec.auth.apiKey.keys[0].keyHash, 'REDACTED');
    const gateway = find('Gateway', 'test');
    assert.equal(gateway.spec.admin.port, sluice.adminPort);
    assert.equal(gateway.spec.limits.drainTimeout, '30s', 'defaults are filled in');
    assert.equal(gateway.spec.telemetry.otlp.endpoint, 'http://127.0.0.1:9');
    assert.deepEqual(gateway.spec.telemetry.otlp.headers, [{ name: 'authorization', value: 'REDACTED' }]);
  } finally {
    await sluice.stop();
  }
});
