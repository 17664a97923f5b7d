// The response store (Gateway spec.responseStore, issue 12): previous_response_id, store and
// item_reference work on providers that keep nothing for Sluice — a conversation started on an
// Anthropic backend continues there and on an OpenAI-format one — scoped to the caller's
// principal, for complete and streamed answers; with Redis, across replicas. Through the real
// binaries and the official openai SDK.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { startMock, startSluice } from '../lib/harness.mjs';
import { aiBackend, prefixRule } from '../lib/config_yaml.mjs';
import { redisInstalled, startRedis } from '../lib/redis.mjs';

const KEYS = { a: 'key-team-a', b: 'key-team-b' };
const sha = (text) => createHash('sha256').update(text).digest('hex');

const config = (mockPort) =>
  aiBackend('claude', 'anthropic: {authToken: {kind: Inline, inline: sk-ant}, defaultMaxTokens: 256}', mockPort) +
  aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-test}}', mockPort) +
  `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${prefixRule('claude', 'claude')}${prefixRule('openai', 'openai')}${prefixRule('guarded', 'openai')}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: output-guard}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm, sectionName: guarded}]
  ai:
    promptGuard:
      response:
        regex: {action: MASK, builtins: [SSN]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: clients}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
      keys:
      - {name: team-a, keyHash: "sha256:${sha(KEYS.a)}"}
      - {name: team-b, keyHash: "sha256:${sha(KEYS.b)}"}
`;

const client = (gw, route, key = KEYS.a) =>
  new OpenAI({ baseURL: `${gw.url}/${route}/v1`, apiKey: key, maxRetries: 0 });

// The prompt tokens the provider counted for the last Responses call on `route` (the mock counts
// 4 characters a token): how much conversation it was sent.
async function promptTokens(gw, route, previous) {
  const line = await gw.waitForAccessLog(
    (l) => l.path === `/${route}/v1/responses` && l.prompt_tokens !== undefined && !previous.has(l.time + l.duration_ms),
  );
  previous.add(line.time + line.duration_ms);
  return line.prompt_tokens;
}

