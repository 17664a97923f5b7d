// SIGUSR1 reopens the access-log file (issue 13, access log: log rotation). A file access log is
// written, moved away as logrotate does, SIGUSR1 sent: the next lines go to a new file at the
// configured path, none to the moved one, with two workers writing; an access log on standard
// output has nothing to reopen and keeps working; a path that cannot be opened again keeps the
// old file.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMock, startSluice, tempDir } from '../lib/harness.mjs';
import { aiBackend, prefixRule } from '../lib/config_yaml.mjs';

let mock;
before(async () => {
  mock = await startMock();
});
after(async () => {
  await mock?.stop();
});

const routes = () =>
  aiBackend('mock', 'openai: {authToken: {kind: Inline, inline: sk-p}}', mock.port) +
  `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${prefixRule('m', 'mock')}`;

const chat = async (sluice, tag) => {
  const res = await fetch(`${sluice.url}/m/v1/chat/completions?tag=${tag}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  await res.text();
};

const linesOf = (file) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

async function waitFor(check, what, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('SIGUSR1: after a rename, new lines go to a new file at the path; none to the moved one', async () => {
  const dir = tempDir('sluice-logs-');
  const file = path.join(dir, 'access.log');
  const sluice = await startSluice({
    config: routes(),
    workers: 2,
    gatewayExtra: `  accessLog: {enabled: true, path: ${file}}\n`,
  });
  try {
    for (let i = 0; i < 4; i++) await chat(sluice, `before${i}`);
    await waitFor(() => linesOf(file).length === 4, 'four lines in the first file');
    renameSync(file, `${file}.1`);
    sluice.proc.kill('SIGUSR1');
    await waitFor(() => sluice.stderr.some((l) => l.includes('access log reopened')), 'the reopen message');
    assert.ok(existsSync(file), 'a new file exists at the path');
    for (let i = 0; i < 4; i++) await chat(sluice, `after${i}`);
    await waitFor(() => linesOf(file).length === 4, 'four lines in the new file');
    assert.deepEqual(
      linesOf(`${file}.1`).map((l) => l.path.split('tag=')[1]).sort(),
      ['before0', 'before1', 'before2', 'before3'],
    );
    assert.deepEqual(
      linesOf(file).map((l) => l.path.split('tag=')[1]).sort(),
      ['after0', 'after1', 'after2', 'after3'],
    );
  } finally {
    await sluice.stop();
  }
});

test('SIGUSR1: a path that cannot be opened again keeps the old file and says why', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('root opens any file: the permission cannot be taken away here');
    return;
  }
  const dir = tempDir('sluice-logs-');
  const logs = path.join(dir, 'logs');
  mkdirSync(logs);
  const file = path.join(logs, 'access.log');
  const sluice = await startSluice({ config: routes(), gatewayExtra: `  accessLog: {enabled: true, path: ${file}}\n` });
  try {
    renameSync(file, `${file}.1`);
    chmodSync(logs, 0o500);
    sluice.proc.kill('SIGUSR1');
    await waitFor(() => sluice.stderr.some((l) => l.includes('cannot reopen access log')), 'the error');
    await chat(sluice, 'kept');
    await waitFor(() => linesOf(`${file}.1`).length === 1, 'the line in the old file');
  } finally {
    chmodSync(logs, 0o700);
    await sluice.stop();
  }
});

test('SIGUSR1 with the access log on standard output: nothing to reopen, logging goes on', async () => {
  const sluice = await startSluice({ config: routes() });
  try {
    sluice.proc.kill('SIGUSR1');
    await waitFor(() => sluice.stderr.some((l) => l.includes('no access-log file to reopen')), 'the message');
    await chat(sluice, 'stdout');
    await sluice.waitForAccessLog((l) => l.path.includes('tag=stdout'));
  } finally {
    await sluice.stop();
  }
});
