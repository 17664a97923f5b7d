// Integration: the upstream edge of the real `sluice` against hostile providers. A raw node
// `net` server plays providers that send interim (1xx) responses, bytes after a response (in
// the same packet or later), endless chunk extensions and trailers, endless SSE lines and
// oversized translated replies; sluice-mock plays a provider that closes a reused keep-alive
// connection after reading the request. Each case checks what the client gets, that no byte of
// one response reaches another client, that no request is sent twice to one provider, and that
// the gateway's memory (VmHWM of the sluice process) stays bounded while a peer sends 200 MiB.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { routeYaml, startMock, startSluice } from '../lib/harness.mjs';

const MiB = 1024 * 1024;
const HOSTILE_BYTES = 200 * MiB;

let hostile;
let hostilePort;
let closer;
let closerFo;
let sluice;
let connectionCounter = 0;
const seen = [];  // {connection, edgeCase, edgeId} per request the hostile server read
const streams = { sent: 0 };  // bytes of the last endless response written

function chatReply(id) {
  return JSON.stringify({
    id: `chatcmpl-${id}`, object: 'chat.completion', created: 1, model: 'gpt-test',
    choices: [{ index: 0, message: { role: 'assistant', content: `reply to ${id}` }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

function finalResponse(id) {
  const body = chatReply(id);
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const POISON = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 24\r\n\r\n{"poison":"not for you"}';

// Writes `prefix`, then `piece` again and again (with backpressure) until `total` bytes went out
// or the peer closed the connection.
async function endless(socket, prefix, piece, total = HOSTILE_BYTES) {
  streams.sent = 0;
  const block = Buffer.from(piece.repeat(Math.max(1, Math.floor(MiB / piece.length))));
  let closed = false;
  socket.once('close', () => (closed = true));
  socket.write(prefix);
  while (!closed && streams.sent < total) {
    streams.sent += block.length;
    if (!socket.write(block)) {
      await new Promise((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
    }
  }
  socket.destroy();
}

function respond(socket, connection, head) {
  const edgeCase = /\r\nx-edge-case: *([^\r]*)/i.exec(head)?.[1] ?? 'plain';
  const edgeId = /\r\nx-edge-id: *([^\r]*)/i.exec(head)?.[1] ?? '?';
  seen.push({ connection, edgeCase, edgeId });
  switch (edgeCase) {
    case 'interim':
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n');
      setTimeout(() => socket.write(finalResponse(edgeId)), 30);
      return;
    case 'switch':
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
      setTimeout(() => socket.write(finalResponse(edgeId)), 30);
      return;
    case 'many-interim':
      socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n'.repeat(20) + finalResponse(edgeId));
      return;
    case 'garbage-same-packet':
      socket.write(finalResponse(edgeId) + POISON);
      return;
    case 'garbage-later':
      socket.write(finalResponse(edgeId));
      setTimeout(() => socket.write(POISON), 50);
      return;
    case 'chunk-extension':
      endless(socket, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5;ext=', 'a');
      return;
    case 'trailers':
      endless(socket, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n0\r\n',
        'x-trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n');
      return;
    case 'sse-line':
      // One SSE line that never ends, sent as one endless chunk of an Anthropic stream.
      endless(socket, `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${HOSTILE_BYTES + 6}\r\n\r\ndata: `, 'a');
      return;
    case 'big-reply':
      endless(socket, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${HOSTILE_BYTES + 16}\r\n\r\n{"id":"msg_1","x":"`, 'a');
      return;
    default:
      socket.write(finalResponse(edgeId));
  }
}

function startHostile() {
  const server = net.createServer((socket) => {
    const connection = ++connectionCounter;
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end + 4).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        respond(socket, connection, head);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function aiBackend(name, groups) {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    priorityGroups:
${groups
  .map((g) => `    - providers:\n${g
    .map(([pname, kind, port]) => `      - name: ${pname}
        ${kind}: {authToken: {kind: Inline, inline: ${kind === 'anthropic' ? 'sk-ant' : 'sk-test'}}}
        host: 127.0.0.1
        port: ${port}
`)
    .join('')}`)
  .join('')}`;
}

function vmHwmBytes() {
  const status = readFileSync(`/proc/${sluice.proc.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

async function chat(prefix, { edgeCase = 'plain', edgeId = 'x', stream = false, headers = {} } = {}) {
  const res = await fetch(`${sluice.url}/${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-edge-case': edgeCase, 'x-edge-id': edgeId, ...headers },
    body: JSON.stringify({ model: 'gpt-test', stream, messages: [{ role: 'user', content: 'hello' }] }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

before(async () => {
  hostile = await startHostile();
  hostilePort = hostile.address().port;
  closer = await startMock(['--log-requests']);
  closerFo = await startMock(['--log-requests']);
  const docs = [
    aiBackend('edge', [[['raw', 'openai', hostilePort]]]),
    aiBackend('edge-ant', [[['raw-claude', 'anthropic', hostilePort]]]),
    aiBackend('edge-close', [[['closer', 'openai', closer.port]]]),
    aiBackend('edge-fo', [[['closer', 'openai', closerFo.port]], [['backup', 'openai', hostilePort]]]),
    routeYaml({
      name: 'edge',
      rules: ['edge', 'edge-ant', 'edge-close', 'edge-fo']
        .map((name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}/}}]
    backendRefs: [{name: ${name}}]
`)
        .join(''),
    }),
  ];
  sluice = await startSluice({ config: docs.join('---\n'), limits: { maxTranslatedResponseBytes: '4Mi' } });
});

after(async () => {
  await sluice?.stop();
  await closer?.stop();
  await closerFo?.stop();
  await new Promise((resolve) => (hostile ? hostile.close(resolve) : resolve()));
});

describe('interim responses', () => {
  test('100 Continue and 103 Early Hints are skipped; the next client gets its own answer', async () => {
    const first = await chat('edge', { edgeCase: 'interim', edgeId: 'i1' });
    assert.equal(first.status, 200, first.text);
    assert.equal(JSON.parse(first.text).id, 'chatcmpl-i1');
    const second = await chat('edge', { edgeId: 'i2' });
    assert.equal(second.status, 200, second.text);
    assert.equal(JSON.parse(second.text).id, 'chatcmpl-i2');
  });

  test('a 101 nobody asked for is a 502, and its connection is not reused', async () => {
    const res = await chat('edge', { edgeCase: 'switch', edgeId: 's1' });
    assert.equal(res.status, 502, res.text);
    assert.match(JSON.parse(res.text).error.message, /switched protocols/);
    const next = await chat('edge', { edgeId: 's2' });
    assert.equal(next.status, 200, next.text);
    assert.equal(JSON.parse(next.text).id, 'chatcmpl-s2');
  });

  test('more than 16 interim responses are a 502', async () => {
    const res = await chat('edge', { edgeCase: 'many-interim', edgeId: 'm1' });
    assert.equal(res.status, 502, res.text);
    assert.match(JSON.parse(res.text).error.message, /interim/);
  });
});

describe('pool return', () => {
  for (const edgeCase of ['garbage-same-packet', 'garbage-later']) {
    test(`bytes after a response (${edgeCase}) never reach the next client`, async () => {
      const first = await chat('edge', { edgeCase, edgeId: `${edgeCase}-1` });
      assert.equal(first.status, 200, first.text);
      assert.equal(JSON.parse(first.text).id, `chatcmpl-${edgeCase}-1`);
      await sleep(200);  // the late poison has arrived on the idle connection
      const second = await chat('edge', { edgeId: `${edgeCase}-2` });
      assert.equal(second.status, 200, second.text);
      assert.equal(JSON.parse(second.text).id, `chatcmpl-${edgeCase}-2`);
      const a = seen.find((s) => s.edgeId === `${edgeCase}-1`);
      const b = seen.find((s) => s.edgeId === `${edgeCase}-2`);
      assert.notEqual(a.connection, b.connection, 'the poisoned connection was reused');
    });
  }

  test('a clean connection is still reused', async () => {
    await chat('edge', { edgeId: 'reuse-1' });
    await chat('edge', { edgeId: 'reuse-2' });
    const a = seen.find((s) => s.edgeId === 'reuse-1');
    const b = seen.find((s) => s.edgeId === 'reuse-2');
    assert.equal(a.connection, b.connection);
  });
});

// Lines the mock logged for requests it read and then closed on.
const closedLines = (mock) => mock.stderr.filter((l) => l.includes('"status":"closed"')).length;

describe('no double send', () => {
  test('a provider closing a reused connection after the request sees it once (502)', async () => {
    assert.equal((await chat('edge-close')).status, 200);  // pools a connection
    const res = await chat('edge-close', { headers: { 'x-mock-reset': 'close-after-request' } });
    assert.equal(res.status, 502, res.text);
    await sleep(100);
    assert.equal(closedLines(closer), 1, closer.stderr.join('\n'));
  });

  test('the retry goes to the next provider, not the same one again', async () => {
    assert.equal((await chat('edge-fo')).headers.get('x-sluice-provider'), 'closer');
    const res = await chat('edge-fo', { edgeId: 'fo-2', headers: { 'x-mock-reset': 'close-after-request' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-sluice-provider'), 'backup');
    assert.equal(res.headers.get('x-sluice-attempts'), '2');
    await sleep(100);
    assert.equal(closedLines(closerFo), 1, closerFo.stderr.join('\n'));
  });
});

describe('bounded memory from a hostile upstream', () => {
  let baseline;
  before(async () => {
    baseline = vmHwmBytes();
  });
  const bounded = (t) => {
    const grown = vmHwmBytes() - baseline;
    t.diagnostic(`peak RSS growth ${(grown / MiB).toFixed(1)} MiB; hostile bytes written ${(streams.sent / MiB).toFixed(1)} MiB`);
    assert.ok(grown < 48 * MiB, `sluice peak RSS grew by ${(grown / MiB).toFixed(1)} MiB`);
  };

  test('an endless chunk extension: 502, bounded memory', async (t) => {
    const res = await chat('edge', { edgeCase: 'chunk-extension' });
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).error.type, 'server_error');
    assert.ok(streams.sent < HOSTILE_BYTES, 'the gateway read the whole endless line');
    bounded(t);
  });

  test('endless trailers: 502, bounded memory', async (t) => {
    const res = await chat('edge', { edgeCase: 'trailers' });
    assert.equal(res.status, 502, res.text);
    assert.ok(streams.sent < HOSTILE_BYTES, 'the gateway read all the trailers');
    bounded(t);
  });

  test('an endless SSE line in a translated stream: an error event, bounded memory', async (t) => {
    const res = await chat('edge-ant', { edgeCase: 'sse-line', stream: true });
    assert.equal(res.status, 200);
    assert.match(res.text, /"error"/);
    assert.ok(streams.sent < HOSTILE_BYTES, 'the gateway read the whole line');
    bounded(t);
  });

  test('a translated reply over maxTranslatedResponseBytes: 502 in the client schema, bounded memory', async (t) => {
    const res = await chat('edge-ant', { edgeCase: 'big-reply' });
    assert.equal(res.status, 502, res.text);
    assert.match(JSON.parse(res.text).error.message, /maxTranslatedResponseBytes/);
    assert.ok(streams.sent < HOSTILE_BYTES, 'the gateway read the whole reply');
    bounded(t);
    // An Anthropic client on an OpenAI provider: the same cap, Anthropic's error shape.
    const messages = await fetch(`${sluice.url}/edge/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-edge-case': 'big-reply', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(messages.status, 502);
    assert.equal((await messages.json()).type, 'error');  // Anthropic's error shape
    bounded(t);
  });
});
