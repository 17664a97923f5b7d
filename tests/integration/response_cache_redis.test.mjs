// The response cache's Redis store (ai.cache.exact with the Gateway's spec.redis) through the
// real sluice, sluice-mock and a redis-server of the test's own: two Sluice processes (replicas)
// share hits, entries live under <keyPrefix>cache:<hex> with the ttl, and Redis going away turns
// lookups into misses, never errors. Skipped when redis-server is not installed.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startMock, startSluice, chatBody } from '../lib/harness.mjs';
import { aiBackend, prefixRule } from '../lib/config_yaml.mjs';
import { redisInstalled, startRedis } from '../lib/redis.mjs';

const skip = !redisInstalled() && 'redis-server is not installed';
let mock;
let redis;
let replicas = [];

const config = () => `${aiBackend('openai', 'openai: {authToken: {kind: Inline, inline: sk-provider}}', mock.port)}\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  rules:
${prefixRule('v1', 'openai')}---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: cache}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: llm}]
  ai:
    cache: {exact: {ttl: 30s}}
`;

before(async () => {
  if (skip) return;
  mock = await startMock(['--log-requests']);
  redis = await startRedis();
  const gatewayExtra = `  redis: {address: "127.0.0.1:${redis.port}", keyPrefix: "rc:", timeout: 200ms}\n`;
  replicas = [await startSluice({ config: config(), gatewayExtra }), await startSluice({ config: config(), gatewayExtra })];
});

after(async () => {
  for (const r of replicas) await r.stop();
  await redis?.stop();
  await mock?.stop();
});

async function post(sluice, body) {
  const res = await fetch(`${sluice.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, cache: res.headers.get('x-sluice-cache'), text: await res.text() };
}

const waitFor = async (check) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
};

test('replicas share entries through Redis', { skip }, async () => {
  const body = chatBody({ messages: [{ role: 'user', content: `shared ${Date.now()}` }] });
  const first = await post(replicas[0], body);
  assert.equal(first.status, 200);
  assert.equal(first.cache, 'miss');
  let keys = [];
  await waitFor(() => (keys = redis.cli(['KEYS', 'rc:cache:*']).split('\n').filter(Boolean)).length > 0);
  assert.equal(keys.length, 1, 'one entry stored');
  assert.match(keys[0], /^rc:cache:[0-9a-f]{64}$/);
  const ttl = Number(redis.cli(['PTTL', keys[0]]));
  assert.ok(ttl > 0 && ttl <= 30_000, `PTTL ${ttl}`);
  const second = await post(replicas[1], body);
  assert.equal(second.cache, 'hit', 'the other replica answers from the entry');
  assert.equal(second.text, first.text);
});

test('Redis down: lookups miss, answers still come', { skip }, async () => {
  await redis.kill();
  const body = chatBody({ messages: [{ role: 'user', content: `down ${Date.now()}` }] });
  const res = await post(replicas[0], body);
  assert.equal(res.status, 200);
  assert.equal(res.cache, 'miss');
  const again = await post(replicas[0], body);
  assert.equal(again.status, 200);
  assert.equal(again.cache, 'miss', 'nothing could be stored');
});
