// Test harness for integration and end-to-end tests: starts the real `sluice` and
// `sluice-mock` binaries on ephemeral loopback ports and stops them afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const binDir = process.env.SLUICE_BIN_DIR ?? fileURLToPath(new URL('../../build/bin/', import.meta.url));

export function tempDir(prefix = 'sluice-test-') {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function collectLines(stream, sink) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      sink.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
}

function exitPromise(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
    else proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

// Starts sluice-mock (on an ephemeral port unless `port` is given). `args` are extra CLI flags.
export async function startMock(args = [], { port = 0 } = {}) {
  const proc = spawn(path.join(binDir, 'sluice-mock'), ['--address', '127.0.0.1', '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = [];
  const stderr = [];
  collectLines(proc.stdout, stdout);
  collectLines(proc.stderr, stderr);
  const exited = exitPromise(proc);
  const deadline = Date.now() + 10_000;
  while (stdout.length === 0) {
    if (proc.exitCode !== null) throw new Error(`sluice-mock exited early: ${stderr.join('\n')}`);
    if (Date.now() > deadline) throw new Error('sluice-mock did not start');
    await sleep(10);
  }
  const info = JSON.parse(stdout[0]);
  const scheme = info.tls ? 'https' : 'http';
  return {
    proc,
    port: info.port,
    url: `${scheme}://127.0.0.1:${info.port}`,
    stdout,
    stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

// The Gateway document the harness prepends: listener and admin on fresh ports.
// `listeners`: more listener lines ("  - {name: ..., ...}\n") after the plaintext one.
export function gatewayYaml({ port, adminPort, limits, extra = '', listeners = '' }) {
  const limitLines = limits
    ? '  limits:\n' + Object.entries(limits).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n') + '\n'
    : '';
  return `apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: test}
spec:
  listeners:
  - {name: http, address: 127.0.0.1, port: ${port}}
${listeners}  admin: {address: 127.0.0.1, port: ${adminPort}}
${limitLines}${extra}`;
}

// Starts `sluice serve` with `config` (YAML resources; a Gateway is prepended unless
// `rawConfig` is set) and waits until /readyz answers.
// `args`: more `sluice serve` flags (e.g. --test-clock).
export async function startSluice({ config, rawConfig = false, env = {}, workers = 1, limits, gatewayExtra, listeners, args = [] } = {}) {
  const dir = tempDir();
  const port = await freePort();
  // The kernel may hand the port just closed out again: the admin port must differ.
  let adminPort = await freePort();
  while (adminPort === port) adminPort = await freePort();
  const file = path.join(dir, 'sluice.yaml');
  const text = rawConfig ? config : `${gatewayYaml({ port, adminPort, limits, extra: gatewayExtra, listeners })}---\n${config}`;
  writeFileSync(file, text);
  const proc = spawn(path.join(binDir, 'sluice'), ['serve', '-c', file, '--workers', String(workers), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const stdout = [];
  const stderr = [];
  collectLines(proc.stdout, stdout);
  collectLines(proc.stderr, stderr);
  const exited = exitPromise(proc);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sluice exited early (${proc.exitCode}): ${stderr.join('\n')}`);
    }
    try {
      const res = await fetch(`${adminUrl}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sluice did not become ready: ${stderr.join('\n')}`);
    await sleep(20);
  }
  return {
    proc,
    dir,
    file,
    port,
    adminPort,
    url: `http://127.0.0.1:${port}`,
    adminUrl,
    stdout,
    stderr,
    exited,
    // Parsed access-log lines (the access log goes to stdout, flushed every 100 ms).
    accessLog() {
      return stdout.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    },
    async waitForAccessLog(predicate, timeoutMs = 3000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = this.accessLog().find(predicate);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no matching access-log line; have:\n${stdout.join('\n')}`);
        await sleep(20);
      }
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const result = await exited;
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
}

// Runs `sluice validate -c file` on `text`; resolves to {code, stdout, stderr}.
export async function runValidate(text, env = {}) {
  const dir = tempDir();
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, text);
  const proc = spawn(path.join(binDir, 'sluice'), ['validate', '-c', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const { code } = await exitPromise(proc);
  rmSync(dir, { recursive: true, force: true });
  return { code, stdout, stderr, file };
}

// A minimal AI Backend + HTTPRoute pair pointing at a mock.
export function aiBackendYaml({ name = 'mock', port, llm = '', provider = 'openai', auth = '{kind: Inline, inline: sk-test}', model } = {}) {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      ${provider}: {authToken: ${auth}${model ? `, model: ${model}` : ''}}
      host: 127.0.0.1
      port: ${port}
${llm}`;
}

export function routeYaml({ name = 'llm', rules }) {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}}
spec:
  rules:
${rules}`;
}

export const chatBody = (extra = {}) =>
  JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }], ...extra });
