// The container image without a container builder (issue 13, packaging): what the Dockerfile's
// runtime stage holds is what scripts/image-rootfs.sh stages, so the test runs that script on the
// build's binaries and checks that
//  - the staged file system is self-sufficient: the staged dynamic loader runs both binaries, every
//    library they need resolving inside it (no ld.so cache);
//  - it holds the CA bundle where OpenSSL's default paths look, the unprivileged user, the
//    default configuration and the examples, and nothing that can run a shell;
//  - the Dockerfile runs that user, exposes the ports of the default configuration and serves
//    /etc/sluice, and the Kubernetes manifests run the same user;
//  - the image's configurations validate with the environment the docs give them.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { binDir, tempDir } from '../lib/harness.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let rootfs;

before(() => {
  rootfs = path.join(tempDir('sluice-rootfs-'), 'rootfs');
  const run = spawnSync(path.join(repo, 'scripts/image-rootfs.sh'), [binDir, rootfs], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});
after(() => rmSync(path.dirname(rootfs), { recursive: true, force: true }));

const dockerfile = () => readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
// The instructions of the last stage (the runtime one).
function runtimeStage() {
  const lines = dockerfile().split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const start = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  return lines.slice(start);
}
const instruction = (stage, name) =>
  stage.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

test('the staged loader runs both binaries with the staged libraries alone', () => {
  const loader = path.join(rootfs, 'lib64/ld-linux-x86-64.so.2');
  assert.ok(existsSync(loader), 'the dynamic loader is staged');
  const libraryPath = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64']
    .map((d) => path.join(rootfs, d))
    .join(':');
  for (const [binary, args, expect] of [
    ['sluice', ['version'], /sluice/],
    ['sluice-mock', ['--help'], /--port/],
  ]) {
    const run = spawnSync(loader, ['--inhibit-cache', '--library-path', libraryPath, path.join(rootfs, 'usr/bin', binary), ...args], {
      encoding: 'utf8',
      env: { PATH: '/nonexistent' },
    });
    assert.equal(run.status, 0, `${binary}: ${run.stderr}`);
    assert.match(run.stdout, expect);
    // The loader falls back to the system's directories for what the library path lacks: every
    // library must resolve inside the staged file system.
    const list = spawnSync(loader, ['--inhibit-cache', '--library-path', libraryPath, '--list', path.join(rootfs, 'usr/bin', binary)], {
      encoding: 'utf8',
    });
    assert.equal(list.status, 0, list.stderr);
    const resolved = [...list.stdout.matchAll(/=> (\S+)/g)].map((m) => m[1]);
    assert.ok(resolved.length > 3, `${binary}: ${list.stdout}`);
    for (const library of resolved) assert.ok(library.startsWith(rootfs), `${binary}: ${library} is staged`);
    // Stripped: no symbol table left.
    const symbols = spawnSync('nm', [path.join(rootfs, 'usr/bin', binary)], { encoding: 'utf8' });
    assert.match(symbols.stderr, /no symbols/, `${binary} is stripped`);
  }
});

test('the CA bundle, the user, the configurations; no shell', () => {
  const bundle = readFileSync(path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
  assert.match(bundle, /BEGIN CERTIFICATE/);
  assert.equal(readlinkSync(path.join(rootfs, 'usr/lib/ssl/cert.pem')), '/etc/ssl/certs/ca-certificates.crt');
  assert.match(readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8'), /^sluice:x:65532:65532:/m);
  assert.equal(lstatSync(path.join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(
    readFileSync(path.join(rootfs, 'etc/sluice/sluice.yaml'), 'utf8'),
    readFileSync(path.join(repo, 'deploy/container/sluice.yaml'), 'utf8'),
  );
  assert.ok(existsSync(path.join(rootfs, 'usr/share/sluice/examples/mock-demo.yaml')));
  for (const shell of ['bin/sh', 'bin/bash', 'usr/bin/sh', 'usr/bin/env']) {
    assert.ok(!existsSync(path.join(rootfs, shell)), `no ${shell}`);
  }
});

test('the Dockerfile runs the unprivileged user on /etc/sluice and exposes the configured ports', () => {
  const stage = runtimeStage();
  assert.match(stage[0], /^FROM scratch\b/i);
  assert.deepEqual(instruction(stage, 'USER'), ['65532:65532']);
  assert.deepEqual(instruction(stage, 'ENTRYPOINT').map((v) => JSON.parse(v)), [['/usr/bin/sluice']]);
  assert.deepEqual(instruction(stage, 'CMD').map((v) => JSON.parse(v)), [['serve', '-c', '/etc/sluice']]);
  const exposed = instruction(stage, 'EXPOSE').flatMap((v) => v.split(/\s+/)).map(Number);
  const gateway = parseAllDocuments(readFileSync(path.join(repo, 'deploy/container/sluice.yaml'), 'utf8'))
    .map((d) => d.toJS())
    .find((r) => r.kind === 'Gateway');
  for (const port of [...gateway.spec.listeners.map((l) => l.port), gateway.spec.admin.port, 8090]) {
    assert.ok(exposed.includes(port), `EXPOSE ${port}`);
  }
  const deployment = parse(readFileSync(path.join(repo, 'deploy/kubernetes/deployment.yaml'), 'utf8'));
  assert.equal(deployment.spec.template.spec.securityContext.runAsUser, 65532, 'Kubernetes runs the image user');
});

test('the image configurations validate', () => {
  for (const [file, env] of [
    ['sluice.yaml', { OPENAI_API_KEY: 'sk-test' }],
    ['mock-demo.yaml', { SLUICE_MOCK_HOST: 'mock' }],
  ]) {
    const run = spawnSync(path.join(binDir, 'sluice'), ['validate', '-c', path.join(repo, 'deploy/container', file)], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });
    assert.equal(run.status, 0, `${file}: ${run.stderr}`);
  }
});
