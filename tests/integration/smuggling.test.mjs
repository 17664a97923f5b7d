// Differential request-smuggling test: every byte stream of a smuggling corpus goes, raw over one
// TCP connection, to Debian's nginx and to Sluice, both proxying to their own capture upstream
// (tests/lib/capture_upstream.mjs, a strict HTTP/1.1 parser). The property checked per case:
// Sluice never produces a request at its upstream that nginx would not have produced — either
// the same sequence of requests (count, method, path, body) or Sluice refused (its last response
// is a 400/413/431/501, and what it forwarded before is a prefix of what nginx forwarded).
// Sluice may be stricter than nginx (e.g. nginx accepts bare LF line endings), never looser; where
// nginx is stricter than RFC 9112 for no framing reason, a case names the RFC-correct sequence
// (`rfc`), which Sluice may produce instead.
// Needs nginx (scripts/install-deps.sh installs nginx-light) and fails without it; the cases run one after the other,
// nginx and Sluice in parallel, each bounded by a short quiet window.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startSluice, tempDir } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';

const REFUSALS = new Set([400, 413, 431, 501]);
const FIRST_BYTE_MS = 1500;  // a probe without any answer ends this long after its bytes were sent
const QUIET_MS = 400;  // after an answer, a probe ends this long after the last byte received
const PROBE_CAP_MS = 3000;  // the longest a probe may run (the servers time out bodies after 1-2 s)
const SETTLE_MS = 120;  // after a probe, the time a proxy's last upstream request has to arrive

const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ??
  (() => { try { return execFileSync('sh', ['-c', 'command -v nginx']).toString().trim() || null; } catch { return null; } })();

// ---- the corpus -------------------------------------------------------------------------------
const H = 'Host: smuggle.test\r\n';
const SMUGGLED = 'GET /admin HTTP/1.1\r\nHost: smuggle.test\r\n\r\n';
const hex = (s) => Buffer.byteLength(s, 'latin1').toString(16);
const chunked = (body) => `${hex(body)}\r\n${body}\r\n0\r\n\r\n`;
const post = (headers, body = '', line = 'POST /c HTTP/1.1') => `${line}\r\n${headers}\r\n${body}`;

