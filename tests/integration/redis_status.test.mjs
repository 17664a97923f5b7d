// Gateway spec.redis: /status and /metrics show the configured Redis (never its password);
// a password Secret that does not exist is refused with the file, resource and field named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSluice, startMock, aiBackendYaml, routeYaml, runValidate } from '../lib/harness.mjs';
import { startRedis, redisInstalled } from '../lib/redis.mjs';

const skip = redisInstalled() ? false : 'redis-server is not installed';
let redis;
let mock;

before(async () => {
  if (skip) return;
  redis = await startRedis({ password: 'redis-pass-123' });
  mock = await startMock();
});

after(async () => {
  await redis?.stop();
  await mock?.stop();
});

const secret = `apiVersion: v1
kind: Secret
metadata: {name: redis}
stringData: {password: redis-pass-123}
`;

const redisSpec = (port) => `  redis:
    address: 127.0.0.1:${port}
    passwordRef: {name: redis}
    timeout: 200ms
`;

test('/status shows the configured Redis, without its password', { skip }, async () => {
  const sluice = await startSluice({
    config: `${secret}---\n${aiBackendYaml({ port: mock.port })}---\n${routeYaml({ rules: '  - backendRefs: [{name: mock}]\n' })}`,
    gatewayExtra: redisSpec(redis.port),
  });
  try {
    const res = await fetch(`${sluice.adminUrl}/status`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(!text.includes('redis-pass-123'), 'the password must not appear in /status');
    const status = JSON.parse(text);
    assert.equal(status.redis.address, `127.0.0.1:${redis.port}`);
    assert.equal(status.redis.tls, false);
    // No policy uses Redis yet and workers connect on first use: nothing is connected.
    assert.equal(status.redis.connected, 0);
    assert.equal(status.redis.replies, 0);
    assert.deepEqual(status.redis.failures, { unavailable: 0, timeout: 0, protocol: 0, auth: 0 });
    const metrics = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
    assert.match(metrics, /^sluice_redis_commands_total\{outcome="ok"\} 0$/m);
    assert.match(metrics, /^sluice_redis_connected 0$/m);
    assert.match(metrics, /^sluice_redis_latency_seconds_count 0$/m);
  } finally {
    await sluice.stop();
  }
});

test('without spec.redis, /status and /metrics have no redis entries', { skip }, async () => {
  const sluice = await startSluice({
    config: `${aiBackendYaml({ port: mock.port })}---\n${routeYaml({ rules: '  - backendRefs: [{name: mock}]\n' })}`,
  });
  try {
    const status = await (await fetch(`${sluice.adminUrl}/status`)).json();
    assert.equal(status.redis, undefined);
    const metrics = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /sluice_redis_/);
  } finally {
    await sluice.stop();
  }
});

test('a missing password Secret is refused, naming file, resource and field', async () => {
  const { code, stderr, stdout, file } = await runValidate(`apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  redis:
    address: "[::1]:6390"
    passwordRef: {name: redis-auth}
`);
  const out = stdout + stderr;
  assert.equal(code, 1, out);
  assert.ok(out.includes(file), out);
  assert.match(out, /Gateway\/gw: spec\.redis\.passwordRef\.name: Secret "redis-auth" not found/);
});

test('a malformed address is refused', async () => {
  const { code, stderr, stdout } = await runValidate(`apiVersion: sluice.dev/v1alpha1
kind: Gateway
metadata: {name: gw}
spec:
  redis: {address: "redis:notaport"}
`);
  assert.equal(code, 1, stdout + stderr);
  assert.match(stdout + stderr, /spec\.redis\.address/);
});
