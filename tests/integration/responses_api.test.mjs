// The OpenAI Responses API as a client API (issue 12, first part), through the real binaries
// and the official openai SDK: native on OpenAI-format Backends with no passthrough entry (plain
// and streamed), its usage and cost read (access log, x-sluice-cost-usd, the completed event's
// usage), its request read as a conversation by the policies (a prompt guard masks the input
// the provider receives, and refuses), a response guard reading translated replies, and a clear
// refusal where a guard cannot read the reply (a native one). Translation to other providers:
// responses_translated.test.mjs.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startMock, startSluice } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';
import { aiBackend as backend, prefixRule as rule } from '../lib/config_yaml.mjs';

const SSN = '123-45-6789';

let mock;
let capture;
let gw;

const guard = (name, targets, body) => `apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}}
spec:
  targetRefs:
${targets.map((t) => `  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: ${t}}`).join('\n')}
  ai:
    promptGuard:
${body}---
`;

before(async () => {
  mock = await startMock();
  capture = await startCaptureUpstream();
  gw = await startSluice({
    config:
      backend('openai', 'openai: {authToken: {kind: Inline, inline: sk-test}}', mock.port) +
      backend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-test}}', mock.port) +
      backend('cap', 'openai: {authToken: {kind: Inline, inline: sk-test}}', capture.port) +
      `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${rule('openai', 'openai')}${rule('claude', 'claude')}${rule('masked', 'cap')}${rule('refused', 'openai')}${rule('guarded-output', 'openai')}${rule('guarded-claude', 'claude')}${rule('rejected-output', 'openai')}---
` +
      guard('mask', ['masked'], `      request:
        regex: {action: MASK, builtins: [SSN]}
`) +
      guard('reject', ['refused'], `      request:
        customResponse: {message: "The request was rejected by policy", statusCode: 400}
        regex: {action: REJECT, builtins: [SSN]}
`) +
      guard('output', ['guarded-output', 'guarded-claude'], `      response:
        regex: {action: MASK, builtins: [SSN]}
`) +
      guard('output-reject', ['rejected-output'], `      response:
        regex: {action: REJECT, builtins: [SSN]}
`),
    gatewayExtra: `  pricing:
    models:
      gpt-test: {input: "2.5", output: "10"}
`,
  });
});

after(async () => {
  await gw?.stop();
  await mock?.stop();
  await capture?.close();
});

const client = (route, headers = {}) =>
  new OpenAI({ baseURL: `${gw.url}/${route}/v1`, apiKey: 'k', maxRetries: 0, defaultHeaders: headers });

test('the SDK creates a response on an OpenAI-format Backend with no passthrough entry', async () => {
  const response = await client('openai', { 'x-mock-chunks': '3' }).responses.create({
    model: 'gpt-test',
    instructions: 'be brief',
    input: 'x'.repeat(392),
  });
  assert.equal(response.output_text, 'chunk0 chunk1 chunk2');
  // 400 characters of instructions and input: 100 input tokens; 3 output tokens.
  assert.equal(response.usage.input_tokens, 100);
  assert.equal(response.usage.output_tokens, 3);
  const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/responses' && l.stream === false);
  assert.equal(line.model, 'gpt-test');
  assert.equal(line.prompt_tokens, 100);
  assert.equal(line.completion_tokens, 3);
  // 100 x 2.5 + 3 x 10 = 280 micro-USD.
  assert.equal(line.cost_usd, '0.000280');
  assert.equal(line.upstream_path, '/v1/responses');
});

test('a streamed response: the SDK assembles it, and its completed event carries the cost', async () => {
  const stream = client('openai', { 'x-mock-chunks': '4' }).responses.stream({ model: 'gpt-test', input: 'hello' });
  const types = [];
  for await (const event of stream) types.push(event.type);
  const final = await stream.finalResponse();
  assert.equal(final.status, 'completed');
  assert.equal(final.output[0].content[0].text, 'chunk0 chunk1 chunk2 chunk3');
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.completed');
  assert.equal(types.filter((t) => t === 'response.output_text.delta').length, 4);

  const res = await fetch(`${gw.url}/openai/v1/responses?raw`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-chunks': '4' },
    body: JSON.stringify({ model: 'gpt-test', input: 'x'.repeat(400), stream: true }),
  });
  assert.equal(res.status, 200);
  const completed = (await res.text())
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)))
    .find((e) => e.type === 'response.completed');
  // 100 x 2.5 + 4 x 10 = 290 micro-USD.
  assert.equal(completed.response.usage.sluice_cost_usd, 0.00029);
  assert.equal(completed.response.usage.input_tokens, 100);
  const line = await gw.waitForAccessLog((l) => l.path === '/openai/v1/responses?raw');
  assert.equal(line.stream, true);
  assert.equal(line.cost_usd, '0.000290');
});

