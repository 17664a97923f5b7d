// Bounded behaviour of the client edge against hostile connections, one connection per kind:
// an endless chunk extension, endless trailer fields and an oversized header block are refused
// (400 / 400-or-431 / 431) and closed long before the client has sent 1 MiB; and pushing 64 MiB
// of chunk extension through 4 connections grows the gateway's RSS by less than 32 MiB.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { aiBackendYaml, startMock, startSluice } from '../lib/harness.mjs';
import { MiB, hostileConnection, kinds, rssBytes } from '../lib/hostile.mjs';

let mock;
let sluice;

before(async () => {
  mock = await startMock();
  sluice = await startSluice({
    config: `${aiBackendYaml({ port: mock.port })}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: static}
spec:
  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: ${mock.port}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: mock}]
  - matches: [{path: {type: PathPrefix, value: /static}}]
    backendRefs: [{group: sluice.dev, kind: Backend, name: static}]
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

// "Within a few KiB": the server reacted (response or close) before this much was written.
// Kernel socket buffers on loopback absorb some data the server never read, so the writer is
// paced (1 ms per 4 KiB piece) to give the server time to react.
const REACT_WITHIN = 256 * 1024;

function assertRefused(result, statuses, what) {
  const detail = `${what}: sent ${result.sent} B, refused at ${result.refusedAt} B, status ${result.status}, ` +
    `closed ${result.closed}, error ${result.error}`;
  assert.ok(result.refusedAt !== null && result.refusedAt < REACT_WITHIN, `not refused early enough: ${detail}`);
  assert.ok(result.sent < MiB, `the client could send the whole 1 MiB: ${detail}`);
  // A close with unread client bytes may arrive as a reset that discards the response; when a
  // response was readable it must be the refusal.
  if (result.status !== null) assert.ok(statuses.includes(result.status), `wrong status: ${detail}`);
  else assert.ok(result.error === 'ECONNRESET' || result.error === 'EPIPE', `closed without a response or reset: ${detail}`);
  assert.ok(result.closed, `connection not closed: ${detail}`);
}

test('a chunk-size line with a 1 MiB extension is refused with 400 and closed (read-whole body)', async () => {
  const r = await hostileConnection(sluice.port, kinds.chunkExtension, { total: MiB, paceMs: 1 });
  assertRefused(r, [400], 'chunk extension, /v1/chat/completions');
});

test('a chunk-size line with a 1 MiB extension is refused with 400 and closed (streamed body)', async () => {
  const kind = { ...kinds.chunkExtension, head: kinds.chunkExtension.head.replace('/v1/chat/completions', '/static/upload') };
  const r = await hostileConnection(sluice.port, kind, { total: MiB, paceMs: 1 });
  assertRefused(r, [400], 'chunk extension, Static backend');
});

test('1 MiB of trailer fields is refused with 400 or 431 and closed', async () => {
  const r = await hostileConnection(sluice.port, kinds.trailers, { total: MiB, paceMs: 1 });
  assertRefused(r, [400, 431], 'trailers');
});

test('a header block over maxRequestHeaderBytes is refused with 431 and closed', async () => {
  const r = await hostileConnection(sluice.port, kinds.headerLines, { total: MiB, paceMs: 1 });
  assertRefused(r, [431], 'header lines');
  assert.equal(r.status, 431, 'the 431 response must be readable (Sluice lingers after a 431)');
});

test('64 MiB of chunk extension through 4 connections grows RSS by less than 32 MiB', async () => {
  const pid = sluice.proc.pid;
  const idle = rssBytes(pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  const perLane = 16 * MiB;
  let connections = 0;
  const deadline = Date.now() + 20_000;
  const lane = async () => {
    let pushed = 0;
    // A refused connection is replaced by a new one until the lane has pushed its share.
    while (pushed < perLane && Date.now() < deadline) {
      connections++;
      const r = await hostileConnection(sluice.port, kinds.chunkExtension, {
        total: perLane - pushed, durationMs: deadline - Date.now(), closeWaitMs: 200,
      });
      pushed += r.sent;
    }
    return pushed;
  };
  const pushed = (await Promise.all([lane(), lane(), lane(), lane()])).reduce((a, b) => a + b, 0);
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  const grew = (peak - idle) / MiB;
  const summary = `pushed ${(pushed / MiB).toFixed(1)} MiB over ${connections} connections; idle RSS ${(idle / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB (+${grew.toFixed(1)} MiB)`;
  console.log(summary);
  assert.ok(pushed >= 64 * MiB, `could not push 64 MiB within 20 s: ${summary}`);
  assert.ok(grew < 32, `RSS grew too much: ${summary}`);
});
