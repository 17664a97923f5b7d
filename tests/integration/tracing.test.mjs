// Integration: OpenTelemetry traces and the OTLP exporter (Gateway spec.telemetry) through the
// real `sluice`, with sluice-mock as the provider and a small OTLP receiver (tests/lib/
// otlp_receiver.mjs) decoding what Sluice exports. Checks the span tree (one SERVER span per
// request, one CLIENT span per upstream attempt as its children), names and attributes by the
// GenAI conventions for a chat, a stream, a failover and a refusal; the W3C trace context
// propagated upstream (a capture upstream records the headers) and to a prompt-guard webhook;
// sampling 0; OTLP/JSON; and the metrics export to /v1/metrics.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startMock, startSluice } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';
import { startOtlpReceiver } from '../lib/otlp_receiver.mjs';

const SERVER = 2;
const CLIENT = 3;
const CLIENT_KEY = 'sk-client-tracing-1';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

let mock;
let sick;
let capture;
let receiver;
let jsonReceiver;
let sampledOut;
let sluice;
let sluiceJson;
let sluiceZero;

const provider = (name, port) => `      - name: ${name}
        openai: {authToken: {kind: Inline, inline: sk-test}}
        host: 127.0.0.1
        port: ${port}
`;

const resources = () => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: 127.0.0.1
      port: ${mock.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: capture}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: 127.0.0.1
      port: ${capture.port}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: failover}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
${provider('sick', sick.port)}    - providers:
${provider('backup', mock.port)}---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: hook}
spec: {type: Static, static: {hosts: [{host: 127.0.0.1, port: ${capture.port}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: guarded
    matches: [{path: {type: PathPrefix, value: /guarded}}]
    backendRefs: [{name: openai}]
  - name: capture
    matches: [{path: {type: PathPrefix, value: /capture}}]
    backendRefs: [{name: capture}]
  - name: failover
    matches: [{path: {type: PathPrefix, value: /failover}}]
    backendRefs: [{name: failover}]
  - name: secure
    matches: [{path: {type: PathPrefix, value: /secure}}]
    backendRefs: [{name: openai}]
  - name: chat
    matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: secure}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: secure}]
  auth:
    apiKey:
      keys:
      - name: team-a
        secretRef: {name: client-key}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guarded}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: guarded}]
  ai:
    promptGuard:
      request:
        webhook: {backendRef: {name: hook}, timeout: 2s, failureMode: FailOpen}
---
apiVersion: v1
kind: Secret
metadata: {name: client-key}
stringData: {apiKey: ${CLIENT_KEY}}
`;

const telemetry = (port, extra = '') => `  telemetry:
    otlp: {endpoint: "http://127.0.0.1:${port}", headers: {x-team: llm}${extra}}
    metrics: {exportInterval: 1s}
