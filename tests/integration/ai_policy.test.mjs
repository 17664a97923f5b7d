// TrafficPolicy `ai`: model aliases, request defaults and prompt enrichment as the provider sees
// them (a capture upstream records what Sluice sent, natively and after translation to
// Anthropic), the alias in the access log, and the attachment rule kgateway users asked for: an
// ai section on a route rule that sends to a Static Backend is a configuration error.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startMock, startSluice, runValidate, gatewayYaml } from '../lib/harness.mjs';
import { startCaptureUpstream } from '../lib/capture_upstream.mjs';

let capture;
let mock;
let sluice;

const backend = (name, provider, port) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      ${provider}: {authToken: {kind: Inline, inline: sk-provider}}
      host: 127.0.0.1
      port: ${port}
---
`;

before(async () => {
  capture = await startCaptureUpstream();
  mock = await startMock();
  sluice = await startSluice({
    config: `${backend('cap-openai', 'openai', capture.port)}${backend('cap-anthropic', 'anthropic', capture.port)}${backend('mock', 'openai', mock.port)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: native
    matches: [{path: {type: PathPrefix, value: /native}}]
    backendRefs: [{name: cap-openai}]
  - name: translated
    matches: [{path: {type: PathPrefix, value: /translated}}]
    backendRefs: [{name: cap-anthropic}]
  - name: answered
    matches: [{path: {type: PathPrefix, value: /answered}}]
    backendRefs: [{name: mock}]
  - name: plain
    matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: cap-openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: completion}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: native}
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: translated}
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: answered}
  ai:
    modelAliases: {fast: gpt-4o-mini, smart: claude-sonnet-4-5}
    defaults:
    - {field: temperature, value: 0.2}
    - {field: max_tokens, value: 1024, override: true}
    - {field: reasoning.effort, value: low}
    - {field: user, value: "42"}
    promptEnrichment:
      prepend: [{role: system, content: "Answer in English."}]
      append: [{role: user, content: "Cite your sources."}]
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
  await capture?.close();
});

async function sent(path, body) {
  const before = capture.requests.length;
  const res = await fetch(`${sluice.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer client' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  assert.equal(capture.requests.length, before + 1, `one request reached the provider (status ${res.status})`);
  return JSON.parse(capture.requests.at(-1).body);
}

test('OpenAI client, OpenAI provider: alias resolved, defaults set or kept, messages added around the conversation', async () => {
  const body = await sent('/native/v1/chat/completions', {
    model: 'fast',
    max_tokens: 10,
    messages: [{ role: 'user', content: 'What is RE2?' }],
  });
  assert.equal(body.model, 'gpt-4o-mini');
  assert.equal(body.temperature, 0.2, 'absent: the default, as a number');
  assert.equal(body.max_tokens, 1024, 'override: true replaces what the client sent');
  assert.deepEqual(body.reasoning, { effort: 'low' }, 'a dot path creates the object');
  assert.equal(body.user, '42', 'a quoted YAML value stays a string');
  assert.deepEqual(body.messages, [
    { role: 'system', content: 'Answer in English.' },
    { role: 'user', content: 'What is RE2?' },
    { role: 'user', content: 'Cite your sources.' },
  ]);
  const kept = await sent('/native/v1/chat/completions', {
    model: 'gpt-4o',
    temperature: 0.9,
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(kept.model, 'gpt-4o', 'a model that is no alias is left alone');
  assert.equal(kept.temperature, 0.9, 'a default never replaces what the client sent');
});

test('OpenAI client, Anthropic provider: the enrichment and the defaults arrive in Anthropic form', async () => {
  const body = await sent('/translated/v1/chat/completions', {
    model: 'smart',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is RE2?' },
    ],
  });
  assert.equal(body.model, 'claude-sonnet-4-5');
  assert.equal(body.max_tokens, 1024);
  assert.equal(body.temperature, 0.2);
  const system = typeof body.system === 'string' ? body.system : body.system.map((b) => b.text).join('\n');
  assert.match(system, /Answer in English\.[\s\S]*Be brief\./, 'the prepended system text comes first, in system');
  const last = body.messages.at(-1);
  const text = typeof last.content === 'string' ? last.content : last.content.map((b) => b.text).join('\n');
  assert.equal(last.role, 'user');
  assert.match(text, /Cite your sources\./);
  assert.ok(!body.messages.some((m) => m.role === 'system'), 'Anthropic has no system messages');
});

test('Anthropic client: the system prompt is extended where Anthropic keeps it', async () => {
  const body = await sent('/translated/v1/messages', {
    model: 'smart',
    max_tokens: 50,
    system: 'Be brief.',
    messages: [{ role: 'user', content: 'What is RE2?' }],
  });
  assert.equal(body.model, 'claude-sonnet-4-5');
  assert.equal(body.system, 'Answer in English.\n\nBe brief.');
  assert.equal(body.max_tokens, 1024);
  assert.deepEqual(body.messages.at(-1), { role: 'user', content: 'Cite your sources.' });
});

test('a rule without the policy sends the body byte for byte', async () => {
  const original = { model: 'fast', messages: [{ role: 'user', content: 'hi' }] };
  const before = capture.requests.length;
  const text = JSON.stringify(original);
  const res = await fetch(`${sluice.url}/plain/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  await res.arrayBuffer();
  assert.equal(capture.requests.length, before + 1);
  assert.equal(capture.requests.at(-1).body, text);
});

