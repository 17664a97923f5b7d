// Integration: the access log's request id, failover reasons, configurable field list and limit
// name, the client address behind trusted proxies (X-Forwarded-For hops), and the operational
// log's level switch and numeric fields, through the real `sluice` and `sluice-mock`.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { chatBody, freePort, startMock, startSluice } from '../lib/harness.mjs';
import { aiBackend, prefixRule, staticBackend } from '../lib/config_yaml.mjs';

const openai = (port) => aiBackend('chat', 'openai: {authToken: {kind: Inline, inline: sk-test}}', port);

function provider(name, port) {
  return `      - name: ${name}
        openai: {authToken: {kind: Inline, inline: sk-test}}
        host: 127.0.0.1
        port: ${port}
`;
}

function groups(name, ...list) {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    priorityGroups:
${list.map((g) => `    - providers:\n${g.join('')}`).join('')}---
`;
}

function route(rules) {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
${rules.join('')}`;
}

const limitPolicy = (rule, by) => `---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: limits}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: ${rule}}]
  rateLimit:
    local:
    - {requests: 1, unit: Minute, by: [${by}]}
`;

const ID = /^[0-9a-f]{32}$/;

let mock;
let sick;
let deadPort;
let gw;

async function chat(base, prefix, headers = {}) {
  const res = await fetch(`${base}/${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: chatBody(),
  });
  return { res, body: await res.json() };
}

before(async () => {
  mock = await startMock();
  sick = await startMock(['--status', '503']);
  deadPort = await freePort();
  const config =
    openai(mock.port) +
    staticBackend('echo', mock.port) +
    groups('fo', [provider('sick', sick.port)], [provider('backup', mock.port)]) +
    groups('down', [provider('sick', sick.port)], [provider('gone', deadPort)]) +
    route([prefixRule('chat', 'chat'), prefixRule('echo', 'echo'), prefixRule('fo', 'fo'), prefixRule('down', 'down'),
      prefixRule('limited', 'chat')]) +
    limitPolicy('limited', 'route');
  gw = await startSluice({ config, args: ['--log-level', 'debug'] });
});

after(async () => {
  await gw?.stop();
  await mock?.stop();
  await sick?.stop();
});

describe('request id', () => {
  test('generated, returned to the client, sent upstream and logged', async () => {
    const res = await fetch(`${gw.url}/echo/x`, { headers: { 'x-request-id': 'client-chosen' } });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-request-id');
    assert.match(id, ID, 'an untrusted client id is replaced');
    const echoed = await res.json();
    assert.equal(echoed.headers['x-request-id'], id, 'the upstream receives the same id, once');
    const line = await gw.waitForAccessLog((l) => l.request_id === id);
    assert.equal(line.path, '/echo/x');
  });

  test('on answers Sluice writes itself: 404 and a refused head', async () => {
    const notFound = await fetch(`${gw.url}/nowhere`);
    assert.equal(notFound.status, 404);
    const id = notFound.headers.get('x-request-id');
    assert.match(id, ID);
    const line = await gw.waitForAccessLog((l) => l.request_id === id);
    assert.equal(line.status, 404);

    const big = await fetch(`${gw.url}/chat/v1/chat/completions`, {
      headers: { 'x-big': 'a'.repeat(40_000) },
    });
    assert.equal(big.status, 431);
    const bigId = big.headers.get('x-request-id');
    assert.match(bigId, ID);
    await gw.waitForAccessLog((l) => l.request_id === bigId && l.status === 431);
  });

  test('distinct per request; an AI answer carries it and keeps the upstream id aside', async () => {
    const a = await chat(gw.url, 'chat');
    const b = await chat(gw.url, 'chat');
    assert.equal(a.res.status, 200);
    const ida = a.res.headers.get('x-request-id');
    const idb = b.res.headers.get('x-request-id');
    assert.match(ida, ID);
    assert.notEqual(ida, idb);
    assert.equal(a.res.headers.get('x-request-id').includes(','), false, 'one x-request-id only');
    const line = await gw.waitForAccessLog((l) => l.request_id === ida);
    assert.equal(line.status, 200);
    assert.ok(line.prompt_tokens >= 0 && line.completion_tokens >= 0, JSON.stringify(line));
  });

  test('a stream reports its tokens too', async () => {
    const res = await fetch(`${gw.url}/chat/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody({ stream: true, stream_options: { include_usage: true } }),
    });
    await res.text();
    const id = res.headers.get('x-request-id');
    const line = await gw.waitForAccessLog((l) => l.request_id === id);
    assert.equal(line.stream, true);
    assert.ok(line.completion_tokens > 0, JSON.stringify(line));
  });
});

