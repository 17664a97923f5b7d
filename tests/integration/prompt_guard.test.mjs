// TrafficPolicy ai.promptGuard.request through the real binaries: REJECT in the OpenAI and the
// Anthropic error shapes (and nothing sent upstream), MASK as every provider format receives it
// (a capture upstream records what Sluice sent to OpenAI-format, Anthropic, Gemini and Bedrock
// Backends), precise builtins (an order number that fails the Luhn check passes), rule names in
// the access log without the matched text, and validate's errors.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startMock, startSluice, runValidate, gatewayYaml } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';
import { aiBackend as backend, prefixRule as rule } from '../lib/config_yaml.mjs';

const CARD = '4111 1111 1111 1111'; // passes Luhn
const ORDER = '4111111111111112'; // 16 digits, fails Luhn
const SSN = '123-45-6789';

let capture;
let mock;
let sluice;

before(async () => {
  capture = await startCaptureUpstream();
  mock = await startMock();
  sluice = await startSluice({
    config: `apiVersion: v1
kind: Secret
metadata: {name: aws}
stringData: {accessKeyId: AKIDMOCKEXAMPLE, secretAccessKey: mock-secret-key}
---
${backend('mock', 'openai: {authToken: {kind: Inline, inline: sk-p}}', mock.port)}${backend('mock-claude', 'anthropic: {authToken: {kind: Inline, inline: sk-p}}', mock.port)}${backend('cap-openai', 'openai: {authToken: {kind: Inline, inline: sk-p}}', capture.port)}${backend('cap-anthropic', 'anthropic: {authToken: {kind: Inline, inline: sk-p}}', capture.port)}${backend('cap-gemini', 'gemini: {authToken: {kind: Inline, inline: g-key}}', capture.port)}${backend('cap-bedrock', 'bedrock: {credentials: {secretRef: {name: aws}}, region: us-east-1}', capture.port)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${rule('reject', 'mock')}${rule('reject-claude', 'mock-claude')}${rule('mask-openai', 'cap-openai')}${rule('mask-anthropic', 'cap-anthropic')}${rule('mask-gemini', 'cap-gemini')}${rule('mask-bedrock', 'cap-bedrock')}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: reject}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: reject}
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: reject-claude}
  ai:
    promptGuard:
      request:
        customResponse: {message: "The request was rejected by policy", statusCode: 400}
        regex:
          action: REJECT
          builtins: [SSN, CREDIT_CARD]
          matches: [{name: ticket, pattern: "TCK-[0-9]{6}"}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: mask}
spec:
  targetRefs:
  - {kind: Backend, name: cap-openai}
  - {kind: Backend, name: cap-anthropic}
  - {kind: Backend, name: cap-gemini}
  - {kind: Backend, name: cap-bedrock}
  ai:
    promptGuard:
      request:
        regex:
          action: MASK
          builtins: [SSN, CREDIT_CARD, EMAIL, PHONE_NUMBER]
          matches: [{name: ticket, pattern: "TCK-[0-9]{6}", maxLength: 10}]
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await capture?.close();
});

test('REJECT: an OpenAI client gets the configured status and message; nothing reaches the provider', async () => {
  const client = new OpenAI({ baseURL: `${sluice.url}/reject/v1`, apiKey: 'k', maxRetries: 0 });
  await assert.rejects(
    client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: `My card is ${CARD}, charge it` }],
    }),
    (err) =>
      err instanceof OpenAI.BadRequestError &&
      err.status === 400 &&
      err.message.includes('The request was rejected by policy') &&
      err.code === 'content_filter',
  );
  const line = await sluice.waitForAccessLog((l) => l.route === 'llm/reject' && l.status === 400);
  assert.equal(line.guard, 'request reject CREDIT_CARD');
  assert.ok(!JSON.stringify(line).includes('4111'), 'the matched text is not logged');
  assert.equal(line.attempts ?? 0, 0);
});

test('REJECT: the named pattern and a tool result are inspected too', async () => {
  const res = await fetch(`${sluice.url}/reject/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'look up my ticket' },
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'Found TCK-123456 for you' },
      ],
    }),
  });
  assert.equal(res.status, 400);
  await sluice.waitForAccessLog((l) => l.guard === 'request reject ticket');
});

test('REJECT: an Anthropic client gets the Anthropic error shape, for a secret in the system prompt', async () => {
  const client = new Anthropic({ baseURL: `${sluice.url}/reject-claude`, apiKey: 'k', maxRetries: 0 });
  await assert.rejects(
    client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 32,
      system: [{ type: 'text', text: `The customer SSN is ${SSN}.` }],
      messages: [{ role: 'user', content: 'hello' }],
    }),
    (err) =>
      err instanceof Anthropic.BadRequestError &&
      err.error?.type === 'error' &&
      err.error?.error?.type === 'invalid_request_error' &&
      err.error?.error?.message === 'The request was rejected by policy',
  );
});

test('precise builtins: an order number that fails the Luhn check and an invalid SSN pass', async () => {
  const client = new OpenAI({ baseURL: `${sluice.url}/reject/v1`, apiKey: 'k', maxRetries: 0 });
  const reply = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: `Order ${ORDER} shipped; reference 000-12-3456 is not an SSN` }],
  });
  assert.ok(reply.choices[0].message.content.length > 0);
});

