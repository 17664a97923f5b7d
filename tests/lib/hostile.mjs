// Hostile HTTP/1.1 clients for edge tests and bench/hostile_memory.mjs: each opens one connection,
// sends a head and then streams an endless (bounded by `total`) part of a request, and reports
// how the server reacted: the status of the response it got (if any), whether the connection was
// closed, and how many bytes had been written before the server reacted.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const MiB = 1 << 20;

// VmRSS of process `pid` in bytes (Linux /proc).
export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

// The hostile kinds: `head` is sent first, then `piece(i)` repeatedly.
const filler = (n, c = 'a') => c.repeat(n);
export const kinds = {
  // A chunk-size line whose extension never ends.
  chunkExtension: {
    head: 'POST /v1/chat/completions HTTP/1.1\r\nHost: edge.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=',
    piece: () => filler(4096, 'x'),
  },
  // The last chunk, then trailer fields that never end.
  trailers: {
    head: 'POST /v1/chat/completions HTTP/1.1\r\nHost: edge.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n',
    piece: (i) => `X-Trailer-${i}: ${filler(4000)}\r\n`,
  },
  // Header lines that never end.
  headerLines: {
    head: 'GET /v1/models HTTP/1.1\r\nHost: edge.test\r\n',
    piece: (i) => `X-Pad-${i}: ${filler(4000)}\r\n`,
  },
  // One huge header block sent as fast as possible.
  hugeHeader: {
    head: 'GET /v1/models HTTP/1.1\r\nHost: edge.test\r\nX-Huge: ',
    piece: () => filler(16384),
  },
  // Slowloris: a header line every so often (paced by the caller).
  slowloris: {
    head: 'GET /v1/models HTTP/1.1\r\nHost: edge.test\r\n',
    piece: (i) => `X-Slow-${i}: 1\r\n`,
  },
  // A body announced by Content-Length (under the default 32 MiB limit) that trickles in.
  slowBody: {
    head: 'POST /v1/chat/completions HTTP/1.1\r\nHost: edge.test\r\nContent-Type: application/json\r\nContent-Length: 30000000\r\n\r\n{"model":"m","x":"',
    piece: () => filler(64),
  },
};

// Opens a connection to `port`, writes `kind.head`, then pieces until `total` bytes were written,
// the server answered or closed, or `durationMs` passed. `paceMs` waits between pieces (0: only
// back-pressure). Resolves to {sent, status, closed, refusedAt, error}: `refusedAt` is the number
// of bytes written when the first response byte or the close arrived (null if neither did).
// `onSocket` receives the socket (to cut it from outside).
export function hostileConnection(port, kind, { total = 1 * MiB, paceMs = 0, durationMs = 10_000, closeWaitMs = 3000, onSocket } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    onSocket?.(socket);
    let sent = 0;
    let response = '';
    let closed = false;
    let refusedAt = null;
    let error = null;
    let stopWriting = false;
    const started = Date.now();
    const react = () => {
      if (refusedAt === null) refusedAt = sent;
      stopWriting = true;
    };
    socket.on('data', (d) => {
      response += d.toString('latin1');
      react();
    });
    socket.on('error', (e) => {
      error = e.code ?? e.message;
      react();
    });
    const closedPromise = new Promise((r) => socket.on('close', () => { closed = true; react(); r(); }));
    // Resolves true once `s` is in the kernel, false if the connection closed or the time is up
    // first (a server that stops reading leaves the write pending).
    const write = (s) =>
      Promise.race([
        new Promise((r) => (socket.destroyed ? r(false) : socket.write(s, (e) => r(!e)))),
        closedPromise.then(() => false),
        sleep(Math.max(0, durationMs - (Date.now() - started)), false, { ref: false }),
      ]);
    socket.on('connect', async () => {
      await write(kind.head);
      sent += Buffer.byteLength(kind.head);
      for (let i = 0; !stopWriting && sent < total && Date.now() - started < durationMs; i++) {
        const piece = kind.piece(i);
        if (!(await write(piece))) break;
        sent += piece.length;
        if (paceMs > 0) await sleep(paceMs);
      }
      // Give the server time to react and close, then give up.
      await Promise.race([closedPromise, sleep(closeWaitMs, undefined, { ref: false })]);
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(response);
      const result = { sent, status: m ? Number(m[1]) : null, closed, refusedAt, error, response };
      socket.destroy();
      resolve(result);
    });
  });
}
