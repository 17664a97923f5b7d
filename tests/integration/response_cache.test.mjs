// The exact response cache (TrafficPolicy ai.cache.exact) through the real sluice and sluice-mock
// binaries: a miss then a hit (x-sluice-cache, one request at the mock, the access log's `cache`
// and the hit's usage), Cache-Control no-store and no-cache, a stream stored and replayed with the
// same events, a stream cut mid-way not stored, two API keys (principals) kept apart and a Shared
// scope shared, Anthropic /v1/messages, embeddings, answers above maxEntryBytes not stored, the
// memory store kept across a reload, and the lookup metrics.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startMock, startSluice, chatBody } from '../lib/harness.mjs';
import { aiBackend } from '../lib/config_yaml.mjs';

const KEY_A = 'sk-cache-team-a-1234';
const KEY_B = 'sk-cache-team-b-5678';
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

let mock;
let sluice;

const config = () => `${aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-provider}}', mock.port)}\
${aiBackend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-ant}}', mock.port)}\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
  - name: claude
    matches: [{path: {type: PathPrefix, value: /claude}}]
    backendRefs: [{name: claude}]
  - name: shared
    matches: [{path: {type: PathPrefix, value: /shared}}]
    backendRefs: [{name: openai}]
  - name: small
    matches: [{path: {type: PathPrefix, value: /small}}]
    backendRefs: [{name: openai}]
  - name: plain
    matches: [{path: {type: PathPrefix, value: /plain}}]
    backendRefs: [{name: openai}]
  - name: chat
    matches: [{path: {type: PathPrefix, value: /v1}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  auth:
    apiKey:
      keys:
      - {name: team-a, keyHash: "sha256:${sha256(KEY_A)}"}
      - {name: team-b, keyHash: "sha256:${sha256(KEY_B)}"}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cache-all}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  ai:
    cache: {exact: {ttl: 1h, maxEntryBytes: 1Mi, store: Memory}}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cache-shared}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: shared}]
  ai:
    cache: {exact: {scope: Shared}}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cache-small}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: small}]
  ai:
    cache: {exact: {maxEntryBytes: 100}}
`;

before(async () => {
  mock = await startMock(['--log-requests']);
  sluice = await startSluice({
    config: config(),
    gatewayExtra: `  pricing:
    models:
      gpt-test: {input: "2.5", output: "10"}
`,
  });
});

after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

let unique = 0;
// A body no other test sends: the cache starts cold for it.
const freshChat = (extra = {}) =>
  JSON.parse(chatBody({ messages: [{ role: 'user', content: `question ${++unique} ${Date.now()}` }], ...extra }));

// Requests the mock has answered on `path` so far.
const mockCount = (path) =>
  mock.stderr.filter((l) => l.includes('"msg":"request"') && l.includes(`"target":"${path}"`)).length;