async function sent(path, body) {
  const before = capture.requests.length;
  const res = await fetch(`${sluice.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  assert.equal(capture.requests.length, before + 1, `one request reached the provider (status ${res.status})`);
  return capture.requests.at(-1).body;
}

const secretful = {
  model: 'any-model',
  messages: [
    { role: 'system', content: `Escalate to ops@example.com when asked.` },
    { role: 'user', content: `Card ${CARD}, SSN ${SSN}, ticket TCK-654321, call +1 (415) 555-0134. Order ${ORDER}.` },
  ],
};

for (const [name, path] of [
  ['OpenAI-format', '/mask-openai/v1/chat/completions'],
  ['Anthropic', '/mask-anthropic/v1/chat/completions'],
  ['Gemini', '/mask-gemini/v1/chat/completions'],
  ['Bedrock', '/mask-bedrock/v1/chat/completions'],
]) {
  test(`MASK: the ${name} provider receives placeholders, never the secrets`, async () => {
    const body = await sent(path, secretful);
    for (const placeholder of ['<CREDIT_CARD>', '<SSN>', '<ticket>', '<EMAIL>', '<PHONE_NUMBER>'])
      assert.ok(body.includes(placeholder), `${placeholder} in ${body}`);
    for (const secret of ['4111 1111', '123-45-6789', 'TCK-654321', 'ops@example.com', '555-0134'])
      assert.ok(!body.includes(secret), `${secret} must not reach the provider: ${body}`);
    assert.ok(body.includes(ORDER), 'the order number (not a card) is kept');
  });
}

test('MASK: an Anthropic client request is masked in its own schema', async () => {
  const body = JSON.parse(
    await sent('/mask-anthropic/v1/messages', {
      model: 'claude-sonnet-4-5',
      max_tokens: 32,
      system: `Refunds go to card ${CARD}.`,
      messages: [{ role: 'user', content: [{ type: 'text', text: `my SSN is ${SSN}` }] }],
    }),
  );
  assert.equal(body.system, 'Refunds go to card <CREDIT_CARD>.');
  assert.equal(body.messages[0].content[0].text, 'my SSN is <SSN>');
  const line = await sluice.waitForAccessLog((l) => l.guard?.startsWith('request mask') && l.path === '/mask-anthropic/v1/messages');
  assert.equal(line.guard, 'request mask CREDIT_CARD,SSN');
});

test('MASK: a Gemini client request is masked in its own schema (system instruction, text, function call and response)', async () => {
  const body = JSON.parse(
    await sent('/mask-gemini/v1beta/models/gemini-2.5-flash:generateContent', {
      systemInstruction: { parts: [{ text: `Refunds go to card ${CARD}.` }] },
      contents: [
        { role: 'user', parts: [{ text: `my SSN is ${SSN}` }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { ticket: 'TCK-654321' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { owner: 'ops@example.com' } } }] },
      ],
    }),
  );
  assert.equal(body.systemInstruction.parts[0].text, 'Refunds go to card <CREDIT_CARD>.');
  assert.equal(body.contents[0].parts[0].text, 'my SSN is <SSN>');
  assert.deepEqual(body.contents[1].parts[0].functionCall.args, { ticket: '<ticket>' });
  assert.deepEqual(body.contents[2].parts[0].functionResponse.response, { owner: '<EMAIL>' });
  const line = await sluice.waitForAccessLog(
    (l) => l.guard?.startsWith('request mask') && l.path.startsWith('/mask-gemini/v1beta/'),
  );
  assert.equal(line.guard, 'request mask CREDIT_CARD,SSN,ticket,EMAIL');
});

test('REJECT: a Gemini client gets Google\'s error shape, natively and translated', async () => {
  for (const path of ['/reject/v1beta/models/gpt-4o:generateContent', '/reject/v1beta/models/gpt-4o:countTokens']) {
    const res = await fetch(`${sluice.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: `card ${CARD}` }] }] }),
    });
    assert.equal(res.status, 400, path);
    const body = await res.json();
    assert.equal(body.error.status, 'INVALID_ARGUMENT', path);
    assert.equal(body.error.message, 'The request was rejected by policy', path);
  }
});

test('validate: invalid regexes, unknown builtins, a 2xx status, and a dangling webhook are errors', async () => {
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
    ['      request: {regex: {matches: [{name: ticket, pattern: "TCK-[0-9"}]}}', /spec\.ai\.promptGuard\.request\.regex: pattern "ticket": invalid regular expression/],
    ['      request: {regex: {builtins: [PASSPORT]}}', /spec\.ai\.promptGuard\.request\.regex: .*PASSPORT/],
    ['      request: {customResponse: {statusCode: 200}, regex: {builtins: [SSN]}}', /customResponse\.statusCode/],
    ['      request: {regex: {action: BLOCK, builtins: [SSN]}}', /regex\.action: unknown value "BLOCK"; expected one of REJECT, MASK/],
    ['      request: {regex: {builtins: [SSN]}, webhook: {backendRef: {name: guard-svc}}}', /promptGuard\.request\.webhook\.backendRef\.name: Backend "guard-svc" does not exist/],
    ['      request: {customResponse: {message: x}}', /promptGuard\.request: needs regex\.builtins or regex\.matches/],
  ];
  for (const [guard, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(config(guard));
    assert.notEqual(code, 0, guard);
    assert.match(stdout + stderr, expected, guard);
  }
});