const CL_TE_BODY = `0\r\n\r\n${SMUGGLED}`;
const TE_CL_BODY = `${hex(SMUGGLED)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;

const corpus = [
  // Baselines: both must forward exactly these.
  ['baseline GET', `GET /c HTTP/1.1\r\n${H}\r\n`],
  ['baseline POST Content-Length', post(`${H}Content-Length: 5\r\n`, 'hello')],
  ['baseline POST chunked', post(`${H}Transfer-Encoding: chunked\r\n`, chunked('hello'))],
  ['pipelined GET GET', `GET /p1 HTTP/1.1\r\n${H}\r\nGET /p2 HTTP/1.1\r\n${H}\r\n`],
  ['body then GET /admin (CL)', post(`${H}Content-Length: 5\r\n`, `hello${SMUGGLED}`)],
  ['body then GET /admin (chunked)', post(`${H}Transfer-Encoding: chunked\r\n`, `${chunked('hello')}${SMUGGLED}`)],
  // Classic desyncs.
  ['CL.TE', post(`${H}Content-Length: ${CL_TE_BODY.length}\r\nTransfer-Encoding: chunked\r\n`, CL_TE_BODY)],
  ['TE.CL', post(`${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`, TE_CL_BODY)],
  ['TE + CL benign (CL first)', post(`${H}Content-Length: 15\r\nTransfer-Encoding: chunked\r\n`, chunked('hello'))],
  ['TE + CL benign (TE first)', post(`${H}Transfer-Encoding: chunked\r\nContent-Length: 15\r\n`, chunked('hello'))],
  ['TE.0 (chunk carrying a request)', post(`${H}Transfer-Encoding: chunked\r\n`, TE_CL_BODY)],
  ['CL.0 (GET with body)', `GET /c HTTP/1.1\r\n${H}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  // Transfer-Encoding values that do not end in chunked, or are obfuscated.
  ['TE xchunked', post(`${H}Transfer-Encoding: xchunked\r\n`, chunked('hello'))],
  ['TE xchunked + CL', post(`${H}Transfer-Encoding: xchunked\r\nContent-Length: ${CL_TE_BODY.length}\r\n`, CL_TE_BODY)],
  ['TE gzip', post(`${H}Transfer-Encoding: gzip\r\n`, chunked('hello'))],
  ['TE chunked, identity', post(`${H}Transfer-Encoding: chunked, identity\r\n`, chunked('hello'))],
  ['TE identity', post(`${H}Transfer-Encoding: identity\r\nContent-Length: 5\r\n`, 'hello')],
  ['TE gzip, chunked', post(`${H}Transfer-Encoding: gzip, chunked\r\n`, chunked('hello'))],
  ['TE "Chunked" (case)', post(`${H}Transfer-Encoding: Chunked\r\n`, chunked('hello'))],
  ['TE "  chunked" (extra OWS)', post(`${H}Transfer-Encoding:   chunked\r\n`, chunked('hello'))],
  ['TE "chunked " (trailing OWS)', post(`${H}Transfer-Encoding: chunked \r\n`, chunked('hello'))],
  // nginx 1.22 answers 501 (it strips only spaces, not tabs, around the value); HTTP tab is OWS
  // (RFC 9110 §5.6.3), so forwarding the one request is also correct.
  ['TE tab chunked', post(`${H}Transfer-Encoding:\tchunked\r\n`, chunked('hello')), { rfc: ['POST /c body="hello"'] }],
  ['TE \\x0bchunked', post(`${H}Transfer-Encoding: \x0bchunked\r\nContent-Length: ${CL_TE_BODY.length}\r\n`, CL_TE_BODY)],
  ['TE chunked\\x0b', post(`${H}Transfer-Encoding: chunked\x0b\r\n`, chunked('hello'))],
  ['TE name with space before colon', post(`${H}Transfer-Encoding : chunked\r\n`, chunked('hello'))],
  ['TE name with tab before colon', post(`${H}Transfer-Encoding\t: chunked\r\n`, chunked('hello'))],
  ['two TE fields chunked+chunked', post(`${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`, chunked('hello'))],
  ['two TE fields gzip+chunked', post(`${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n`, chunked('hello'))],
  ['two TE fields chunked+identity', post(`${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n`, chunked('hello'))],
  ['TE in HTTP/1.0', post(`${H}Transfer-Encoding: chunked\r\n`, chunked('hello'), 'POST /c HTTP/1.0')],
  ['TE + CL in HTTP/1.0', post(`${H}Transfer-Encoding: chunked\r\nContent-Length: ${CL_TE_BODY.length}\r\n`, CL_TE_BODY, 'POST /c HTTP/1.0')],
  // obs-fold and line endings.
  ['obs-fold on TE', post(`${H}Transfer-Encoding:\r\n chunked\r\n`, chunked('hello'))],
  ['obs-fold on CL', post(`${H}Content-Length:\r\n 5\r\n`, 'hello')],
  ['obs-fold on Host', `GET /c HTTP/1.1\r\nHost: smuggle.test\r\n other.test\r\n\r\n`],
  ['bare LF head', `GET /c HTTP/1.1\nHost: smuggle.test\n\n`],
  ['bare LF in chunked body', post(`${H}Transfer-Encoding: chunked\r\n`, `5\nhello\n0\n\n`)],
  ['bare CR in header', post(`${H}X-A: 1\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n`, 'hello')],
  // Content-Length forms.
  ['duplicate CL same value', post(`${H}Content-Length: 5\r\nContent-Length: 5\r\n`, 'hello')],
  ['duplicate CL different values', post(`${H}Content-Length: 5\r\nContent-Length: 6\r\n`, `hello!${SMUGGLED}`)],
  ['CL list "5, 5"', post(`${H}Content-Length: 5, 5\r\n`, 'hello')],
  ['CL +5', post(`${H}Content-Length: +5\r\n`, 'hello')],
  ['CL -1', post(`${H}Content-Length: -1\r\n`, 'hello')],
  ['CL hex 0x5', post(`${H}Content-Length: 0x5\r\n`, 'hello')],
  ['CL overflow', post(`${H}Content-Length: 184467440737095516160\r\n`, 'hello')],
  // Host and target.
  ['duplicate Host', `GET /c HTTP/1.1\r\n${H}Host: other.test\r\n\r\n`],
  ['missing Host (HTTP/1.1)', `GET /c HTTP/1.1\r\n\r\n`],
  ['absolute-form, other Host', `GET http://other.test/abs HTTP/1.1\r\n${H}\r\n`],
  ['fragment in target', `GET /c#/../admin HTTP/1.1\r\n${H}\r\n`],
  // Chunked framing details.
  ['chunk-size overflow', post(`${H}Transfer-Encoding: chunked\r\n`, `ffffffffffffffffff\r\nhello\r\n0\r\n\r\n`)],
  ['chunk-size 2^64+5 wraps', post(`${H}Transfer-Encoding: chunked\r\n`, `10000000000000005\r\nhello\r\n0\r\n\r\n${SMUGGLED}`)],
  ['chunk extension', post(`${H}Transfer-Encoding: chunked\r\n`, `5;name=value;q="a b"\r\nhello\r\n0;last\r\n\r\n`)],
  ['chunk data longer than size', post(`${H}Transfer-Encoding: chunked\r\n`, `3\r\nhello\r\n0\r\n\r\n`)],
  ['trailer fields', post(`${H}Transfer-Encoding: chunked\r\n`, `5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n`)],
  ['trailer with Content-Length', post(`${H}Transfer-Encoding: chunked\r\n`, `5\r\nhello\r\n0\r\nContent-Length: 60\r\n\r\n${SMUGGLED}`)],
];