`;

before(async () => {
  mock = await startMock();
  sick = await startMock(['--status', '503']);
  capture = await startCaptureUpstream();
  receiver = await startOtlpReceiver();
  jsonReceiver = await startOtlpReceiver();
  sampledOut = await startOtlpReceiver();
  sluice = await startSluice({ config: resources(), gatewayExtra: telemetry(receiver.port) });
  sluiceJson = await startSluice({
    config: resources(),
    gatewayExtra: telemetry(jsonReceiver.port, ', protocol: http/json'),
  });
  sluiceZero = await startSluice({
    config: resources(),
    gatewayExtra: `${telemetry(sampledOut.port)}    traces: {sampling: 0}\n`,
  });
});

after(async () => {
  for (const s of [sluice, sluiceJson, sluiceZero]) await s?.stop();
  for (const m of [mock, sick]) await m?.stop();
  await capture?.close?.();
  for (const r of [receiver, jsonReceiver, sampledOut]) await r?.close();
});

const chat = (base, path, { headers = {}, body = {} } = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }], ...body }),
  });

const treeOf = async (r, traceId, count) =>
  r.waitFor((spans) => {
    const mine = spans.filter((s) => s.traceId === traceId);
    return mine.length >= count ? mine : null;
  });

// The trace id of a response: the SERVER span whose http attributes match.
const serverSpans = (spans) => spans.filter((s) => s.kind === SERVER);

describe('traces', () => {
  test('a prompt-guard webhook gets the trace context, the SERVER span as its parent', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await chat(sluice.url, '/guarded/v1/chat/completions', {
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, tracestate: 'vendor=abc' },
    });
    // The capture upstream's answer is no guard action; FailOpen lets the request through.
    assert.equal(res.status, 200);
    await res.text();
    const spans = await treeOf(receiver, traceId, 2);
    const server = spans.find((s) => s.kind === SERVER);
    const call = capture.requests.filter((r) => r.target === '/request').at(-1);
    assert.ok(call, 'the webhook was called');
    const header = (name) => call.headers.filter(([k]) => k === name).map(([, v]) => v);
    assert.deepEqual(header('traceparent'), [`00-${traceId}-${server.spanId}-01`]);
    assert.deepEqual(header('tracestate'), ['vendor=abc']);
  });

  test('a chat: SERVER span under the client parent, one CLIENT span, trace context propagated upstream', async () => {
    const res = await chat(sluice.url, '/capture/v1/chat/completions', {
      headers: {
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
        tracestate: 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE',
      },
      body: { max_tokens: 50, temperature: 0.2, top_p: 0.9 },
    });
    assert.equal(res.status, 200);
    await res.text();
    const spans = await treeOf(receiver, TRACE_ID, 2);
    const server = spans.find((s) => s.kind === SERVER);
    const client = spans.find((s) => s.kind === CLIENT);
    assert.ok(server && client, spans.map((s) => s.name).join(', '));
    assert.equal(server.parentSpanId, PARENT_ID);
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(server.name, 'chat gpt-test');
    assert.equal(client.name, 'chat gpt-test');
    assert.equal(server.traceState, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    assert.equal(server.resource['service.name'], 'sluice');
    assert.ok(server.resource['service.version']);
    assert.ok(server.resource['service.instance.id']);
    assert.equal(server.scope, 'sluice');
    const a = server.attributes;
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.provider.name'], 'openai');
    assert.equal(a['gen_ai.request.model'], 'gpt-test');
    assert.equal(a['gen_ai.request.max_tokens'], 50);
    assert.equal(a['gen_ai.request.temperature'], 0.2);
    assert.equal(a['gen_ai.request.top_p'], 0.9);
    assert.equal(a['http.request.method'], 'POST');
    assert.equal(a['http.response.status_code'], 200);
    assert.equal(a['url.path'], '/capture/v1/chat/completions');
    assert.equal(a['sluice.backend'], 'capture');
    assert.match(a['sluice.route'], /capture/);
    assert.equal(a['sluice.attempts'], 1);
    assert.equal(a['error.type'], undefined);
    assert.equal(server.status.code, 0);
    assert.equal(client.attributes['server.address'], '127.0.0.1');
    assert.equal(client.attributes['server.port'], capture.port);
    assert.equal(client.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(client.attributes['http.response.status_code'], 200);
    assert.ok(server.start <= client.start && client.end <= server.end, 'the CLIENT span lies within the SERVER span');
    // The upstream got the CLIENT span as its parent, and the tracestate unchanged.
    const upstream = capture.requests.at(-1);
    const header = (name) => upstream.headers.filter(([k]) => k === name).map(([, v]) => v);
    assert.deepEqual(header('traceparent'), [`00-${TRACE_ID}-${client.spanId}-01`]);
    assert.deepEqual(header('tracestate'), ['rojo=00f067aa0ba902b7,congo=t61rcWkgMzE']);
    // The exporter's headers reached the collector.
    assert.ok(receiver.requests.some((r) => r.path === '/v1/traces' && r.headers['x-team'] === 'llm'));
    assert.ok(receiver.requests.every((r) => r.contentType === 'application/x-protobuf'));
  });

  test('an invalid traceparent starts a new trace, and its tracestate is not propagated', async () => {
    const before = capture.requests.length;
    const res = await chat(sluice.url, '/capture/v1/chat/completions', {
      headers: { traceparent: `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, tracestate: 'rojo=1' },
    });
    await res.text();
    const upstream = capture.requests[before];
    const tp = upstream.headers.filter(([k]) => k === 'traceparent').map(([, v]) => v);
    assert.equal(tp.length, 1);
    assert.match(tp[0], /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(!tp[0].includes(TRACE_ID));
    assert.equal(upstream.headers.filter(([k]) => k === 'tracestate').length, 0);
    const traceId = tp[0].slice(3, 35);
    const spans = await treeOf(receiver, traceId, 2);
    assert.equal(spans.find((s) => s.kind === SERVER).parentSpanId, '');
  });

  test('a stream: the SERVER span of a streamed chat carries its usage', async () => {
    const traceId = 'aa'.repeat(16);
    const res = await chat(sluice.url, '/v1/chat/completions', {
      headers: { traceparent: `00-${traceId}-${'bb'.repeat(8)}-01` },
      body: { stream: true, stream_options: { include_usage: true } },
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /\[DONE\]/);
    const spans = await treeOf(receiver, traceId, 2);
    const server = spans.find((s) => s.kind === SERVER);
    assert.equal(server.name, 'chat gpt-test');
    assert.equal(server.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(typeof server.attributes['gen_ai.usage.input_tokens'], 'number');
    assert.equal(typeof server.attributes['gen_ai.usage.output_tokens'], 'number');
    assert.ok(Array.isArray(server.attributes['gen_ai.response.finish_reasons']));
    assert.equal(server.attributes['sluice.backend'], 'openai');
    assert.equal(spans.filter((s) => s.kind === CLIENT).length, 1);
  });

  test('a failover: two CLIENT spans, siblings under the SERVER span, the failed one in error', async () => {
    const traceId = 'cc'.repeat(16);
    const res = await chat(sluice.url, '/failover/v1/chat/completions', {
      headers: { traceparent: `00-${traceId}-${'dd'.repeat(8)}-01` },
    });
    assert.equal(res.status, 200);
    await res.text();
    const spans = await treeOf(receiver, traceId, 3);
    const server = spans.find((s) => s.kind === SERVER);
    const clients = spans.filter((s) => s.kind === CLIENT).sort((x, y) => (x.start < y.start ? -1 : 1));
    assert.equal(clients.length, 2);
    for (const c of clients) assert.equal(c.parentSpanId, server.spanId);
    assert.notEqual(clients[0].spanId, clients[1].spanId);
    assert.equal(clients[0].attributes['sluice.provider'], 'sick');
    assert.equal(clients[0].attributes['http.response.status_code'], 503);
    assert.equal(clients[0].attributes['error.type'], '503');
    assert.match(clients[0].attributes['sluice.attempt.reason'], /503/);
    assert.equal(clients[0].status.code, 2);
    assert.equal(clients[1].attributes['sluice.provider'], 'backup');
    assert.equal(clients[1].attributes['error.type'], undefined);
    assert.equal(server.attributes['sluice.attempts'], 2);
    assert.equal(server.attributes['sluice.provider'], 'backup');
    assert.equal(server.attributes['error.type'], undefined);
    assert.equal(server.status.code, 0);
  });

  test('a refusal: the SERVER span of a 401 says error.type, with no CLIENT span', async () => {
    const traceId = 'ee'.repeat(16);
    const res = await chat(sluice.url, '/secure/v1/chat/completions', {
      headers: { traceparent: `00-${traceId}-${'ff'.repeat(8)}-01`, authorization: 'Bearer wrong' },
    });
    assert.equal(res.status, 401);
    await res.text();
    const spans = await treeOf(receiver, traceId, 1);
    await new Promise((r) => setTimeout(r, 300));
    const mine = receiver.spans.filter((s) => s.traceId === traceId);
    assert.equal(mine.length, 1);
    const server = mine[0];
    assert.equal(server.kind, SERVER);
    assert.equal(server.attributes['http.response.status_code'], 401);
    assert.equal(server.attributes['error.type'], '401');
    assert.ok(server.attributes['sluice.auth_failure']);
    // A client's refusal is not the server's error (HTTP server conventions).
    assert.equal(server.status.code, 0);
    // Refused before its body was read: the operation is known, the model is not.
    assert.equal(server.name, 'chat');
    assert.equal(spans[0].spanId, server.spanId);
  });

  test('an unsampled parent is honoured: nothing is exported, the flag goes upstream', async () => {
    const traceId = '12'.repeat(16);
    const before = capture.requests.length;
    const res = await chat(sluice.url, '/capture/v1/chat/completions', {
      headers: { traceparent: `00-${traceId}-${'34'.repeat(8)}-00` },
    });
    await res.text();
    const tp = capture.requests[before].headers.find(([k]) => k === 'traceparent')[1];
    assert.match(tp, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(receiver.spans.filter((s) => s.traceId === traceId).length, 0);
  });

  test('sampling 0 exports no span, but still propagates the trace context', async () => {
    const before = capture.requests.length;
    for (let i = 0; i < 3; ++i) await (await chat(sluiceZero.url, '/capture/v1/chat/completions')).text();
    const tp = capture.requests[before].headers.find(([k]) => k === 'traceparent')[1];
    assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sampledOut.spans.length, 0);
    assert.equal(sampledOut.requests.filter((r) => r.path === '/v1/traces').length, 0);
  });

  test('OTLP/JSON: the same span tree', async () => {
    const traceId = '56'.repeat(16);
    const res = await chat(sluiceJson.url, '/v1/chat/completions', {
      headers: { traceparent: `00-${traceId}-${'78'.repeat(8)}-01` },
    });
    await res.text();
    const spans = await treeOf(jsonReceiver, traceId, 2);
    const server = spans.find((s) => s.kind === SERVER);
    const client = spans.find((s) => s.kind === CLIENT);
    assert.equal(server.name, 'chat gpt-test');
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.ok(jsonReceiver.requests.some((r) => r.path === '/v1/traces' && r.contentType === 'application/json'));
  });
});

describe('metrics export and counters', () => {
  test('metrics arrive at /v1/metrics every exportInterval', async () => {
    const metrics = await receiver.waitFor(
      (list) => (list.some((m) => m.name === 'sluice.otlp.exported_spans') ? list : null),
      5000,
      'metrics',
    );
    const exported = metrics.find((m) => m.name === 'sluice.otlp.exported_spans');
    assert.equal(exported.kind, 'sum');
    assert.equal(exported.monotonic, true);
    assert.equal(exported.temporality, 2);
    assert.ok(metrics.some((m) => m.name === 'sluice.active_requests' && m.kind === 'gauge'));
    assert.equal(exported.resource['service.name'], 'sluice');
    const json = await jsonReceiver.waitFor((list) => (list.length > 0 ? list : null), 5000, 'metrics');
    assert.ok(json.some((m) => m.name === 'sluice.open_connections'));
  });

  test('/metrics counts exported and dropped spans', async () => {
    const text = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
    const value = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('sluice_otlp_exported_spans_total') > 0, text);
    assert.equal(value('sluice_otlp_dropped_spans_total'), 0);
  });
});