describe('failover reasons', () => {
  test('a request that succeeded after a failover has no error, but its reasons', async () => {
    const { res } = await chat(gw.url, 'fo');
    assert.equal(res.status, 200);
    const line = await gw.waitForAccessLog((l) => l.request_id === res.headers.get('x-request-id'));
    assert.equal(line.error, undefined, JSON.stringify(line));
    assert.equal(line.provider, 'backup');
    assert.equal(line.attempts, 2);
    assert.equal(line.failover_reasons.length, 1);
    assert.match(line.failover_reasons[0], /sick.*503/);
  });

  test('a total failure has both: the error the last attempt answered, and why the earlier ones failed', async () => {
    const { res, body } = await chat(gw.url, 'down');
    assert.equal(res.status, 502);
    const line = await gw.waitForAccessLog((l) => l.request_id === res.headers.get('x-request-id'));
    assert.equal(line.error, body.error.message);
    assert.match(line.error, /gone/);
    assert.equal(line.attempts, 2);
    assert.equal(line.failover_reasons.length, 1, JSON.stringify(line));
    assert.match(line.failover_reasons[0], /sick.*503/);
  });
});

describe('limits', () => {
  test('a 429 names the limit that refused', async () => {
    const first = await chat(gw.url, 'limited');
    assert.equal(first.res.status, 200);
    const second = await chat(gw.url, 'limited');
    assert.equal(second.res.status, 429);
    const line = await gw.waitForAccessLog((l) => l.request_id === second.res.headers.get('x-request-id'));
    assert.equal(line.limit, 'TrafficPolicy/limits spec.rateLimit.local[0]');
    const ok = await gw.waitForAccessLog((l) => l.request_id === first.res.headers.get('x-request-id'));
    assert.equal(ok.limit, undefined);
  });
});

describe('operational log', () => {
  test('numbers are numbers', () => {
    const listening = gw.stderr.map((l) => JSON.parse(l)).find((l) => l.msg === 'listening');
    assert.equal(typeof listening.port, 'number');
    assert.equal(listening.port, gw.port);
    assert.equal(listening.workers, 1);
  });

  test('--log-level warn drops info lines; an unknown level is a usage error', async () => {
    const quiet = await startSluice({ config: openai(mock.port) + route([prefixRule('chat', 'chat')]), args: ['--log-level', 'warn'] });
    try {
      await sleep(100);
      assert.equal(quiet.stderr.filter((l) => l.includes('"level":"info"')).length, 0, quiet.stderr.join('\n'));
      assert.ok(quiet.stderr.some((l) => l.includes('"level":"warning"')) || quiet.stderr.length === 0);
    } finally {
      const { code } = await quiet.stop();
      assert.equal(code, 0);
    }
    await assert.rejects(startSluice({ config: openai(mock.port) + route([prefixRule('chat', 'chat')]), args: ['--log-level', 'loud'] }),
      /exited early/);
  });
});

