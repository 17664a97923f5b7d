// TrafficPolicy ai.promptGuard.response through the real binaries: sluice-mock answers with a
// scripted text cut into chosen stream events (x-mock-reply, x-mock-split), in the OpenAI,
// Anthropic, Gemini and Bedrock formats; the official SDKs read what Sluice passes on. MASK on
// streams and complete replies, native and translated, the secret split at every position;
// REJECT as content_filter plus an error event (streams) or the configured error (complete
// replies), in the OpenAI and the Anthropic shape; rule names in the access log, never the text.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, runValidate, gatewayYaml } from '../lib/harness.mjs';
import { aiBackend, prefixRule as rule } from '../lib/config_yaml.mjs';

const CARD = '4111 1111 1111 1111';
const TEXT = `Your card ${CARD} is on file; write to jane@example.com.`;
const MASKED = 'Your card <CREDIT_CARD> is on file; write to <EMAIL>.';

let mock;
let sluice;

const guard = (name, action, sections) => `---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}}
spec:
  targetRefs:
${sections.map((s) => `  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: ${s}}`).join('\n')}
  ai:
    promptGuard:
      response:
        customResponse: {message: "The answer was withheld by policy", statusCode: 451}
        regex:
          action: ${action}
          builtins: [CREDIT_CARD, EMAIL]
          matches: [{name: ticket, pattern: "TCK-[0-9]{6}", maxLength: 10}]
`;