async function post(path, body, { key = KEY_A, headers = {} } = {}) {
  const res = await fetch(`${sluice.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, cache: res.headers.get('x-sluice-cache'), type: res.headers.get('content-type'), text: await res.text() };
}

// The mock logs a request once answered; give its stderr a moment.
const settle = () => new Promise((r) => setTimeout(r, 150));

test('a miss is stored and the same request is then answered from the cache', async () => {
  const body = freshChat();
  const before = mockCount('/v1/chat/completions');
  const first = await post('/v1/chat/completions', body);
  assert.equal(first.status, 200);
  assert.equal(first.cache, 'miss');
  const second = await post('/v1/chat/completions', { ...body, user: 'someone-else' });
  assert.equal(second.status, 200);
  assert.equal(second.cache, 'hit', 'the user field does not change the key');
  assert.equal(second.text, first.text);
  assert.match(second.type, /application\/json/);
  await settle();
  assert.equal(mockCount('/v1/chat/completions') - before, 1, 'the provider was asked once');
  const hit = await sluice.waitForAccessLog((l) => l.cache === 'hit');
  assert.equal(hit.status, 200);
  const usage = JSON.parse(first.text).usage;
  assert.equal(hit.prompt_tokens, usage.prompt_tokens, 'a hit reports the stored usage');
  assert.equal(hit.completion_tokens, usage.completion_tokens);
  await sluice.waitForAccessLog((l) => l.cache === 'miss');
});

test('Cache-Control: no-store bypasses the cache, no-cache refreshes it', async () => {
  const body = freshChat();
  const bypass = await post('/v1/chat/completions', body, { headers: { 'cache-control': 'no-store' } });
  assert.equal(bypass.cache, 'bypass');
  const miss = await post('/v1/chat/completions', body);
  assert.equal(miss.cache, 'miss', 'no-store stored nothing');
  const refresh = await post('/v1/chat/completions', body, { headers: { 'cache-control': 'no-cache' } });
  assert.equal(refresh.cache, 'miss', 'no-cache skips the lookup');
  const hit = await post('/v1/chat/completions', body);
  assert.equal(hit.cache, 'hit');
});

test('a stream is stored once complete and replayed as the same events', async () => {
  const body = freshChat({ stream: true });
  const first = await post('/v1/chat/completions', body);
  assert.equal(first.cache, 'miss');
  assert.match(first.text, /data: \[DONE\]/);
  const second = await post('/v1/chat/completions', body);
  assert.equal(second.cache, 'hit');
  assert.match(second.type, /text\/event-stream/);
  assert.equal(second.text, first.text, 'the same event sequence');
  const whole = await post('/v1/chat/completions', { ...body, stream: false });
  assert.equal(whole.cache, 'miss', 'a stream and a whole reply are stored apart');
});

test('a hit does not repeat the cost of the answer it replays', async () => {
  const body = freshChat({ stream: true, stream_options: { include_usage: true } });
  const first = await post('/v1/chat/completions', body);
  assert.equal(first.cache, 'miss');
  assert.match(first.text, /"usage":\{"sluice_cost_usd":[0-9.]+,/, 'the answer from the provider has its cost');
  const second = await post('/v1/chat/completions', body);
  assert.equal(second.cache, 'hit');
  assert.equal(second.text, first.text.replace(/"sluice_cost_usd":[0-9.]+,/, ''), 'the stored events, without it');
  const whole = freshChat();
  const res1 = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}` },
    body: JSON.stringify(whole),
  });
  assert.match(res1.headers.get('x-sluice-cost-usd'), /^0\.\d{6}$/);
  await res1.text();
  const res2 = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_A}` },
    body: JSON.stringify(whole),
  });
  assert.equal(res2.headers.get('x-sluice-cache'), 'hit');
  assert.equal(res2.headers.get('x-sluice-cost-usd'), null);
  await res2.text();
});

test('a stream cut mid-way is not stored', async () => {
  const body = freshChat({ stream: true });
  const cut = await post('/v1/chat/completions', body, { headers: { 'x-mock-reset': 'mid-stream' } });
  assert.equal(cut.cache, 'miss');
  assert.doesNotMatch(cut.text, /data: \[DONE\]/);
  const errored = await post('/v1/chat/completions', body, { headers: { 'x-mock-stream-error': 'server_error' } });
  assert.equal(errored.cache, 'miss', 'a stream ending with an error event was not stored either');
  const again = await post('/v1/chat/completions', body);
  assert.equal(again.cache, 'miss', 'nothing was stored for the broken streams');
  const hit = await post('/v1/chat/completions', body);
  assert.equal(hit.cache, 'hit');
});

test('two principals do not share entries; a Shared scope does', async () => {
  const body = freshChat();
  assert.equal((await post('/v1/chat/completions', body, { key: KEY_A })).cache, 'miss');
  assert.equal((await post('/v1/chat/completions', body, { key: KEY_B })).cache, 'miss', 'team-b never sees team-a');
  assert.equal((await post('/v1/chat/completions', body, { key: KEY_B })).cache, 'hit');
  const shared = freshChat();
  assert.equal((await post('/shared/v1/chat/completions', shared, { key: KEY_A })).cache, 'miss');
  assert.equal((await post('/shared/v1/chat/completions', shared, { key: KEY_B })).cache, 'hit');
});

test('Anthropic /v1/messages hits replay the Messages answer', async () => {
  const body = { model: 'claude-test', max_tokens: 50, messages: [{ role: 'user', content: `hi ${++unique}` }] };
  const first = await post('/claude/v1/messages', body);
  assert.equal(first.status, 200);
  assert.equal(first.cache, 'miss');
  const second = await post('/claude/v1/messages', { ...body, metadata: { user_id: 'u-9' } });
  assert.equal(second.cache, 'hit', 'metadata.user_id does not change the key');
  assert.equal(JSON.parse(second.text).type, 'message');
  assert.equal(second.text, first.text);
  const stream = { ...body, stream: true };
  const s1 = await post('/claude/v1/messages', stream);
  assert.equal(s1.cache, 'miss');
  const s2 = await post('/claude/v1/messages', stream);
  assert.equal(s2.cache, 'hit');
  assert.equal(s2.text, s1.text);
  assert.match(s2.text, /event: message_stop/);
});

test('embeddings hit', async () => {
  const body = { model: 'text-embedding-test', input: `embed ${++unique}` };
  const first = await post('/v1/embeddings', body);
  assert.equal(first.status, 200);
  assert.equal(first.cache, 'miss');
  const second = await post('/v1/embeddings', body);
  assert.equal(second.cache, 'hit');
  assert.equal(second.text, first.text);
});

test('answers larger than maxEntryBytes are not stored', async () => {
  const body = freshChat();
  assert.equal((await post('/small/v1/chat/completions', body)).cache, 'miss');
  assert.equal((await post('/small/v1/chat/completions', body)).cache, 'miss');
});

test('errors are not stored; a request the cache cannot read says bypass', async () => {
  const body = freshChat();
  const failed = await post('/v1/chat/completions', body, { headers: { 'x-mock-status': '500' } });
  assert.equal(failed.status, 500);
  assert.equal(failed.cache, 'miss');
  assert.equal((await post('/v1/chat/completions', body)).cache, 'miss');
  const invalid = await post('/v1/chat/completions', '{not json');
  assert.equal(invalid.status, 400);
  assert.equal(invalid.cache, 'bypass');
});

test('a reload keeps the memory store', async () => {
  const body = freshChat();
  assert.equal((await post('/v1/chat/completions', body)).cache, 'miss');
  const generation = async () => (await (await fetch(`${sluice.adminUrl}/status`)).json()).generation;
  const before = await generation();
  sluice.proc.kill('SIGHUP');
  for (let i = 0; i < 100 && (await generation()) === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.notEqual(await generation(), before, 'the reload took place');
  assert.equal((await post('/v1/chat/completions', body)).cache, 'hit', 'the entry stored before the reload');
});

test('lookups are counted in the metrics', async () => {
  const text = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
  const value = (result) => Number(text.match(new RegExp(`sluice_cache_lookups_total\\{result="${result}"\\} (\\d+)`))?.[1] ?? 0);
  assert.ok(value('hit') >= 5, text);
  assert.ok(value('miss') >= 5);
  assert.ok(value('bypass') >= 1);
  assert.match(text, /sluice_cache_entries [1-9]/);
  assert.match(text, /sluice_cache_stored_bytes [1-9]/);
});