// ---- probing ----------------------------------------------------------------------------------
// Sends `bytes` on one connection; resolves to {statuses, closed, received} once the server closed
// the connection, or FIRST_BYTE_MS passed without an answer, or QUIET_MS passed without a byte
// after one, or PROBE_CAP_MS passed.
function probe(port, bytes) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let closed = false;
    let timer;
    const started = Date.now();
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks).toString('latin1');
      const statuses = [...received.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ statuses, closed, received });
    };
    const arm = () => {
      clearTimeout(timer);
      const wait = chunks.length ? QUIET_MS : FIRST_BYTE_MS;
      timer = setTimeout(finish, Math.min(wait, Math.max(0, PROBE_CAP_MS - (Date.now() - started))));
    };
    socket.on('connect', () => {
      socket.write(Buffer.from(bytes, 'latin1'));
      arm();
    });
    socket.on('data', (d) => {
      chunks.push(d);
      arm();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });
}

const key = (r) =>
  r.error ? `UNFRAMEABLE(${r.error})` : `${r.method} ${r.target}${r.body ? ` body=${JSON.stringify(r.body)}` : ''}`;

function describe(front) {
  const fwd = front.forwarded.map(key);
  const partial = front.partial ? ' +partial' : '';
  return `fwd[${fwd.join(' | ')}]${partial} resp[${front.statuses.join(',')}]${front.closed ? ' closed' : ''}`;
}

// ---- setup ------------------------------------------------------------------------------------
let nginx;
let nginxDir;
let nginxPort;
let sluice;
let upNginx;
let upSluice;
const table = [];

