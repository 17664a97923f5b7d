// Integration: the answer's content on the SERVER span (Gateway spec.telemetry.captureContent),
// through the real `sluice`, sluice-mock and the OTLP receiver (tests/lib/otlp_receiver.mjs).
// - Full: gen_ai.output.messages is the OpenTelemetry GenAI shape
//   [{role: "assistant", parts: [{type: "text", content}], finish_reason}], for a complete reply
//   and for a stream assembled from its content events, in the client's API (OpenAI chat, and an
//   Anthropic Messages client translated to an OpenAI provider), after the response guard masked
//   it; a text longer than 64 KiB is cut there and the span says sluice.output.truncated.
// - Full, tools: a streamed tool call is one tool_call part (id, name, arguments as JSON); the
//   request's tool call and tool result are tool_call and tool_call_response parts; an
//   Anthropic client's `system` is gen_ai.system_instructions, not a message.
// - Metadata: sluice.output.messages with roles and sizes only, no text.
// - None: no output attribute at all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { aiBackendYaml, routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { startOtlpReceiver } from '../lib/otlp_receiver.mjs';

const CARD = '4111 1111 1111 1111';
const TEXT = `Your card ${CARD} is on file; write to jane@example.com.`;
const MASKED = 'Your card <CREDIT_CARD> is on file; write to <EMAIL>.';

let mock;
const receivers = {};
const gateways = {};

const resources = (port) =>
  [
    aiBackendYaml({ name: 'mock', port }),
    routeYaml({
      name: 'llm',
      rules: `  - name: chat
    backendRefs: [{name: mock}]
`,
    }),
    `apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  ai:
    promptGuard:
      response:
        regex: {action: MASK, builtins: [CREDIT_CARD, EMAIL]}
`,
  ].join('---\n');

before(async () => {
  mock = await startMock();
  for (const mode of ['Full', 'Metadata', 'None']) {
    receivers[mode] = await startOtlpReceiver();
    gateways[mode] = await startSluice({
      config: resources(mock.port),
      gatewayExtra: `  telemetry:
    otlp: {endpoint: "http://127.0.0.1:${receivers[mode].port}"}
    captureContent: ${mode}
`,
    });
  }
});

after(async () => {
  for (const g of Object.values(gateways)) await g?.stop();
  for (const r of Object.values(receivers)) await r?.close();
  await mock?.stop();
});

