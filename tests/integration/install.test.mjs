// `make install` / `cmake --install` (issue 13, packaging): the build's install rules put the two
// binaries, the systemd unit (naming the binary under the prefix given at install time, reloading
// with SIGHUP, waiting longer than the default drain), the documentation and an example
// configuration under a fresh prefix; the unit passes `systemd-analyze verify` where systemd's
// tools exist; the installed example validates with the installed binary once its key is set.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { binDir, tempDir } from '../lib/harness.mjs';

const buildDir = path.dirname(path.resolve(binDir));
let prefix;

before(() => {
  prefix = tempDir('sluice-install-');
  execFileSync('cmake', ['--install', buildDir, '--prefix', prefix], { stdio: 'pipe' });
});
after(() => rmSync(prefix, { recursive: true, force: true }));

const unitPath = () => path.join(prefix, 'lib/systemd/system/sluice.service');
const directive = (unit, name) =>
  unit
    .split('\n')
    .filter((line) => line.startsWith(`${name}=`))
    .map((line) => line.slice(name.length + 1));

test('the binaries are installed and run', () => {
  for (const name of ['sluice', 'sluice-mock']) accessSync(path.join(prefix, 'bin', name), constants.X_OK);
  const version = execFileSync(path.join(prefix, 'bin/sluice'), ['version']).toString();
  assert.match(version, /sluice/);
});

test('the systemd unit runs the installed binary, reloads with SIGHUP and outlasts the drain', () => {
  const unit = readFileSync(unitPath(), 'utf8');
  assert.deepEqual(directive(unit, 'ExecStart'), [`${prefix}/bin/sluice serve -c /etc/sluice`]);
  assert.deepEqual(directive(unit, 'ExecStartPre'), [`${prefix}/bin/sluice validate -c /etc/sluice`]);
  assert.deepEqual(directive(unit, 'ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.deepEqual(directive(unit, 'KillSignal'), ['SIGTERM']);
  // Gateway spec.limits.drainTimeout defaults to 30 s: systemd must not kill a drain.
  assert.ok(Number(directive(unit, 'TimeoutStopSec')[0]) > 30);
  assert.deepEqual(directive(unit, 'ConfigurationDirectory'), ['sluice']);
  assert.deepEqual(directive(unit, 'NoNewPrivileges'), ['yes']);
  assert.doesNotMatch(unit, /@[A-Z_]+@/, 'every placeholder was filled');
});

test('systemd-analyze verify accepts the unit', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
  if (which.status !== 0) {
    t.skip('systemd-analyze is not installed here');
    return;
  }
  const verify = spawnSync('systemd-analyze', ['verify', unitPath()], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', verify.stderr);
});

test('the docs and the example configuration are installed; the example validates once its key is set', () => {
  const docs = path.join(prefix, 'share/doc/sluice');
  for (const doc of ['configuration.md', 'operations.md', 'deploy.md']) assert.ok(existsSync(path.join(docs, doc)), doc);
  const example = path.join(docs, 'examples/sluice.yaml');
  const sluice = path.join(prefix, 'bin/sluice');
  const env = { ...process.env };
  delete env.OPENAI_API_KEY;
  const missing = spawnSync(sluice, ['validate', '-c', example], { env, encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stdout + missing.stderr, /environment variable OPENAI_API_KEY is not set/);
  const ok = spawnSync(sluice, ['validate', '-c', example], {
    env: { ...env, OPENAI_API_KEY: 'sk-install-test' },
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /OK \(4 resources\)/);
});