before(async () => {
  if (!nginxBin) throw new Error('nginx not found: the smuggling test needs it (scripts/install-deps.sh installs nginx-light)');
  upNginx = await startCaptureUpstream();
  upSluice = await startCaptureUpstream();
  nginxDir = tempDir('sluice-nginx-');
  nginxPort = await freePort();
  for (const d of ['body', 'proxy']) mkdirSync(path.join(nginxDir, d));
  const conf = path.join(nginxDir, 'nginx.conf');
  writeFileSync(
    conf,
    `user root;
worker_processes 1;
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${nginxDir}/body;
  proxy_temp_path ${nginxDir}/proxy;
  fastcgi_temp_path ${nginxDir}/proxy;
  uwsgi_temp_path ${nginxDir}/proxy;
  scgi_temp_path ${nginxDir}/proxy;
  client_header_timeout 1s;
  client_body_timeout 1s;
  keepalive_timeout 5s;
  upstream capture {
    server 127.0.0.1:${upNginx.port};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://capture;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  nginx = spawn(nginxBin, ['-e', `${nginxDir}/error.log`, '-p', nginxDir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let nginxErr = '';
  nginx.stderr.on('data', (d) => (nginxErr += d));
  sluice = await startSluice({
    limits: { requestHeaderTimeout: '1s', idleTimeout: '2s' },
    config: `
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: capture}
spec:
  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: ${upSluice.port}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: capture}]
`,
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxErr}`);
    const up = await new Promise((resolve) => {
      const s = net.connect(nginxPort, '127.0.0.1', () => resolve(s.destroy() || true));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${nginxErr}`);
    await sleep(20);
  }
});

after(async () => {
  if (table.length) {
    const w = Math.max(...table.map((r) => r.name.length));
    const lines = table.map((r) => `${r.pass ? 'ok  ' : 'FAIL'} ${r.name.padEnd(w)}  nginx: ${r.nginx}\n${' '.repeat(w + 6)}sluice: ${r.sluice}`);
    console.log(`\nsmuggling corpus (nginx vs sluice):\n${lines.join('\n')}\n`);
  }
  await sluice?.stop();
  if (nginx && nginx.exitCode === null) {
    nginx.kill('SIGTERM');
    await new Promise((resolve) => nginx.once('exit', resolve));
  }
  await upNginx?.close();
  await upSluice?.close();
  if (nginxDir) rmSync(nginxDir, { recursive: true, force: true });
});

async function run(upstream, port, bytes) {
  const mark = upstream.requests.length;
  const result = await probe(port, bytes);
  await sleep(SETTLE_MS);
  const seen = upstream.requests.slice(mark);
  return {
    ...result,
    forwarded: seen.filter((r) => r.complete),
    // a request head (and part of a body) that reached the upstream but never completed
    partial: upstream.pendingBytes() > 0 || seen.some((r) => !r.complete),
  };
}

for (const [name, bytes, { rfc } = {}] of corpus) {
  test(`smuggling: ${name}`, async (t) => {
    const [ng, sl] = await Promise.all([run(upNginx, nginxPort, bytes), run(upSluice, sluice.port, bytes)]);
    const nKeys = ng.forwarded.map(key);
    const sKeys = sl.forwarded.map(key);
    const same = JSON.stringify(nKeys) === JSON.stringify(sKeys);
    const prefix = sKeys.length <= nKeys.length && sKeys.every((k, i) => k === nKeys[i]);
    const refused = sl.statuses.length > 0 && REFUSALS.has(sl.statuses.at(-1));
    const rfcCorrect = rfc !== undefined && JSON.stringify(rfc) === JSON.stringify(sKeys);
    const pass = same || rfcCorrect || (prefix && refused);
    const row = { name, nginx: describe(ng), sluice: describe(sl) + (rfcCorrect && !same ? ' (RFC-correct; nginx quirk)' : ''), pass };
    table.push(row);
    t.diagnostic(`nginx:  ${row.nginx}`);
    t.diagnostic(`sluice: ${row.sluice}`);
    assert.ok(
      !sl.forwarded.some((r) => r.error),
      `sluice sent its upstream a request a strict parser cannot frame: ${sKeys.join(' | ')}`,
    );
    assert.ok(
      pass,
      `sluice produced upstream requests nginx would not have (or neither matched nor refused):\n` +
        `  nginx:  ${row.nginx}\n  sluice: ${row.sluice}`,
    );
  });
}

test('smuggling: nginx error log has no alerts (the comparison ran against a healthy nginx)', () => {
  const log = readFileSync(path.join(nginxDir, 'error.log'), 'utf8');
  assert.doesNotMatch(log, /\[(alert|emerg|crit)\]/);
});
