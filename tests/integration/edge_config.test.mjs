// Hardened edge, process level: a second `sluice serve` on a port already served fails with
// "address in use" unless --reuse-port; a listener off loopback is warned about; a YAML alias
// bomb or a symlink loop in the config directory is a diagnostic for `validate` and a rejected
// reload for `serve`; values from ${ENV} never reach validate messages, /status or the logs;
// credential query parameters are redacted in the access log.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { symlinkSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  binDir, tempDir, freePort, gatewayYaml, startMock, startSluice, runValidate, aiBackendYaml, routeYaml, chatBody,
} from '../lib/harness.mjs';

let mock;
before(async () => {
  mock = await startMock();
});
after(async () => {
  await mock?.stop();
});

const simpleConfig = () => `${aiBackendYaml({ port: mock.port })}---
${routeYaml({ rules: '  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: mock}]\n' })}`;

// Runs `sluice serve` with `args`; resolves when it exits or when `until` matches a stderr line.
function serve(file, args = [], env = {}) {
  const proc = spawn(path.join(binDir, 'sluice'), ['serve', '-c', file, '--workers', '1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const out = { stderr: '', stdout: '', code: null };
  proc.stderr.on('data', (d) => (out.stderr += d));
  proc.stdout.on('data', (d) => (out.stdout += d));
  out.exited = new Promise((resolve) => proc.once('exit', (code) => resolve((out.code = code))));
  out.proc = proc;
  return out;
}

async function waitFor(predicate, what, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// A config file for a second process on `port` (its own admin port).
async function configOnPort(port, address = '127.0.0.1') {
  const dir = tempDir();
  const file = path.join(dir, 'sluice.yaml');
  const adminPort = await freePort();
  const gateway = gatewayYaml({ port, adminPort }).replace('address: 127.0.0.1, port', `address: ${address}, port`);
  writeFileSync(file, `${gateway}---\n${simpleConfig()}`);
  return { dir, file };
}

test('a second serve on a served port fails with "address in use"; --reuse-port shares on purpose', async () => {
  const first = await startSluice({ config: simpleConfig() });
  const { dir, file } = await configOnPort(first.port);
  try {
    const second = serve(file);
    const code = await second.exited;
    assert.notEqual(code, 0);
    assert.match(second.stderr, /address in use/);
    assert.match(second.stderr, new RegExp(`listener \\\\"http\\\\".*127\\.0\\.0\\.1:${first.port}`));

    const sharing = serve(file, ['--reuse-port']);
    await waitFor(() => sharing.stderr.includes('"listening"') || sharing.code !== null, 'the sharing process');
    assert.equal(sharing.code, null, sharing.stderr);
    sharing.proc.kill('SIGTERM');
    assert.equal(await sharing.exited, 0);
    assert.equal((await fetch(first.url + '/v1/chat/completions', { method: 'POST', body: chatBody() })).status, 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await first.stop();
  }
});

test('a listener off loopback is warned about at start, naming it; loopback is not', async () => {
  const port = await freePort();
  const { dir, file } = await configOnPort(port, '0.0.0.0');
  try {
    const wide = serve(file);
    await waitFor(() => wide.stderr.includes('"listening"') || wide.code !== null, 'start');
    const warnings = wide.stderr.split('\n').filter((l) => l.includes('not on loopback'));
    assert.equal(warnings.length, 1, wide.stderr);
    assert.match(warnings[0], /"listener":"http"/);
    assert.match(warnings[0], new RegExp(`0\\.0\\.0\\.0:${port}`));
    assert.match(warnings[0], /provider keys/);
    wide.proc.kill('SIGTERM');
    await wide.exited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const local = await startSluice({ config: simpleConfig() });
  await local.stop();
  assert.ok(!local.stderr.some((l) => l.includes('not on loopback')));
});

function aliasBomb() {
  let text = 'apiVersion: v1\nkind: Secret\nmetadata: {name: bomb}\nx0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i <= 9; i++) text += `x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  return text + 'stringData: {k: *a9}\n';
}

test('validate: a YAML alias bomb is an error in well under two seconds', async () => {
  const started = Date.now();
  const { code, stderr, file } = await runValidate(aliasBomb());
  assert.equal(code, 1);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.ok(stderr.includes(file), stderr);
  assert.match(stderr, /aliases expanded/);
});

test('serve: a symlink loop or an alias bomb in the config directory is a rejected reload', async () => {
  const configDir = tempDir();
  const port = await freePort();
  const adminPort = await freePort();
  writeFileSync(path.join(configDir, 'sluice.yaml'), `${gatewayYaml({ port, adminPort })}---\n${simpleConfig()}`);
  const running = serve(configDir);
  try {
    await waitFor(() => running.stderr.includes('"listening"') || running.code !== null, 'start');
    assert.equal(running.code, null, running.stderr);
    symlinkSync(path.join(configDir, 'loop.yaml'), path.join(configDir, 'loop.yaml'));
    running.proc.kill('SIGHUP');
    await waitFor(() => running.stderr.includes('reload rejected'), 'the rejected reload');
    assert.match(running.stderr, /loop\.yaml/);
    rmSync(path.join(configDir, 'loop.yaml'));
    writeFileSync(path.join(configDir, 'bomb.yaml'), aliasBomb());
    const before = running.stderr.split('reload rejected').length;
    running.proc.kill('SIGHUP');
    await waitFor(() => running.stderr.split('reload rejected').length > before, 'the second rejected reload');
    assert.match(running.stderr, /bomb\.yaml.*aliases expanded/);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: chatBody() });
    assert.equal(res.status, 200, 'the running configuration still serves');
  } finally {
    running.proc.kill('SIGTERM');
    await running.exited;
    rmSync(configDir, { recursive: true, force: true });
  }
});

test('validate: a bad value from ${ENV} is quoted as the reference, never the value', async () => {
  const env = { SLUICE_IT_KEY: 'sk-it-very-secret\r\nX-Injected: 1', SLUICE_IT_HEADER: 'Bad Header Secret' };
  const { code, stderr } = await runValidate(
    `${aiBackendYaml({
      port: 1,
      auth: '{kind: Inline, inline: "${SLUICE_IT_KEY}"}',
      llm: '      authHeader: {headerName: "${SLUICE_IT_HEADER}"}\n',
    })}`,
    env,
  );
  assert.equal(code, 1);
  assert.match(stderr, /\$\{SLUICE_IT_KEY\}/);
  assert.match(stderr, /\$\{SLUICE_IT_HEADER\}/);
  assert.ok(!stderr.includes('very-secret') && !stderr.includes('Header Secret'), stderr);
});

test('secrets from ${ENV} reach neither /status nor the logs; credential query params are redacted', async () => {
  const secretValue = 'sk-it-env-secret-value';
  const sluice = await startSluice({
    config: `apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {apiKey: "\${SLUICE_IT_SECRET}"}
---
${aiBackendYaml({ port: mock.port, auth: '{kind: SecretRef, secretRef: {name: keys}}' })}---
${routeYaml({ rules: '  - matches: [{path: {type: PathPrefix, value: /v1}}]\n    backendRefs: [{name: mock}]\n' })}`,
    env: { SLUICE_IT_SECRET: secretValue },
  });
  try {
    const res = await fetch(`${sluice.url}/v1/chat/completions?key=AIzaQuerySecret&x=1`, { method: 'POST', body: chatBody() });
    assert.equal(res.status, 200);
    const line = await sluice.waitForAccessLog((l) => l.path.startsWith('/v1/chat/completions'));
    assert.equal(line.path, '/v1/chat/completions?key=REDACTED&x=1');
    const status = await (await fetch(`${sluice.adminUrl}/status`)).text();
    assert.ok(!status.includes(secretValue), status);
    sluice.proc.kill('SIGHUP');
    await waitFor(() => sluice.stderr.some((l) => l.includes('configuration reloaded')), 'reload');
  } finally {
    await sluice.stop();
  }
  const everything = sluice.stdout.join('\n') + sluice.stderr.join('\n');
  assert.ok(!everything.includes(secretValue));
  assert.ok(!everything.includes('AIzaQuerySecret'));
});
