// A redis-server of the test's own (never the system service): on 127.0.0.1 and a free port,
// in a temporary directory, without persistence, optionally with a password.
// startRedis({password}) resolves once it answers PING, to
//   {port, password, cli(args) → stdout of `redis-cli -p port ...`, kill() (SIGKILL),
//    restart() (again on the same port), stop() (kill and remove the directory)}.
// redisInstalled() says whether redis-server can be run (tests skip otherwise).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, tempDir } from './harness.mjs';

export function redisInstalled() {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export async function startRedis({ password } = {}) {
  const dir = tempDir('sluice-redis-');
  const port = await freePort();
  let proc = null;
  const authArgs = password ? ['-a', password, '--no-auth-warning'] : [];
  const cli = (args) =>
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...authArgs, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();

  async function start() {
    const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
    if (password) args.push('--requirepass', password);
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        if (cli(['PING']) === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await sleep(20);
    }
  }

  async function kill() {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    port,
    password,
    cli,
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
