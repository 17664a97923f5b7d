// A capture upstream for edge tests: a raw `net` server that parses the HTTP/1.1 requests a proxy
// sends it strictly (CRLF only, token header names, one Content-Length or exactly
// `Transfer-Encoding: chunked`, never both; keep-alive), records every request (method, target,
// headers, body) and answers each with a small 200 JSON body carrying a Content-Length.
// A request it cannot frame is recorded with `error` set and its connection is closed; a
// connection that ends in the middle of a request leaves a record with `complete: false`.
// Sluice's own background model-list fetches (`GET …/models`, at start and every refresh
// interval) are recorded apart, in `modelListFetches`, so `requests` holds what the tests sent.
import net from 'node:net';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

class FramingError extends Error {}

// Parses one request from the front of `buf`. Returns {request, used} or null when more bytes
// are needed; throws FramingError on anything a strict HTTP/1.1 server would refuse.
function parseRequest(buf) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    if (buf.length > 1 << 20) throw new FramingError('head larger than 1 MiB');
    const lf = buf.indexOf('\n');
    if (lf >= 0 && (lf === 0 || buf[lf - 1] !== 0x0d)) throw new FramingError('bare LF in head');
    return null;
  }
  const head = buf.subarray(0, headEnd).toString('latin1');
  if (/(^|[^\r])\n/.test(head) || /\r(?!\n)/.test(head)) throw new FramingError('bare CR or LF in head');
  const lines = head.split('\r\n');
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0]);
  if (!m) throw new FramingError(`bad request line ${JSON.stringify(lines[0])}`);
  const headers = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new FramingError(`bad header line ${JSON.stringify(line)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new FramingError(`control character in ${name}`);
    headers.push([name.toLowerCase(), value]);
  }
  const all = (n) => headers.filter(([k]) => k === n).map(([, v]) => v);
  const te = all('transfer-encoding');
  const cl = all('content-length');
  if (te.length && cl.length) throw new FramingError('Transfer-Encoding and Content-Length');
  let pos = headEnd + 4;
  let body = Buffer.alloc(0);
  if (te.length) {
    if (te.join(',').toLowerCase() !== 'chunked') throw new FramingError(`Transfer-Encoding ${te.join(', ')}`);
    const parts = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const sizeLine = buf.subarray(pos, eol).toString('latin1');
      const sm = /^([0-9a-fA-F]{1,15})(;[^\r\n]*)?$/.exec(sizeLine);
      if (!sm) throw new FramingError(`bad chunk-size line ${JSON.stringify(sizeLine)}`);
      const size = parseInt(sm[1], 16);
      pos = eol + 2;
      if (size === 0) break;
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      if (buf[pos + size] !== 0x0d || buf[pos + size + 1] !== 0x0a) throw new FramingError('chunk data not followed by CRLF');
      pos += size + 2;
    }
    for (;;) {  // trailer section
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const line = buf.subarray(pos, eol).toString('latin1');
      pos = eol + 2;
      if (line === '') break;
      if (!TOKEN.test(line.slice(0, Math.max(0, line.indexOf(':'))))) throw new FramingError(`bad trailer ${JSON.stringify(line)}`);
    }
    body = Buffer.concat(parts);
  } else if (cl.length) {
    if (!cl.every((v) => /^[0-9]{1,15}$/.test(v) && v === cl[0])) throw new FramingError(`Content-Length ${cl.join(', ')}`);
    const size = Number(cl[0]);
    if (buf.length < pos + size) return null;
    body = buf.subarray(pos, pos + size);
    pos += size;
  }
  return {
    request: { method: m[1], target: m[2], version: `1.${m[3]}`, headers, body: body.toString('latin1'), complete: true },
    used: pos,
  };
}

export async function startCaptureUpstream() {
  const requests = [];
  const modelListFetches = [];
  const sockets = new Set();
  const buffered = new Map();  // socket -> bytes of a request not complete yet
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      buffered.delete(socket);
    });
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let closed = false;
    socket.on('data', (data) => {
      if (closed) return;
      buf = Buffer.concat([buf, data]);
      buffered.set(socket, buf.length);
      for (;;) {
        let parsed;
        try {
          parsed = parseRequest(buf);
        } catch (e) {
          if (!(e instanceof FramingError)) throw e;
          requests.push({ error: e.message, complete: true, raw: buf.subarray(0, 200).toString('latin1') });
          closed = true;
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        if (!parsed) return;
        buf = buf.subarray(parsed.used);
        buffered.set(socket, buf.length);
        const fetch = parsed.request.method === 'GET' && /\/models(\?|$)/.test(parsed.request.target);
        (fetch ? modelListFetches : requests).push(parsed.request);
        const body = JSON.stringify({ captured: requests.length });
        const close = parsed.request.headers.some(([k, v]) => k === 'connection' && /close/i.test(v));
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
            (close ? 'Connection: close\r\n' : '') + `\r\n${body}`,
        );
        if (close) {
          closed = true;
          socket.end();
          return;
        }
      }
    });
    socket.on('end', () => {
      if (!closed && buf.length > 0) {
        requests.push({ complete: false, raw: buf.subarray(0, 200).toString('latin1') });
      }
      socket.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    requests,
    modelListFetches,
    // Partial requests are recorded when their connection ends; idle keep-alive connections
    // (nothing buffered) leave no record.
    // Bytes of requests still being received (a head whose body has not arrived completely).
    pendingBytes() {
      let n = 0;
      for (const v of buffered.values()) n += v;
      return n;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