async function chat(mode, { model, stream = false, text = TEXT, split, anthropic = false, chunks }) {
  const headers = { 'content-type': 'application/json' };
  if (chunks) headers['x-mock-chunks'] = String(chunks);
  else headers['x-mock-reply'] = encodeURIComponent(text);
  if (split) headers['x-mock-split'] = split;
  const body = { model, stream, messages: [{ role: 'user', content: 'tell me' }] };
  if (anthropic) body.max_tokens = 100;
  const res = await fetch(`${gateways[mode].url}${anthropic ? '/v1/messages' : '/v1/chat/completions'}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const out = await res.text();
  assert.equal(res.status, 200, out);
  return out;
}

const serverSpan = (receiver, model) =>
  receiver.waitFor((spans) => spans.find((s) => s.kind === 2 && s.attributes['gen_ai.request.model'] === model), 8000);

test('Full, complete reply: gen_ai.output.messages after the response guard masked it', async () => {
  const reply = JSON.parse(await chat('Full', { model: 'full-complete' }));
  assert.equal(reply.choices[0].message.content, MASKED);
  const span = await serverSpan(receivers.Full, 'full-complete');
  assert.deepEqual(JSON.parse(span.attributes['gen_ai.output.messages']), [
    { role: 'assistant', parts: [{ type: 'text', content: MASKED }], finish_reason: 'stop' },
  ]);
  assert.ok(span.attributes['gen_ai.input.messages'], 'the input messages too');
  assert.equal(span.attributes['sluice.output.truncated'], undefined);
});

test('Full, stream: the text assembled from the content events, masked', async () => {
  const text = await chat('Full', { model: 'full-stream', stream: true, split: '3,9,17,30' });
  assert.match(text, /data: \[DONE\]/);
  assert.doesNotMatch(text, /4111/);
  const span = await serverSpan(receivers.Full, 'full-stream');
  const [message] = JSON.parse(span.attributes['gen_ai.output.messages']);
  assert.equal(message.role, 'assistant');
  assert.equal(message.parts[0].content, MASKED);
  assert.equal(message.finish_reason, 'stop');
});

test('Full, an Anthropic client translated to an OpenAI provider: read in the client API', async () => {
  await chat('Full', { model: 'full-claude', stream: true, anthropic: true, text: 'plain words here' });
  const span = await serverSpan(receivers.Full, 'full-claude');
  const [message] = JSON.parse(span.attributes['gen_ai.output.messages']);
  assert.equal(message.parts[0].content, 'plain words here');
  assert.equal(message.finish_reason, 'end_turn');
});

test('Full: a text past 64 KiB is cut there and marked', async () => {
  // chunk0 chunk1 … chunk11999: about 90 KB of text in 12000 events.
  await chat('Full', { model: 'full-long', stream: true, chunks: 12000 });
  const span = await serverSpan(receivers.Full, 'full-long');
  const [message] = JSON.parse(span.attributes['gen_ai.output.messages']);
  assert.equal(message.parts[0].content.length, 64 * 1024);
  assert.ok(message.parts[0].content.startsWith('chunk0 chunk1 chunk2'));
  assert.equal(span.attributes['sluice.output.truncated'], true);
});

test('Full, tools: the streamed tool call, the earlier call and its result, as GenAI parts', async () => {
  const res = await fetch(`${gateways.Full.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-tool-args': encodeURIComponent('{"city":"Paris"}') },
    body: JSON.stringify({
      model: 'full-tools',
      stream: true,
      messages: [
        { role: 'user', content: 'weather in Oslo, then Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '-3C' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(text, /tool_calls/);
  const span = await serverSpan(receivers.Full, 'full-tools');
  const [message] = JSON.parse(span.attributes['gen_ai.output.messages']);
  assert.equal(message.finish_reason, 'tool_calls');
  assert.equal(message.parts.length, 1);
  const [call] = message.parts;
  assert.equal(call.type, 'tool_call');
  assert.equal(call.name, 'get_weather');
  assert.match(call.id, /^call_/);
  assert.deepEqual(call.arguments, { city: 'Paris' });
  assert.deepEqual(JSON.parse(span.attributes['gen_ai.input.messages']), [
    { role: 'user', parts: [{ type: 'text', content: 'weather in Oslo, then Paris?' }] },
    { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '-3C' }] },
  ]);
});

test('Full, an Anthropic client: `system` is gen_ai.system_instructions', async () => {
  const res = await fetch(`${gateways.Full.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-reply': 'ok' },
    body: JSON.stringify({
      model: 'full-system',
      max_tokens: 50,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'hello' }],
    }),
  });
  assert.equal(res.status, 200, await res.text());
  const span = await serverSpan(receivers.Full, 'full-system');
  assert.deepEqual(JSON.parse(span.attributes['gen_ai.system_instructions']), [{ type: 'text', content: 'You are terse.' }]);
  assert.deepEqual(JSON.parse(span.attributes['gen_ai.input.messages']), [
    { role: 'user', parts: [{ type: 'text', content: 'hello' }] },
  ]);
});

test('Metadata: roles and sizes only', async () => {
  await chat('Metadata', { model: 'meta-stream', stream: true });
  const span = await serverSpan(receivers.Metadata, 'meta-stream');
  assert.equal(span.attributes['gen_ai.output.messages'], undefined);
  assert.deepEqual(JSON.parse(span.attributes['sluice.output.messages']), [
    { role: 'assistant', parts: [{ type: 'text', size: Buffer.byteLength(MASKED) }], finish_reason: 'stop' },
  ]);
  assert.doesNotMatch(JSON.stringify(span.attributes), /<EMAIL>|jane@/);
});

test('None: no output attribute', async () => {
  await chat('None', { model: 'none-complete' });
  const span = await serverSpan(receivers.None, 'none-complete');
  assert.equal(span.attributes['gen_ai.output.messages'], undefined);
  assert.equal(span.attributes['sluice.output.messages'], undefined);
});
