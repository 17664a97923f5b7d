// TrafficPolicy ai.promptGuard.request.webhook and .moderation through the real binaries:
// sluice-mock is the guard service (its guard webhook and moderation endpoints decide by marker
// words) and a capture upstream shows what the provider — or a guard service — received. Pass,
// mask (the provider sees the masked text), reject in the OpenAI and Anthropic error shapes, a
// slow webhook (FailClosed 503, FailOpen continues), an unreachable one, forwardHeaders (and
// never the client's credential), moderation flagged and not, the access log's guard field,
// and validate's errors.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, runValidate, gatewayYaml, freePort } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';
import { aiBackend, staticBackend, prefixRule as rule } from '../lib/config_yaml.mjs';

let capture;
let mock;
let sluice;

const policy = (name, sections, request) => `---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: ${name}}
spec:
  targetRefs:
${sections.map((s) => `  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: ${s}}`).join('\n')}
  ai:
    promptGuard:
      request:
${request}
`;

const captured = (target) => capture.requests.filter((r) => r.target === target);
const chat = (content, extra = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra });

before(async () => {
  capture = await startCaptureUpstream();
  mock = await startMock();
  const closedPort = await freePort();
  sluice = await startSluice({
    config: `${aiBackend('cap-openai', 'openai: {authToken: {kind: Inline, inline: sk-provider}}', capture.port)}${aiBackend('cap-anthropic', 'anthropic: {authToken: {kind: Inline, inline: sk-provider}}', capture.port)}${aiBackend('mock', 'openai: {authToken: {kind: Inline, inline: sk-provider}}', mock.port)}${aiBackend('moderator', 'openai: {authToken: {kind: Inline, inline: sk-moderation}}', mock.port)}${aiBackend('moderator-capture', 'openai: {authToken: {kind: Inline, inline: sk-moderation}}', capture.port)}${staticBackend('guard', mock.port)}${staticBackend('guard-capture', capture.port)}${staticBackend('guard-down', closedPort)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${rule('hook', 'cap-openai')}${rule('hook-claude', 'cap-anthropic')}${rule('hook-open', 'cap-openai')}${rule('hook-down', 'mock')}${rule('hook-forward', 'mock')}${rule('moderated', 'mock')}${rule('moderated-capture', 'mock')}${policy('a-hook', ['hook', 'hook-claude'], `        webhook: {backendRef: {name: guard}, timeout: 1s}`)}${policy('b-hook-open', ['hook-open'], `        webhook: {backendRef: {name: guard}, timeout: 1s, failureMode: FailOpen}`)}${policy('c-hook-down', ['hook-down'], `        webhook: {backendRef: {name: guard-down}, timeout: 1s}`)}${policy('d-hook-forward', ['hook-forward'], `        webhook:
          backendRef: {name: guard-capture}
          forwardHeaders: [x-request-id, x-absent]
          failureMode: FailOpen`)}${policy('e-moderated', ['moderated'], `        customResponse: {message: "Flagged by moderation", statusCode: 400}
        moderation: {openAIModeration: {backendRef: {name: moderator}, model: omni-moderation-latest}}`)}${policy('f-moderated-capture', ['moderated-capture'], `        moderation: {openAIModeration: {backendRef: {name: moderator-capture}, timeout: 1s, failureMode: FailOpen}}`)}`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await capture?.close();
});

test('pass: the provider receives the request unchanged; nothing is logged as guarded', async () => {
  const before = captured('/v1/chat/completions').length;
  const res = await fetch(`${sluice.url}/hook/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'pass-1' },
    body: JSON.stringify(chat('a harmless question')),
  });
  assert.equal(res.status, 200);
  const sent = captured('/v1/chat/completions');
  assert.equal(sent.length, before + 1);
  assert.equal(JSON.parse(sent.at(-1).body).messages[0].content, 'a harmless question');
  const line = await sluice.waitForAccessLog((l) => l.path === '/hook/v1/chat/completions' && l.status === 200);
  assert.equal(line.guard, undefined);
});

test('mask: the provider sees the text the webhook returned, for every message, and the log says webhook:mask', async () => {
  const res = await fetch(`${sluice.url}/hook/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'never say MASKME' },
        { role: 'user', content: [{ type: 'text', text: 'my secret is MASKME, keep it' }] },
      ],
    }),
  });
  assert.equal(res.status, 200);
  const body = JSON.parse(captured('/v1/chat/completions').at(-1).body);
  assert.equal(body.messages[0].content, 'never say [MASKED]');
  assert.equal(body.messages[1].content[0].text, 'my secret is [MASKED], keep it');
  assert.ok(!JSON.stringify(body).includes('MASKME'));
  const line = await sluice.waitForAccessLog((l) => l.guard === 'webhook:mask');
  assert.equal(line.path, '/hook/v1/chat/completions');
  assert.ok(!JSON.stringify(line).includes('secret'), 'no text in the access log');
});