test('the access log shows the resolved model and the alias the client sent', async () => {
  const res = await fetch(`${sluice.url}/answered/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).model, 'gpt-4o-mini', 'the provider was asked for the resolved model');
  const line = await sluice.waitForAccessLog((l) => l.route === 'llm/answered');
  assert.equal(line.model, 'gpt-4o-mini');
  assert.equal(line.requested_model, 'fast');
});

const mixed = (targetRef, ai = '    modelAliases: {fast: gpt-4o-mini}') => `${gatewayYaml({ port: 1, adminPort: 2 })}---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: frontend}
spec:
  type: Static
  static:
    hosts: [{host: 127.0.0.1, port: 8080}]
---
${backend('openai', 'openai', 9)}apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mixed}
spec:
  rules:
  - name: hello
    matches: [{path: {type: PathPrefix, value: /hello}}]
    backendRefs: [{name: frontend}]
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: guard}
spec:
  targetRefs: [${targetRef}]
  ai:
${ai}
`;

test('validate: an ai section on a route whose rule sends to a Static Backend is an error naming all four', async () => {
  const { code, stdout, stderr } = await runValidate(mixed('{group: gateway.networking.k8s.io, kind: HTTPRoute, name: mixed}'));
  assert.notEqual(code, 0);
  assert.match(
    stdout + stderr,
    /TrafficPolicy\/guard: spec\.targetRefs\[0\]: rule "hello" of HTTPRoute "mixed" sends to Backend "frontend" \(Static\), which is not an AI Backend; target the AI rule with sectionName/,
  );
  const ai = await runValidate(mixed('{group: gateway.networking.k8s.io, kind: HTTPRoute, name: mixed, sectionName: chat}'));
  assert.equal(ai.code, 0, ai.stdout + ai.stderr);
  const hello = await runValidate(mixed('{group: gateway.networking.k8s.io, kind: HTTPRoute, name: mixed, sectionName: hello}'));
  assert.notEqual(hello.code, 0);
  assert.match(hello.stdout + hello.stderr, /rule "hello" of HTTPRoute "mixed" sends to Backend "frontend" \(Static\)/);
  const onBackend = await runValidate(mixed('{kind: Backend, name: frontend}'));
  assert.match(onBackend.stdout + onBackend.stderr, /Backend "frontend" \(Static\) is not an AI Backend/);
  const gateway = await runValidate(mixed('{kind: Gateway, name: test}'));
  assert.equal(gateway.code, 0, 'on the Gateway, the ai section applies to the AI rules');
});

test('serve refuses such a configuration too', async () => {
  await assert.rejects(
    startSluice({ config: mixed('{kind: HTTPRoute, name: mixed}').split('---\n').slice(1).join('---\n') }),
    /sluice exited early[\s\S]*which is not an AI Backend/,
  );
});

test('validate: defaults of the wrong type, fields that cannot be defaulted, aliases of aliases', async () => {
  const cases = [
    ['    defaults: [{field: temperature, value: hot}]', /defaults\[0\]\.value: "temperature" takes a number, not "hot"/],
    ['    defaults: [{field: max_tokens, value: 1.5}]', /defaults\[0\]\.value: "max_tokens" takes an integer, not 1\.5/],
    ['    defaults: [{field: model, value: x}]', /defaults\[0\]\.field: "model" cannot be defaulted/],
    ['    defaults: [{field: "a..b", value: 1}]', /"a\.\.b" is not a field name or a dot path/],
    ['    modelAliases: {fast: quick, quick: gpt-4o}', /modelAliases\.fast: "fast" maps to "quick", itself an alias/],
    ['    promptEnrichment: {prepend: [{role: robot, content: x}]}', /unknown role "robot"/],
  ];
  for (const [ai, expected] of cases) {
    const { code, stdout, stderr } = await runValidate(mixed('{kind: Gateway, name: test}', ai));
    assert.notEqual(code, 0, ai);
    assert.match(stdout + stderr, expected, ai);
  }
  const unknown = await runValidate(mixed('{kind: Gateway, name: test}', '    defaults: [{field: x_custom, value: 1}]'));
  assert.equal(unknown.code, 0, 'an unknown field is a warning');
  assert.match(unknown.stdout + unknown.stderr, /"x_custom" is not a request field Sluice knows/);
});