describe('trusted request id and the field list', () => {
  let trusting;
  before(async () => {
    trusting = await startSluice({
      config: staticBackend('echo', mock.port) + route([prefixRule('echo', 'echo')]),
      gatewayExtra: '  accessLog: {trustRequestId: true, fields: [request_id, status, method, path]}\n',
    });
  });
  after(() => trusting?.stop());

  test('a valid client id is kept end to end', async () => {
    const res = await fetch(`${trusting.url}/echo/t`, { headers: { 'x-request-id': 'trace-me-42' } });
    assert.equal(res.headers.get('x-request-id'), 'trace-me-42');
    assert.equal((await res.json()).headers['x-request-id'], 'trace-me-42');
    await trusting.waitForAccessLog((l) => l.request_id === 'trace-me-42');
  });

  test('an invalid client id is replaced', async () => {
    const res = await fetch(`${trusting.url}/echo/t`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    assert.match(res.headers.get('x-request-id'), ID);
  });

  test('only the listed fields, in order', async () => {
    const res = await fetch(`${trusting.url}/echo/order`, { headers: { 'x-request-id': 'order-1' } });
    await res.text();
    await trusting.waitForAccessLog((l) => l.request_id === 'order-1');
    const raw = trusting.stdout.find((l) => l.includes('"order-1"'));
    assert.equal(raw, '{"request_id":"order-1","status":200,"method":"GET","path":"/echo/order"}');
  });

  test('an unknown field is a configuration error naming it', async () => {
    await assert.rejects(
      startSluice({
        config: staticBackend('echo', mock.port) + route([prefixRule('echo', 'echo')]),
        gatewayExtra: '  accessLog: {fields: [status, colour]}\n',
      }),
      /Gateway\/test: spec\.accessLog\.fields\[1\]: unknown access-log field \\*"colour\\*"/,
    );
  });
});

describe('client address from X-Forwarded-For', () => {
  const gateways = {};
  before(async () => {
    for (const hops of [0, 1, 2]) {
      gateways[hops] = await startSluice({
        config: staticBackend('echo', mock.port) + route([prefixRule('echo', 'echo'), prefixRule('limited', 'echo')]) +
          limitPolicy('limited', 'clientIP'),
        gatewayExtra: hops ? `  clientAddress: {xffTrustedHops: ${hops}}\n` : '',
      });
    }
  });
  after(async () => {
    for (const g of Object.values(gateways)) await g.stop();
  });

  async function clientOf(g, xff) {
    const headers = {};
    if (xff !== undefined) headers['x-forwarded-for'] = xff;
    const res = await fetch(`${g.url}/echo/ip`, { headers });
    await res.text();
    const line = await g.waitForAccessLog((l) => l.request_id === res.headers.get('x-request-id'));
    return line.client;
  }

  test('0 hops: the TCP peer, whatever the header says', async () => {
    assert.equal(await clientOf(gateways[0], '198.51.100.1, 203.0.113.7'), '127.0.0.1');
  });

  test('1 hop: the rightmost address', async () => {
    assert.equal(await clientOf(gateways[1], '198.51.100.1, 203.0.113.7'), '203.0.113.7');
    assert.equal(await clientOf(gateways[1], '[2001:DB8::7]:443'), '2001:db8::7');
  });

  test('2 hops: the second from the right', async () => {
    assert.equal(await clientOf(gateways[2], 'spoofed, 198.51.100.1, 203.0.113.7'), '198.51.100.1');
  });

  test('malformed or too short: the TCP peer, never an error', async () => {
    assert.equal(await clientOf(gateways[1], 'not-an-ip'), '127.0.0.1');
    assert.equal(await clientOf(gateways[2], '203.0.113.7'), '127.0.0.1');
    assert.equal(await clientOf(gateways[2], '198.51.100.1, 999.1.1.1'), '127.0.0.1');
    assert.equal(await clientOf(gateways[1]), '127.0.0.1');
  });

  test('limits by clientIP use the forwarded address', async () => {
    const g = gateways[1];
    const ask = (ip) => fetch(`${g.url}/limited/echo`, { headers: { 'x-forwarded-for': ip } }).then(async (r) => {
      await r.text();
      return r.status;
    });
    assert.equal(await ask('203.0.113.1'), 200);
    assert.equal(await ask('203.0.113.2'), 200, 'another client has its own bucket');
    assert.equal(await ask('203.0.113.1'), 429);
  });
});