test('mask: an Anthropic client’s system blocks and messages are masked in its own schema', async () => {
  const client = new Anthropic({ baseURL: `${sluice.url}/hook-claude`, apiKey: 'k', maxRetries: 0 });
  await client.messages
    .create({
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      system: [{ type: 'text', text: 'the code is MASKME' }],
      messages: [{ role: 'user', content: 'hello' }],
    })
    .catch(() => {}); // the capture upstream's answer is not an Anthropic message
  const body = JSON.parse(captured('/v1/messages').at(-1).body);
  assert.equal(body.system[0].text, 'the code is [MASKED]');
  assert.equal(body.messages[0].content, 'hello');
});

test('reject: an OpenAI client gets the webhook’s status and text; nothing reaches the provider', async () => {
  const before = captured('/v1/chat/completions').length;
  const client = new OpenAI({ baseURL: `${sluice.url}/hook/v1`, apiKey: 'k', maxRetries: 0 });
  await assert.rejects(
    client.chat.completions.create(chat('please BLOCKME now')),
    (err) =>
      err instanceof OpenAI.PermissionDeniedError &&
      err.status === 403 &&
      err.message.includes('blocked by mock guard') &&
      err.code === 'content_filter',
  );
  assert.equal(captured('/v1/chat/completions').length, before);
  const line = await sluice.waitForAccessLog((l) => l.guard === 'webhook:reject');
  assert.equal(line.status, 403);
  assert.equal(line.attempts ?? 0, 0);
});

test('reject: an Anthropic /v1/messages client gets the Anthropic error shape', async () => {
  const client = new Anthropic({ baseURL: `${sluice.url}/hook-claude`, apiKey: 'k', maxRetries: 0 });
  await assert.rejects(
    client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'BLOCKME' }] }),
    (err) =>
      err instanceof Anthropic.PermissionDeniedError &&
      err.error?.type === 'error' &&
      err.error?.error?.type === 'permission_error' &&
      err.error?.error?.message === 'blocked by mock guard',
  );
});

test('timeout, FailClosed: a webhook slower than its timeout answers 503 in the client schema', async () => {
  const started = Date.now();
  const res = await fetch(`${sluice.url}/hook/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('SLOWGUARD please')),
  });
  const elapsed = Date.now() - started;
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.error.code, 'guard_unavailable');
  assert.match(body.error.message, /prompt guard webhook was unavailable: no answer within 1000 ms/);
  assert.ok(elapsed >= 900 && elapsed < 2500, `answered after ${elapsed} ms`);
  await sluice.waitForAccessLog((l) => l.guard === 'webhook:unavailable' && l.status === 503);
});

test('timeout, FailOpen: the request continues to the provider and the log notes the webhook was unavailable', async () => {
  const before = captured('/v1/chat/completions').length;
  const res = await fetch(`${sluice.url}/hook-open/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('SLOWGUARD but open')),
  });
  assert.equal(res.status, 200);
  assert.equal(captured('/v1/chat/completions').length, before + 1);
  assert.equal(JSON.parse(captured('/v1/chat/completions').at(-1).body).messages[0].content, 'SLOWGUARD but open');
  await sluice.waitForAccessLog((l) => l.path === '/hook-open/v1/chat/completions' && l.guard === 'webhook:unavailable' && l.status === 200);
});