test('a complete response carries x-sluice-cost-usd', async () => {
  const res = await fetch(`${gw.url}/openai/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-chunks': '3' },
    body: JSON.stringify({ model: 'gpt-test', input: 'x'.repeat(400) }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-sluice-cost-usd'), '0.000280');
  const body = await res.json();
  assert.equal(body.object, 'response');
});

test('a prompt guard reads the input: masked before the provider, or refused', async () => {
  const before = capture.requests.length;
  const res = await fetch(`${gw.url}/masked/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-test',
      instructions: `never repeat ${SSN}`,
      input: [
        { role: 'user', content: [{ type: 'input_text', text: `my SSN is ${SSN}` }] },
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: JSON.stringify({ ssn: SSN }) },
        { type: 'function_call_output', call_id: 'c1', output: `found ${SSN}` },
      ],
    }),
  });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(capture.requests.length, before + 1);
  const sent = capture.requests.at(-1);
  assert.equal(sent.target, '/v1/responses');
  const body = sent.body.toString();
  assert.equal(body.includes(SSN), false, body);
  const parsed = JSON.parse(body);
  assert.match(parsed.input[0].content[0].text, /^my SSN is \S+$/);
  assert.equal(parsed.input[2].call_id, 'c1', 'items keep their shape');

  const refused = await fetch(`${gw.url}/refused/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', input: `my SSN is ${SSN}` }),
  });
  assert.equal(refused.status, 400);
  const error = await refused.json();
  assert.equal(error.error.message, 'The request was rejected by policy');
});

test('a response guard reads translated Responses replies', async () => {
  const translated = await fetch(`${gw.url}/guarded-claude/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-reply': encodeURIComponent(`my SSN is ${SSN}`) },
    body: JSON.stringify({ model: 'claude-test', input: 'hello' }),
  });
  assert.equal(translated.status, 200);
  const t = await translated.json();
  assert.equal(t.object, 'response');
  const text = t.output[0].content[0].text;
  assert.match(text, /^my SSN is /);
  assert.equal(text.includes(SSN), false, text);

  // Chat completions on the same route pass the guard too.
  const chat = await fetch(`${gw.url}/guarded-claude/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-test', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(chat.status, 200);
  await chat.text();
});

test('a response guard reads native Responses replies: the complete response is masked', async () => {
  const res = await fetch(`${gw.url}/guarded-output/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-reply': encodeURIComponent(`my SSN is ${SSN}, noted`) },
    body: JSON.stringify({ model: 'gpt-test', input: 'hello' }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, 'response');
  const text = body.output[0].content[0].text;
  assert.match(text, /^my SSN is \S+, noted$/);
  assert.equal(text.includes(SSN), false, text);
  assert.ok(body.usage.output_tokens > 0, 'the rest of the response is the provider\'s');
});

test('a response guard reads native Responses streams: deltas, done events and the final response agree', async () => {
  // The SSN is cut across three deltas: the filter holds it, masks it, and lets the rest out.
  const reply = `my SSN is ${SSN}, noted`;
  const res = await fetch(`${gw.url}/guarded-output/v1/responses`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-mock-reply': encodeURIComponent(reply),
      'x-mock-split': '12,15,19',
    },
    body: JSON.stringify({ model: 'gpt-test', input: 'hello', stream: true }),
  });
  assert.equal(res.status, 200);
  const raw = await res.text();
  assert.equal(raw.includes(SSN), false, raw);
  const events = raw
    .split('\n\n')
    .map((block) => block.split('\n').find((line) => line.startsWith('data: ')))
    .filter(Boolean)
    .map((line) => JSON.parse(line.slice(6)));
  const sequence = events.map((e) => e.sequence_number);
  assert.deepEqual(sequence, sequence.map((_, i) => sequence[0] + i), 'sequence numbers stay consecutive');
  const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.match(deltas, /^my SSN is \S+, noted$/);
  const done = events.find((e) => e.type === 'response.output_text.done');
  assert.equal(done.text, deltas);
  assert.equal(events.find((e) => e.type === 'response.content_part.done').part.text, deltas);
  assert.equal(events.find((e) => e.type === 'response.output_item.done').item.content[0].text, deltas);
  const completed = events.at(-1);
  assert.equal(completed.type, 'response.completed');
  assert.equal(completed.response.output[0].content[0].text, deltas);
});

test('a response guard that rejects ends a native Responses stream with response.failed', async () => {
  const res = await fetch(`${gw.url}/rejected-output/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-reply': encodeURIComponent(`my SSN is ${SSN}`) },
    body: JSON.stringify({ model: 'gpt-test', input: 'hello', stream: true }),
  });
  assert.equal(res.status, 200);
  const raw = await res.text();
  assert.equal(raw.includes(SSN), false, raw);
  assert.match(raw, /event: response.failed/);
  assert.doesNotMatch(raw, /response.completed/);
  const failed = JSON.parse(raw.trim().split('\n').at(-1).slice(6));
  assert.equal(failed.response.status, 'failed');
  assert.ok(failed.response.error.message.length > 0);
});

test('an invalid body is a 400 naming the parse position; a retrieval by id still needs passthrough', async () => {
  const bad = await fetch(`${gw.url}/openai/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"gpt-test","input":',
  });
  assert.equal(bad.status, 400);
  await bad.text();
  const get = await fetch(`${gw.url}/openai/v1/responses/resp_1`);
  assert.equal(get.status, 404);
  const body = await get.json();
  assert.equal(body.error.code, 'api_not_enabled');
});