before(async () => {
  mock = await startMock();
  sluice = await startSluice({
    config: `apiVersion: v1
kind: Secret
metadata: {name: aws}
stringData: {accessKeyId: AKIDMOCKEXAMPLE, secretAccessKey: mock-secret-key}
---
${aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-p}}', mock.port)}${aiBackend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-p}}', mock.port)}${aiBackend('gemini', 'gemini: {authToken: {kind: Inline, inline: g-key}}', mock.port)}${aiBackend('bedrock', 'bedrock: {credentials: {secretRef: {name: aws}}, region: us-east-1}', mock.port)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${rule('mask-openai', 'openai')}${rule('mask-claude', 'claude')}${rule('mask-gemini', 'gemini')}${rule('mask-bedrock', 'bedrock')}${rule('reject-openai', 'openai')}${rule('reject-claude', 'claude')}${rule('reject-gemini', 'gemini')}${rule('reject-bedrock', 'bedrock')}${rule('plain', 'openai')}${guard('mask', 'MASK', ['mask-openai', 'mask-claude', 'mask-gemini', 'mask-bedrock'])}${guard('reject', 'REJECT', ['reject-openai', 'reject-claude', 'reject-gemini', 'reject-bedrock'])}`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

const scripted = (text, split) => ({
  'x-mock-reply': encodeURIComponent(text),
  ...(split === undefined ? {} : { 'x-mock-split': String(split) }),
});

const openai = (route, headers) =>
  new OpenAI({ baseURL: `${sluice.url}/${route}/v1`, apiKey: 'k', maxRetries: 0, defaultHeaders: headers });
const anthropic = (route, headers) =>
  new Anthropic({ baseURL: `${sluice.url}/${route}`, apiKey: 'k', maxRetries: 0, defaultHeaders: headers });

async function openaiStreamText(route, headers, model = 'gpt-4o') {
  const stream = await openai(route, headers).chat.completions.create({
    model,
    stream: true,
    messages: [{ role: 'user', content: 'hello' }],
  });
  let text = '';
  let finish = null;
  let events = 0;
  for await (const chunk of stream) {
    events += 1;
    for (const choice of chunk.choices) {
      text += choice.delta?.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
  }
  return { text, finish, events };
}

async function anthropicStreamText(route, headers, model = 'claude-sonnet-4-5') {
  const stream = anthropic(route, headers).messages.stream({
    model,
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hello' }],
  });
  let text = '';
  for await (const event of stream) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  const message = await stream.finalMessage();
  return { text, stop: message.stop_reason };
}

test('MASK, native OpenAI stream: the card split over five events never reaches the client', async () => {
  const at = TEXT.indexOf('4111');
  const { text, finish, events } = await openaiStreamText('mask-openai', scripted(TEXT, [at + 2, at + 6, at + 9, at + 13, at + 17].join(',')));
  assert.equal(text, MASKED);
  assert.equal(finish, 'stop');
  assert.ok(events >= 6, `the stream keeps its events (${events})`);
  const line = await sluice.waitForAccessLog((l) => l.route === 'llm/mask-openai');
  assert.equal(line.guard, 'response mask CREDIT_CARD,EMAIL');
  assert.ok(!JSON.stringify(line).includes('jane@'), 'the matched text is not logged');
});

test('MASK, native OpenAI stream: the secret cut at every byte position', async () => {
  const text = `ok ${CARD} end`;
  for (let at = 1; at < text.length; at += 1) {
    const read = await openaiStreamText('mask-openai', scripted(text, String(at)));
    assert.equal(read.text, 'ok <CREDIT_CARD> end', `pieces of ${at} bytes`);
  }
});

test('MASK, complete replies: OpenAI, Anthropic, Gemini and Bedrock backends, OpenAI client', async () => {
  for (const route of ['mask-openai', 'mask-claude', 'mask-gemini', 'mask-bedrock']) {
    const reply = await openai(route, scripted(TEXT)).chat.completions.create({
      model: route === 'mask-bedrock' ? 'anthropic.claude-3-haiku-20240307-v1:0' : 'gpt-4o',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(reply.choices[0].message.content, MASKED, route);
  }
  // The access log has the provider's model and finish reason, native and translated alike.
  for (const route of ['mask-openai', 'mask-claude']) {
    const line = await sluice.waitForAccessLog((l) => l.path === `/${route}/v1/chat/completions` && !l.stream);
    assert.ok(line.finish_reason === 'stop' || line.finish_reason === 'end_turn', `${route}: ${line.finish_reason}`);
    assert.ok(line.response_model, route);
  }
});

test('MASK, translated streams: Anthropic, Gemini and Bedrock backends to an OpenAI client', async () => {
  const at = TEXT.indexOf('jane');
  for (const route of ['mask-claude', 'mask-gemini', 'mask-bedrock']) {
    const model = route === 'mask-bedrock' ? 'anthropic.claude-3-haiku-20240307-v1:0' : 'gpt-4o';
    const read = await openaiStreamText(route, scripted(TEXT, [at + 1, at + 5, at + 9, at + 12].join(',')), model);
    assert.equal(read.text, MASKED, route);
  }
});

test('MASK, Anthropic client: native Anthropic stream and a translated OpenAI stream', async () => {
  const at = TEXT.indexOf('4111');
  const split = [at + 3, at + 8, at + 15].join(',');
  const native = await anthropicStreamText('mask-claude', scripted(TEXT, split));
  assert.equal(native.text, MASKED);
  assert.equal(native.stop, 'end_turn');
  const translated = await anthropicStreamText('mask-openai', scripted(TEXT, split), 'gpt-4o');
  assert.equal(translated.text, MASKED);
  const complete = await anthropic('mask-claude', scripted(TEXT)).messages.create({
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(complete.content[0].text, MASKED);
});

test('MASK, tool-call arguments streamed in fragments', async () => {
  const args = '{"to":"jane@example.com","ticket":"TCK-123456"}';
  const stream = await openai('mask-openai', {
    'x-mock-tool-args': encodeURIComponent(args),
    'x-mock-split': '9,20,33',
  }).chat.completions.create({
    model: 'gpt-4o',
    stream: true,
    tool_choice: 'required',
    tools: [{ type: 'function', function: { name: 'send', parameters: { type: 'object', properties: {} } } }],
    messages: [{ role: 'user', content: 'hello' }],
  });
  let received = '';
  for await (const chunk of stream) {
    for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) received += call.function?.arguments ?? '';
  }
  assert.equal(received, '{"to":"<EMAIL>","ticket":"<ticket>"}');
});

test('REJECT, OpenAI stream: content_filter, then the error; the card never arrives', async () => {
  const at = TEXT.indexOf('4111');
  const headers = scripted(TEXT, [at + 4, at + 10].join(','));
  const res = await fetch(`${sluice.url}/reject-openai/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.ok(!body.includes('4111'), 'no digit of the card is sent');
  assert.ok(!body.includes('[DONE]'));
  assert.match(body, /"finish_reason":"content_filter"/);
  assert.match(body, /data: \{"error":\{"message":"The answer was withheld by policy"/);
  await assert.rejects(openaiStreamText('reject-openai', headers), (err) => err instanceof OpenAI.APIError);
  const line = await sluice.waitForAccessLog((l) => l.route === 'llm/reject-openai');
  assert.equal(line.guard, 'response reject CREDIT_CARD');
});

test('REJECT, complete replies: the configured status and message in the client schema', async () => {
  await assert.rejects(
    openai('reject-openai', scripted(TEXT)).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    }),
    (err) => err instanceof OpenAI.APIError && err.status === 451 && err.message.includes('withheld by policy'),
  );
  await assert.rejects(
    anthropic('reject-claude', scripted(TEXT)).messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    }),
    (err) => err instanceof Anthropic.APIError && err.status === 451 && err.error?.type === 'error',
  );
});

test('REJECT, Gemini and Bedrock backends: complete replies refused, streams end with content_filter', async () => {
  for (const route of ['reject-gemini', 'reject-bedrock']) {
    const model = route === 'reject-bedrock' ? 'anthropic.claude-3-haiku-20240307-v1:0' : 'gemini-2.0-flash';
    await assert.rejects(
      openai(route, scripted(TEXT)).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }),
      (err) => err instanceof OpenAI.APIError && err.status === 451,
      route,
    );
    const res = await fetch(`${sluice.url}/${route}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...scripted(TEXT, '6') },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await res.text();
    assert.ok(!body.includes('4111'), route);
    assert.match(body, /"finish_reason":"content_filter"/, route);
    assert.match(body, /data: \{"error":\{"message":"The answer was withheld by policy"/, route);
  }
});

test('REJECT, native Anthropic stream: stop_reason refusal and an error event', async () => {
  const res = await fetch(`${sluice.url}/reject-claude/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'k', ...scripted(TEXT, '5') },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = await res.text();
  assert.ok(!body.includes('4111'));
  assert.match(body, /"stop_reason":"refusal"/);
  assert.match(body, /event: error\ndata: \{"type":"error"/);
});

test('a route without the guard passes the reply unchanged', async () => {
  const read = await openaiStreamText('plain', scripted(TEXT, '7'));
  assert.equal(read.text, TEXT);
});

test('validate reports a response guard with nothing to look for and an invalid pattern', async () => {
  const config = (guard) => `${gatewayYaml({ port: 1, adminPort: 2 })}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  ai:
    promptGuard:
${guard}
`;
  const cases = [
    ['      response: {regex: {action: MASK, matches: [{name: bad, pattern: "(unclosed"}]}}', /TrafficPolicy\/guard: spec\.ai\.promptGuard\.response\.regex: pattern "bad": invalid regular expression/],
    ['      response: {regex: {action: MASK}}', /spec\.ai\.promptGuard\.response: needs regex\.builtins or regex\.matches/],
    ['      response: {regex: {builtins: [IBAN]}}', /spec\.ai\.promptGuard\.response\.regex: .*IBAN/],
    ['      response: {customResponse: {statusCode: 204}, regex: {builtins: [EMAIL]}}', /response\.customResponse\.statusCode/],
  ];
  for (const [guard, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(config(guard));
    assert.notEqual(code, 0, guard);
    assert.match(stdout + stderr, expected, guard);
  }
});