test('unreachable webhook, FailClosed: 503 naming the guard webhook', async () => {
  const res = await fetch(`${sluice.url}/hook-down/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('hello')),
  });
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.match(body.error.message, /^The prompt guard webhook was unavailable: /);
  assert.equal(body.error.type, 'server_error');
});

test('forwardHeaders: the listed client headers reach the webhook, the client credential does not; the contract body', async () => {
  const res = await fetch(`${sluice.url}/hook-forward/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-42', authorization: 'Bearer client-secret' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }] }),
  });
  // The capture upstream's answer is no guard action: a broken webhook, and FailOpen lets it through.
  assert.equal(res.status, 200);
  const call = captured('/request').at(-1);
  assert.ok(call, 'the webhook was called at /request');
  assert.equal(call.method, 'POST');
  const headers = Object.fromEntries(call.headers);
  assert.equal(headers['x-request-id'], 'req-42');
  assert.equal(headers.authorization, undefined, 'the client credential is not forwarded');
  assert.equal(headers['x-absent'], undefined);
  assert.deepEqual(JSON.parse(call.body), {
    body: { messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }] },
  });
  await sluice.waitForAccessLog((l) => l.path === '/hook-forward/v1/chat/completions' && l.guard === 'webhook:unavailable');
});

test('moderation: a flagged input is rejected with customResponse in the client schema; categories logged', async () => {
  const res = await fetch(`${sluice.url}/moderated/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('you are FLAGME')),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.message, 'Flagged by moderation');
  assert.equal(body.error.code, 'content_filter');
  const line = await sluice.waitForAccessLog((l) => l.guard === 'moderation:harassment');
  assert.equal(line.status, 400);
});

test('moderation: an input not flagged goes to the provider', async () => {
  const res = await fetch(`${sluice.url}/moderated/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('a kind word')),
  });
  assert.equal(res.status, 200);
  const reply = await res.json();
  assert.ok(reply.choices[0].message.content.length > 0);
});

test('moderation: the call carries the moderation Backend’s key, never the client’s, and the user text', async () => {
  const res = await fetch(`${sluice.url}/moderated-capture/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer client-secret' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'check me' }] }),
  });
  assert.equal(res.status, 200, 'FailOpen: the capture upstream is no moderation endpoint');
  const call = captured('/v1/moderations').at(-1);
  assert.ok(call, 'the moderation endpoint was called');
  const headers = Object.fromEntries(call.headers);
  assert.equal(headers.authorization, 'Bearer sk-moderation');
  assert.deepEqual(JSON.parse(call.body), { model: 'omni-moderation-latest', input: ['check me'] });
});

test('validate: a dangling backendRef, a bad failureMode, a bad timeout and wrong Backend kinds are errors', async () => {
  const config = (request) => `${gatewayYaml({ port: 1, adminPort: 2 })}---
${aiBackend('llm', 'openai: {authToken: {kind: Inline, inline: k}}', 1)}${staticBackend('svc', 1)}apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  ai:
    promptGuard:
      request:
${request}
`;
  const cases = [
    ['        webhook: {backendRef: {name: nowhere}}', /TrafficPolicy\/guard.*spec\.ai\.promptGuard\.request\.webhook\.backendRef\.name: Backend "nowhere" does not exist/],
    ['        webhook: {backendRef: {name: svc}, failureMode: Sometimes}', /webhook\.failureMode: unknown value "Sometimes"; expected one of FailClosed, FailOpen/],
    ['        webhook: {backendRef: {name: svc}, timeout: soon}', /webhook\.timeout: expected a duration/],
    ['        webhook: {backendRef: {name: svc}, timeout: 0s}', /webhook\.timeout: must be longer than 0/],
    ['        webhook: {backendRef: {name: llm}}', /webhook\.backendRef\.name: Backend "llm" is an AI Backend/],
    ['        webhook: {forwardHeaders: [x-request-id]}', /webhook\.backendRef: is required/],
    ['        webhook: {backendRef: {name: svc}, forwardHeaders: [Host]}', /forwardHeaders\[0\]: "Host" frames the guard call itself/],
    ['        moderation: {openAIModeration: {backendRef: {name: svc}}}', /moderation\.openAIModeration\.backendRef\.name: Backend "svc" is not an AI Backend with ai\.llm\.openai/],
    ['        moderation: {openAIModeration: {backendRef: {name: gone}}}', /moderation\.openAIModeration\.backendRef\.name: Backend "gone" does not exist/],
    ['        moderation: {}', /moderation\.openAIModeration: is required/],
  ];
  for (const [request, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(config(request));
    assert.notEqual(code, 0, request);
    assert.match(stdout + stderr, expected, request);
  }
  const ok = await runValidate(
    config('        moderation: {openAIModeration: {backendRef: {name: llm}}}\n        webhook: {backendRef: {name: svc}, forwardHeaders: [x-request-id], timeout: 500ms, failureMode: FailOpen}'),
  );
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});