describe('Memory store', () => {
  let mock;
  let gw;
  const seen = new Set();
  before(async () => {
    mock = await startMock();
    gw = await startSluice({ config: config(mock.port), gatewayExtra: '  responseStore: {store: Memory, ttl: 1h}\n' });
  });
  after(async () => {
    await gw?.stop();
    await mock?.stop();
  });

  test('previous_response_id continues a conversation, on the same provider and on another', async () => {
    const first = await client(gw, 'claude').responses.create({
      model: 'claude-sonnet-4-5',
      input: 'x'.repeat(400),
    });
    assert.match(first.id, /^resp_/);
    // A kept answer says so, as OpenAI's do (the provider itself was sent store: false).
    assert.equal(first.store, true);
    assert.equal(first.previous_response_id, null);
    const alone = await promptTokens(gw, 'claude', seen);
    const second = await client(gw, 'claude').responses.create({
      model: 'claude-sonnet-4-5',
      previous_response_id: first.id,
      input: 'And then?',
    });
    assert.equal(second.status, 'completed');
    assert.equal(second.store, true);
    assert.equal(second.previous_response_id, first.id);
    const continued = await promptTokens(gw, 'claude', seen);
    assert.ok(continued > alone + 5, `the provider got the earlier turns: ${continued} > ${alone}`);

    // The same conversation, continued on an OpenAI-format provider (native Responses API).
    const third = await client(gw, 'openai').responses.create({
      model: 'gpt-4o',
      previous_response_id: second.id,
      input: 'Summarise.',
    });
    assert.equal(third.status, 'completed');
    // The native answer (the provider was sent store: false) says what the client asked, too.
    assert.equal(third.store, true);
    assert.equal(third.previous_response_id, second.id);
    assert.ok((await promptTokens(gw, 'openai', seen)) > continued);

    // Streamed from the native provider: every response object in the stream says so.
    const stream = client(gw, 'openai').responses.stream({
      model: 'gpt-4o',
      previous_response_id: third.id,
      input: 'Once more.',
    });
    const echoed = [];
    for await (const event of stream) if (event.response) echoed.push(event.response);
    assert.ok(echoed.length >= 2);
    for (const response of echoed) {
      assert.equal(response.store, true, response.status);
      assert.equal(response.previous_response_id, third.id);
    }
  });

  test('behind a response guard, a native answer still says what the store keeps', async () => {
    const first = await client(gw, 'guarded').responses.create({ model: 'gpt-4o', input: 'Hello.' });
    assert.equal(first.store, true);
    assert.equal(first.previous_response_id ?? null, null, "a new conversation continues none");
    const second = await client(gw, 'guarded').responses.create({
      model: 'gpt-4o',
      previous_response_id: first.id,
      input: 'Again.',
    });
    assert.equal(second.store, true);
    assert.equal(second.previous_response_id, first.id);
    const stream = client(gw, 'guarded').responses.stream({
      model: 'gpt-4o',
      previous_response_id: second.id,
      input: 'Once more.',
    });
    const echoed = [];
    for await (const event of stream) if (event.response) echoed.push(event.response);
    assert.ok(echoed.length >= 2);
    for (const response of echoed) {
      assert.equal(response.store, true, response.status);
      assert.equal(response.previous_response_id, second.id);
    }
  });

  test('another principal cannot continue it; store: false keeps nothing', async () => {
    const first = await client(gw, 'claude').responses.create({ model: 'claude-sonnet-4-5', input: 'secret plans' });
    await assert.rejects(
      client(gw, 'claude', KEYS.b).responses.create({
        model: 'claude-sonnet-4-5',
        previous_response_id: first.id,
        input: 'what were they?',
      }),
      (error) => {
        assert.equal(error.status, 400);
        assert.equal(error.error.param, 'previous_response_id');
        assert.equal(error.error.code, 'previous_response_not_found');
        return true;
      },
    );
    const unstored = await client(gw, 'claude').responses.create({
      model: 'claude-sonnet-4-5',
      input: 'forget me',
      store: false,
    });
    assert.equal(unstored.store, false);
    await assert.rejects(
      client(gw, 'claude').responses.create({ model: 'claude-sonnet-4-5', previous_response_id: unstored.id, input: 'x' }),
      (error) => error.status === 400 && error.error.param === 'previous_response_id',
    );
  });

  test('a streamed answer is stored too, and item_reference finds its items', async () => {
    const stream = client(gw, 'claude').responses.stream({ model: 'claude-sonnet-4-5', input: 'hello' });
    for await (const event of stream) void event;
    const final = await stream.finalResponse();
    assert.equal(final.store, true);
    const message = final.output.find((item) => item.type === 'message');
    assert.ok(message?.id);
    // What the AI SDK sends for earlier assistant turns: a reference to the stored item.
    const next = await client(gw, 'claude').responses.create({
      model: 'claude-sonnet-4-5',
      input: [
        { role: 'user', content: 'hello' },
        { type: 'item_reference', id: message.id },
        { role: 'user', content: 'more' },
      ],
    });
    assert.equal(next.status, 'completed');
    await assert.rejects(
      client(gw, 'claude').responses.create({
        model: 'claude-sonnet-4-5',
        input: [{ type: 'item_reference', id: 'msg_unknown' }],
      }),
      (error) => error.status === 400 && error.error.param === 'input[0].id',
    );
  });
});

describe('Redis store', { skip: !redisInstalled() && 'redis-server is not installed' }, () => {
  let mock;
  let redis;
  let replicas = [];
  before(async () => {
    mock = await startMock();
    redis = await startRedis();
    const gatewayExtra = `  redis: {address: "127.0.0.1:${redis.port}", keyPrefix: "rs:", timeout: 200ms}
  responseStore: {store: Redis, ttl: 10m}
`;
    replicas = [
      await startSluice({ config: config(mock.port), gatewayExtra }),
      await startSluice({ config: config(mock.port), gatewayExtra }),
    ];
  });
  after(async () => {
    for (const replica of replicas) await replica?.stop();
    await redis?.stop();
    await mock?.stop();
  });

  test('a conversation stored by one replica continues on another', async () => {
    const first = await client(replicas[0], 'claude').responses.create({ model: 'claude-sonnet-4-5', input: 'hi' });
    let second;
    for (let i = 0; i < 50 && !second; i++) {
      // Stored after the answer was sent: poll until the entry is there.
      second = await client(replicas[1], 'claude')
        .responses.create({ model: 'claude-sonnet-4-5', previous_response_id: first.id, input: 'again' })
        .catch((error) => {
          if (error.status !== 400) throw error;
          return undefined;
        });
      if (!second) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(second?.status, 'completed');
    const stored = redis.cli(['--scan', '--pattern', 'rs:responses:*']);
    assert.match(stored, new RegExp(`rs:responses:resp:${first.id}`));
    assert.match(redis.cli(['PTTL', `rs:responses:resp:${first.id}`]), /^\d+/);
  });
});
