// TrafficPolicy ai.promptGuard.response.webhook through the real binaries: sluice-mock is both
// the provider (a scripted reply: x-mock-reply) and the guard service (its /response endpoint
// masks MASKME, rejects BLOCKME, answers SLOWGUARD late). Complete replies of OpenAI-format,
// Anthropic and Gemini providers, read by the official SDKs; streams passed without the
// webhook by default and buffered with `streaming: Buffer`; failure modes; the webhook before
// the regex guard; validate's errors.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, runValidate, gatewayYaml, freePort } from '../lib/harness.mjs';
import { aiBackend, staticBackend, prefixRule as rule } from '../lib/config_yaml.mjs';

let mock;
let sluice;

const policy = (name, sections, response) => `---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}}
spec:
  targetRefs:
${sections.map((s) => `  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: ${s}}`).join('\n')}
  ai:
    promptGuard:
      response:
${response}
`;

before(async () => {
  mock = await startMock();
  const closedPort = await freePort();
  sluice = await startSluice({
    config: `${aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-p}}', mock.port)}${aiBackend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-p}}', mock.port)}${aiBackend('gemini', 'gemini: {authToken: {kind: Inline, inline: g-key}}', mock.port)}${staticBackend('guard', mock.port)}${staticBackend('guard-down', closedPort)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${rule('hook', 'openai')}${rule('hook-claude', 'claude')}${rule('hook-gemini', 'gemini')}${rule('hook-buffer', 'openai')}${rule('hook-buffer-claude', 'claude')}${rule('hook-slow', 'openai')}${rule('hook-open', 'openai')}${rule('hook-regex', 'openai')}${policy('a', ['hook', 'hook-claude', 'hook-gemini'], '        webhook: {backendRef: {name: guard}}')}${policy('b', ['hook-buffer', 'hook-buffer-claude'], '        webhook: {backendRef: {name: guard}, streaming: Buffer}')}${policy('c', ['hook-slow'], '        webhook: {backendRef: {name: guard}, timeout: 1s}')}${policy('d', ['hook-open'], '        webhook: {backendRef: {name: guard-down}, failureMode: FailOpen}')}${policy('e', ['hook-regex'], '        regex: {action: MASK, builtins: [EMAIL]}\n        webhook: {backendRef: {name: guard}}')}`,
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
const ask = (route, text, extra = {}) =>
  openai(route, scripted(text)).chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'hello' }],
    ...extra,
  });

test('pass: the reply is unchanged', async () => {
  const reply = await ask('hook', 'a harmless answer');
  assert.equal(reply.choices[0].message.content, 'a harmless answer');
});

test('mask: the client gets the text the webhook returned, from OpenAI, Anthropic and Gemini providers', async () => {
  for (const route of ['hook', 'hook-claude', 'hook-gemini']) {
    const reply = await ask(route, 'the secret is MASKME, keep it');
    assert.equal(reply.choices[0].message.content, 'the secret is [MASKED], keep it', route);
  }
  const native = await anthropic('hook-claude', scripted('native MASKME too')).messages.create({
    model: 'claude-sonnet-4-5',
    max_tokens: 50,
    messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(native.content[0].text, 'native [MASKED] too');
  const line = await sluice.waitForAccessLog((l) => l.path === '/hook-claude/v1/messages');
  assert.equal(line.guard, 'response-webhook:mask');
});

test('reject: the status and text of the webhook, in the OpenAI and the Anthropic shape', async () => {
  await assert.rejects(ask('hook', 'BLOCKME please'), (err) => err instanceof OpenAI.APIError && err.status === 403 && err.message.includes('blocked by mock guard'));
  await assert.rejects(
    anthropic('hook-claude', scripted('BLOCKME')).messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hello' }],
    }),
    (err) => err instanceof Anthropic.PermissionDeniedError && err.message.includes('blocked by mock guard'),
  );
});

test('streams pass without the webhook unless streaming: Buffer', async () => {
  const read = async (route, headers) => {
    const stream = await openai(route, headers).chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'hello' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  };
  assert.equal(await read('hook', scripted('stream MASKME here', '4')), 'stream MASKME here');
  assert.equal(await read('hook-buffer', scripted('stream MASKME here', '4')), 'stream [MASKED] here');
  const stream = anthropic('hook-buffer-claude', scripted('claude MASKME stream', '3')).messages.stream({
    model: 'claude-sonnet-4-5',
    max_tokens: 50,
    messages: [{ role: 'user', content: 'hello' }],
  });
  const message = await stream.finalMessage();
  assert.equal(message.content[0].text, 'claude [MASKED] stream');
});

test('a buffered stream the webhook passes is the stream the client asked for, its usage read', async () => {
  const res = await fetch(`${sluice.url}/hook-buffer/v1/chat/completions?buffered-pass`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...scripted('nothing to mask', '3') },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /data: \[DONE\]/);
  assert.equal(text.includes('"usage":{'), false, 'the usage chunk Sluice asked for is not sent');
  const line = await sluice.waitForAccessLog((l) => l.path === '/hook-buffer/v1/chat/completions?buffered-pass');
  assert.equal(line.completion_tokens, 3);
  assert.ok(line.prompt_tokens > 0);
});

test('a buffered stream the webhook rejects gets a proper error status: nothing was sent yet', async () => {
  const res = await fetch(`${sluice.url}/hook-buffer/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...scripted('BLOCKME in a stream', '5') },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 403);
  const body = await res.json();
  assert.equal(body.error.message, 'blocked by mock guard');
});

test('failure modes: a slow webhook fails closed with 503; an unreachable one fails open', async () => {
  await assert.rejects(ask('hook-slow', 'SLOWGUARD answer'), (err) => err instanceof OpenAI.APIError && err.status === 503 && err.message.includes('response guard webhook was unavailable'));
  const reply = await ask('hook-open', 'still delivered MASKME');
  assert.equal(reply.choices[0].message.content, 'still delivered MASKME');
  const line = await sluice.waitForAccessLog((l) => l.path === '/hook-open/v1/chat/completions');
  assert.equal(line.guard, 'response-webhook:unavailable');
});

test('the webhook runs first, then the regex guard masks what it left', async () => {
  const reply = await ask('hook-regex', 'MASKME and mail jane@example.com');
  assert.equal(reply.choices[0].message.content, '[MASKED] and mail <EMAIL>');
});

test('validate: a response webhook to a missing or AI Backend, a bad streaming mode', async () => {
  const config = (response) => `${gatewayYaml({ port: 1, adminPort: 2 })}---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: llm}
spec: {type: AI, ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}}}}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  ai:
    promptGuard:
      response:
${response}
`;
  const cases = [
    ['        webhook: {backendRef: {name: gone}}', /promptGuard\.response\.webhook\.backendRef\.name: Backend "gone" does not exist/],
    ['        webhook: {backendRef: {name: llm}}', /promptGuard\.response\.webhook\.backendRef\.name: Backend "llm" is an AI Backend/],
    ['        webhook: {backendRef: {name: llm}, streaming: Always}', /webhook\.streaming: unknown value "Always"; expected one of Skip, Buffer/],
    ['        customResponse: {message: x}', /promptGuard\.response: needs regex\.builtins or regex\.matches, or webhook/],
  ];
  for (const [response, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(config(response));
    assert.notEqual(code, 0, response);
    assert.match(stdout + stderr, expected, response);
  }
});
