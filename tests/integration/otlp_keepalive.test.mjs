// Integration: the OTLP exporter keeps its connection to the collector, through the real
// `sluice` with sluice-mock as the provider and the test OTLP receiver (tests/lib/
// otlp_receiver.mjs) counting the connections each export came on.
// - Many exports (spans about once a second, metrics every exportInterval) travel over one
//   connection.
// - When the collector closes it between exports, the next export goes out on a new connection,
//   and nothing is lost or counted as failed.
// - A collector answering `Connection: close` gets a new connection for each export.
// - An IPv6 literal endpoint (http://[::1]:port) is reached and named in brackets in Host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiBackendYaml, routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { startOtlpReceiver } from '../lib/otlp_receiver.mjs';

let mock;
let receiver;
let sluice;

const config = (port) =>
  [aiBackendYaml({ name: 'mock', port }), routeYaml({ name: 'llm', rules: '  - backendRefs: [{name: mock}]\n' })].join(
    '---\n',
  );

before(async () => {
  mock = await startMock();
  receiver = await startOtlpReceiver();
  sluice = await startSluice({
    config: config(mock.port),
    gatewayExtra: `  telemetry:
    otlp: {endpoint: "http://127.0.0.1:${receiver.port}"}
    metrics: {exportInterval: 1s}
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await receiver?.close();
});

async function chat(model) {
  const res = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  await res.text();
}

const spanOf = (model) => (spans) => spans.find((s) => s.kind === 2 && s.attributes['gen_ai.request.model'] === model);

const traceExports = () => receiver.requests.filter((r) => r.path === '/v1/traces');

async function counters() {
  const text = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
  const value = (line) => Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').pop());
  return {
    exported: value('sluice_otlp_exported_spans_total '),
    dropped: value('sluice_otlp_dropped_spans_total '),
    failures:
      value('sluice_otlp_export_failures_total{signal="traces"}') +
      value('sluice_otlp_export_failures_total{signal="metrics"}'),
  };
}

test('many exports, spans and metrics, over one connection', async () => {
  for (let i = 0; i < 3; ++i) {
    await chat(`kept-${i}`);
    await receiver.waitFor(spanOf(`kept-${i}`), 8000);
  }
  // Each chat's spans went out in an export of their own (one a second at most).
  assert.ok(traceExports().length >= 3, JSON.stringify(receiver.requests.map((r) => r.path)));
  await receiver.waitFor((metrics) => metrics.length > 0, 5000, 'metrics');
  assert.ok(receiver.requests.some((r) => r.path === '/v1/metrics'));
  assert.equal(receiver.connections, 1);
  assert.ok(receiver.requests.every((r) => r.connection === 1));
});

test('the collector closes the connection: the next export opens another, nothing lost', async () => {
  const connectionsBefore = receiver.connections;
  receiver.dropConnections();
  await sleep(200);
  for (let i = 0; i < 2; ++i) {
    await chat(`reopened-${i}`);
    await receiver.waitFor(spanOf(`reopened-${i}`), 8000);
  }
  assert.equal(receiver.connections, connectionsBefore + 1);
  assert.equal(receiver.requests.at(-1).connection, receiver.connections);
  const c = await counters();
  assert.equal(c.dropped, 0);
  assert.equal(c.failures, 0);
  assert.ok(c.exported >= 10, JSON.stringify(c)); // two spans per chat, five chats
});

test('Connection: close from the collector: a new connection for each export', async () => {
  receiver.closeEach = true;
  try {
    const requestsBefore = receiver.requests.length;
    const connectionsBefore = receiver.connections;
    for (let i = 0; i < 3; ++i) {
      await chat(`closed-${i}`);
      await receiver.waitFor(spanOf(`closed-${i}`), 8000);
    }
    const later = receiver.requests.slice(requestsBefore);
    assert.ok(later.length >= 3);
    // The export that answered with "close" may have come on the last kept connection; every
    // one after it came on a connection of its own.
    assert.ok(receiver.connections - connectionsBefore >= later.length - 1, JSON.stringify(later.map((r) => r.connection)));
    assert.equal(new Set(later.map((r) => r.connection)).size, later.length);
    const c = await counters();
    assert.equal(c.dropped, 0);
    assert.equal(c.failures, 0);
  } finally {
    receiver.closeEach = false;
  }
});

test('an IPv6 literal endpoint: the export arrives with the host in brackets in Host', async () => {
  const v6 = await startOtlpReceiver({ host: '::1' });
  const gateway = await startSluice({
    config: config(mock.port),
    gatewayExtra: `  telemetry:\n    otlp: {endpoint: "http://[::1]:${v6.port}"}\n`,
  });
  try {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'v6-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    await res.text();
    await v6.waitFor(spanOf('v6-model'));
    const exported = v6.requests.find((r) => r.path === '/v1/traces');
    assert.equal(exported.headers.host, `[::1]:${v6.port}`);
  } finally {
    await gateway.stop();
    await v6.close();
  }
});
