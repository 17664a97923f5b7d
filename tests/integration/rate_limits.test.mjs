// Rate limits and budgets through the real sluice and sluice-mock binaries and a real
// redis-server started here: one global limit shared exactly by two replicas under concurrency;
// token reservations settled with the real usage (concurrency, failover, client disconnect —
// checked in the Redis keys); Truncate ending OpenAI and Anthropic streams at the limit; a budget
// across a period boundary (the test clock); Redis killed under each failureMode; local limits;
// the x-ratelimit-* headers; /spend.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMock, startSluice } from '../lib/harness.mjs';
import { startRedis, redisInstalled } from '../lib/redis.mjs';

const skip = redisInstalled() ? false : 'redis-server is not installed';
const KEY_A = 'sk-alice-0123';
const KEY_B = 'sk-bob-4567';

let redis;
let mock;
let failing;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  mock = await startMock(['--chunks', '4']);
  failing = await startMock(['--status', '500']);
});

after(async () => {
  await redis?.stop();
  await mock?.stop();
  await failing?.stop();
});

const gatewayExtra = (extra = '') => `  redis: {address: "127.0.0.1:${redis.port}", keyPrefix: "t:"}
  pricing:
    models:
      gpt-test: {input: "1000.00", output: "2000.00"}
      claude-test: {input: "1000.00", output: "2000.00"}
${extra}`;

// An OpenAI Backend on the mock, an Anthropic one, one failing over from a 500 to the mock, and
// API keys for two principals of one team.
const resources = (policy) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: openai}
spec:
  type: AI
  ai:
    llm: {openai: {authToken: {kind: Inline, inline: sk-p}}, host: 127.0.0.1, port: ${mock.port}}
    passthrough: {apis: [responses]}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: claude}
spec:
  type: AI
  ai: {llm: {anthropic: {authToken: {kind: Inline, inline: sk-p}}, host: 127.0.0.1, port: ${mock.port}}}
---
apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: failover}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers: [{name: broken, openai: {authToken: {kind: Inline, inline: sk-p}}, host: 127.0.0.1, port: ${failing.port}}]
    - providers: [{name: good, openai: {authToken: {kind: Inline, inline: sk-p}}, host: 127.0.0.1, port: ${mock.port}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - name: failover
    matches: [{path: {type: PathPrefix, value: /failover}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
    backendRefs: [{name: failover}]
  - name: claude
    matches: [{path: {type: PathPrefix, value: /v1/messages}}]
    backendRefs: [{name: claude}]
  - name: openai
    matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: openai}]
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: keys}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
      keys:
      - {name: alice, keyHash: "${sha256(KEY_A)}", metadata: {team: blue}}
      - {name: bob, keyHash: "${sha256(KEY_B)}", metadata: {team: blue}}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: limits}
spec:
  targetRefs: [{kind: Gateway, name: test}]
${policy}`;

import { createHash } from 'node:crypto';
function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

const chat = (gw, { key = KEY_A, body = {}, headers = {}, path = '/v1/chat/completions', signal } = {}) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }], ...body }),
    signal,
  });

// The fields of a Redis hash, by key pattern: [{key, fields}].
function hashes(pattern) {
  const keys = redis.cli(['--scan', '--pattern', pattern]).split('\n').filter(Boolean);
  return keys.map((key) => {
    const flat = redis.cli(['HGETALL', key]).split('\n');
    const fields = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    return { key, fields };
  });
}

async function eventually(check, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > end) throw error;
      await sleep(25);
    }
  }
}

describe('global limits', { skip }, () => {
  test('two replicas sharing one Redis let exactly the limit through, the rest get 429 with headers', async () => {
    redis.cli(['FLUSHALL']);
    const policy = `  rateLimit:
    global:
      limits:
      - {requests: 25, unit: Hour, by: [principal]}
`;
    const a = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra(), workers: 2 });
    const b = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra(), workers: 2 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 64 }, (_, i) => chat(i % 2 ? a : b, { headers: { 'x-mock-latency-ms': '50' } })),
      );
      const statuses = responses.map((r) => r.status);
      const bodies = await Promise.all(responses.map((r) => r.text()));
      assert.equal(statuses.filter((s) => s === 200).length, 25, `statuses: ${statuses}`);
      assert.equal(statuses.filter((s) => s === 429).length, 39);
      const refusedAt = statuses.indexOf(429);
      const refused = responses[refusedAt];
      const body = JSON.parse(bodies[refusedAt]);
      assert.equal(body.error.code, 'rate_limit_exceeded');
      assert.equal(body.error.type, 'requests');
      assert.match(body.error.message, /25 requests\/Hour by principal/);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '25');
      assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
      const ok = responses.find((r) => r.status === 200);
      assert.equal(ok.headers.get('x-ratelimit-limit-requests'), '25');
      assert.match(ok.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?(ms|s)$|m/);
      // /status shows the full counter.
      const status = await (await fetch(`${a.adminUrl}/status`)).json();
      const full = status.limits.fullest.find((f) => f.counter.includes('25 requests/Hour by principal'));
      assert.ok(full, JSON.stringify(status.limits));
      assert.equal(full.remaining, 0);
      assert.equal(full.usedShare, 1);
      // Replica a took the odd requests: 32 decisions.
      assert.equal(status.limits.decisions.allowed + status.limits.decisions.limited, 32);
      // Another principal has its own counter.
      const bob = await chat(a, { key: KEY_B });
      assert.equal(bob.status, 200);
      assert.equal(bob.headers.get('x-ratelimit-remaining-requests'), '24');
      await bob.text();
      // The Anthropic client gets its own schema.
      const messages = await fetch(`${a.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': KEY_A, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(messages.status, 429);
      const anthropic = await messages.json();
      assert.equal(anthropic.type, 'error');
      assert.equal(anthropic.error.type, 'rate_limit_error');
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('token reservations are settled with the real usage: concurrency, failover, disconnect', async () => {
    redis.cli(['FLUSHALL']);
    // Output tokens only (the input estimate would blur the arithmetic): 40 per Day, so the
    // refill during the test is far below one token.
    const policy = `  rateLimit:
    global:
      limits:
      - {tokens: 40, unit: Day, by: [principal], count: Output}
`;
    const gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra() });
    const tokens = () => Number(hashes('t:{limits}:rl:*')[0].fields.tokens);
    try {
      // 8 concurrent requests reserving 10 output tokens each: exactly 4 fit at once.
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          chat(gw, { body: { max_tokens: 10 }, headers: { 'x-mock-latency-ms': '300' } }),
        ),
      );
      const ok = responses.filter((r) => r.status === 200);
      assert.equal(ok.length, 4, `statuses: ${responses.map((r) => r.status)}`);
      for (const r of ok) assert.equal((await r.json()).usage.completion_tokens, 4);
      for (const r of responses.filter((r) => r.status !== 200)) {
        const body = await r.json();
        assert.equal(body.error.code, 'rate_limit_exceeded');
        assert.equal(body.error.type, 'tokens');
      }
      // Settled: each used 4 of its 10; 40 - 16 = 24 left.
      await eventually(() => assert.ok(Math.abs(tokens() - 24) < 0.5, `tokens ${tokens()}`));

      // Failover: the first provider answers 500, the second serves; charged once, 4 tokens.
      const failed_over = await chat(gw, { path: '/failover/v1/chat/completions', body: { max_tokens: 10 } });
      assert.equal(failed_over.status, 200);
      await failed_over.json();
      await eventually(() => assert.ok(Math.abs(tokens() - 20) < 0.5, `tokens ${tokens()}`));

      // A client that goes away mid-stream: the answer had started (2xx) without its usage, so
      // the reservation (10) stays charged — once.
      const controller = new AbortController();
      const stream = await chat(gw, {
        body: { max_tokens: 10, stream: true },
        headers: { 'x-mock-chunk-delay-ms': '300' },
        signal: controller.signal,
      });
      assert.equal(stream.status, 200);
      const reader = stream.body.getReader();
      await reader.read();
      controller.abort();
      await eventually(() => assert.ok(Math.abs(tokens() - 10) < 0.5, `tokens ${tokens()}`), 5000);
      await sleep(300);
      assert.ok(Math.abs(tokens() - 10) < 0.5, `no second charge: tokens ${tokens()}`);

      // An upstream error answered to the client is not charged.
      const refused = await chat(gw, { body: { max_tokens: 10 }, headers: { 'x-mock-status': '400' } });
      assert.equal(refused.status, 400);
      await refused.text();
      await sleep(200);
      assert.ok(Math.abs(tokens() - 10) < 0.5, `tokens ${tokens()}`);
    } finally {
      await gw.stop();
    }
  });

  for (const client of ['openai', 'anthropic']) {
    test(`Truncate ends a ${client} stream at the limit with its usage`, async () => {
      redis.cli(['FLUSHALL']);
      const policy = `  rateLimit:
    global:
      limits:
      - {tokens: 3, unit: Day, by: [principal], count: Output}
    streams: {onExceed: Truncate}
`;
      const gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra() });
      try {
        let res;
        if (client === 'openai') {
          res = await chat(gw, { body: { max_tokens: 100, stream: true, stream_options: { include_usage: true } } });
        } else {
          res = await fetch(`${gw.url}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': KEY_A, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            body: JSON.stringify({
              model: 'claude-test',
              max_tokens: 100,
              stream: true,
              messages: [{ role: 'user', content: 'hi' }],
            }),
          });
        }
        assert.equal(res.status, 200);
        const text = await res.text();
        const events = text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6));
        if (client === 'openai') {
          assert.equal(events.at(-1), '[DONE]');
          const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
          const content = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
          assert.equal(content, 'chunk0 chunk1 chunk2');
          assert.equal(chunks.find((c) => c.choices?.[0]?.finish_reason).choices[0].finish_reason, 'length');
          assert.equal(chunks.at(-1).usage.completion_tokens, 3);
        } else {
          const parsed = events.map((e) => JSON.parse(e));
          const delta = parsed.find((e) => e.type === 'message_delta');
          assert.equal(delta.delta.stop_reason, 'max_tokens');
          assert.equal(delta.usage.output_tokens, 3);
          assert.equal(parsed.at(-1).type, 'message_stop');
        }
        // Nothing remains: the next request is refused up front.
        const next = await chat(gw, { body: { max_tokens: 100, stream: true } });
        assert.equal(next.status, 429);
        await next.text();
      } finally {
        await gw.stop();
      }
    });
  }
});

describe('limits with a cache', { skip }, () => {
  test('local and global limit headers and x-sluice-cache all arrive intact', async () => {
    redis.cli(['FLUSHALL']);
    const policy = `  rateLimit:
    local:
    - {requests: 100, unit: Minute, by: [principal]}
    global:
      limits:
      - {tokens: 100000, unit: Day, by: [principal]}
  ai:
    cache: {exact: {store: Memory}}
`;
    const gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra() });
    try {
      const body = { max_tokens: 10, messages: [{ role: 'user', content: `headers ${Date.now()}` }] };
      const miss = await chat(gw, { body });
      assert.equal(miss.status, 200);
      await miss.json();
      assert.equal(miss.headers.get('x-sluice-cache'), 'miss');
      assert.equal(miss.headers.get('x-ratelimit-limit-requests'), '100');
      assert.equal(miss.headers.get('x-ratelimit-remaining-requests'), '99');
      assert.equal(miss.headers.get('x-ratelimit-limit-tokens'), '100000');
      const hit = await chat(gw, { body });
      assert.equal(hit.status, 200);
      await hit.json();
      assert.equal(hit.headers.get('x-sluice-cache'), 'hit');
      assert.equal(hit.headers.get('x-ratelimit-remaining-requests'), '98');
      assert.equal(hit.headers.get('x-ratelimit-limit-tokens'), '100000');
    } finally {
      await gw.stop();
    }
  });
});

describe('budgets', { skip }, () => {
  test('an exhausted budget is a 429 until its period ends; a new period starts at 0', async () => {
    redis.cli(['FLUSHALL']);
    // gpt-test costs 1000 USD / 1M input tokens and 2000 / 1M output: a reply of 4 tokens costs
    // 0.008 USD, its worst case (max_tokens 4) a little more with the input estimate.
    const policy = `  ai:
    budgets:
    - {by: [principal], limit: "0.05", period: Day}
`;
    const gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra(), args: ['--test-clock'] });
    const clock = (ms) => fetch(`${gw.adminUrl}/debug/clock?offsetMs=${ms}`, { method: 'POST' });
    try {
      let admitted = 0;
      let refusal;
      for (let i = 0; i < 20 && !refusal; ++i) {
        const res = await chat(gw, { body: { max_tokens: 4 } });
        if (res.status === 200) {
          ++admitted;
          await res.json();
        } else {
          refusal = res;
        }
      }
      assert.ok(refusal, 'the budget ran out');
      assert.equal(refusal.status, 429);
      const body = await refusal.json();
      assert.equal(body.error.code, 'budget_exceeded');
      assert.match(body.error.message, /0\.050000 USD per Day for principal=alice/);
      const retry = Number(refusal.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 86400, `retry-after ${retry}`);
      assert.ok(admitted >= 3, `admitted ${admitted}`);
      // Settled with the real cost: spent = admitted × the real cost, under the limit.
      await eventually(() => {
        const [budget] = hashes('t:{limits}:budget:*');
        const spent = Number(budget.fields.spent);
        assert.ok(spent <= 50000 && spent >= admitted * 8000, `spent ${spent} for ${admitted}`);
      });
      // Bob has his own budget.
      const bob = await chat(gw, { key: KEY_B, body: { max_tokens: 4 } });
      assert.equal(bob.status, 200);
      await bob.json();
      // The next day: a fresh counter, the old one untouched.
      await clock(retry * 1000 + 1000);
      const tomorrow = await chat(gw, { body: { max_tokens: 4 } });
      assert.equal(tomorrow.status, 200, await tomorrow.text());
      await eventually(() => assert.equal(hashes('t:{limits}:budget:*').length, 3));
      // /spend reports alice's month.
      const spend = await (await fetch(`${gw.adminUrl}/spend?principal=alice`)).json();
      assert.equal(spend.spend.length >= 1, true);
      assert.equal(spend.spend[0].principal, 'alice');
      assert.ok(Number(spend.spend[0].spentUsd) > 0);
      assert.ok(spend.budgets.every((b) => b.budget.includes('principal=alice')));
      assert.equal(spend.budgets.length, 2);
    } finally {
      await gw.stop();
    }
  });

  test('passthrough calls count: the usage their answers report is settled into token limits and budgets', async () => {
    redis.cli(['FLUSHALL']);
    const policy = `  rateLimit:
    global:
      limits:
      - {tokens: 1000000, unit: Day, by: [principal], count: Total}
  ai:
    budgets:
    - {by: [principal], limit: "10.00", period: Day}
`;
    const gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra() });
    try {
      // The Responses API is passed through unread; the mock counts 100 input tokens (400
      // characters) and 5 output tokens: 100 x 1000 + 5 x 2000 = 110,000 micro-USD each.
      for (const stream of [false, true]) {
        const res = await fetch(`${gw.url}/v1/responses?stream=${stream}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json', 'x-mock-chunks': '5' },
          body: JSON.stringify({ model: 'gpt-test', input: 'x'.repeat(400), stream }),
        });
        assert.equal(res.status, 200);
        const text = await res.text();
        assert.match(text, stream ? /response\.completed/ : /"object":"response"/);
        const line = await gw.waitForAccessLog((l) => l.path === `/v1/responses?stream=${stream}`);
        assert.equal(line.prompt_tokens, 100, JSON.stringify(line));
        assert.equal(line.completion_tokens, 5);
        assert.equal(line.cost_usd, '0.110000');
      }
      await eventually(() => {
        const [budget] = hashes('t:{limits}:budget:*');
        assert.equal(Number(budget.fields.spent), 220000, 'both calls cost what their usage says');
        const [tokens] = hashes('t:{limits}:rl:*');
        const left = Number(tokens.fields.tokens);
        // 2 x 105 tokens used; the bucket refills 1,000,000 per day (~12 per second).
        assert.ok(left <= 1000000 - 210 + 120 && left >= 1000000 - 211, `tokens left ${left}`);
      });
    } finally {
      await gw.stop();
    }
  });

  test('a budget on a model without a price is refused unless unknownModel is Free', async () => {
    redis.cli(['FLUSHALL']);
    const policy = `  ai:
    budgets:
    - {by: [principal], limit: "1.00", period: Month}
`;
    let gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra() });
    try {
      const res = await chat(gw, { body: { model: 'unpriced-model' } });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.error.code, 'model_not_priced');
      assert.match(body.error.message, /unpriced-model/);
    } finally {
      await gw.stop();
    }
    gw = await startSluice({
      config: resources(policy),
      gatewayExtra: gatewayExtra('    unknownModel: Free\n'),
    });
    try {
      const res = await chat(gw, { body: { model: 'unpriced-model' } });
      assert.equal(res.status, 200);
      await res.json();
    } finally {
      await gw.stop();
    }
  });
});

describe('Redis failures', { skip }, () => {
  for (const mode of ['FailClosed', 'FailOpen', 'Local']) {
    test(`Redis killed: ${mode}`, async () => {
      const own = await startRedis();
      const policy = `  rateLimit:
    global:
      failureMode: ${mode}
      replicas: 2
      limits:
      - {requests: 6, unit: Hour, by: [principal]}
`;
      const gw = await startSluice({
        config: resources(policy),
        gatewayExtra: gatewayExtra().replace(`127.0.0.1:${redis.port}`, `127.0.0.1:${own.port}`),
      });
      try {
        const first = await chat(gw);
        assert.equal(first.status, 200);
        await first.json();
        await own.kill();
        const statuses = [];
        for (let i = 0; i < 5; ++i) {
          const res = await chat(gw);
          statuses.push(res.status);
          await res.text();
        }
        if (mode === 'FailClosed') assert.deepEqual(statuses, [503, 503, 503, 503, 503]);
        if (mode === 'FailOpen') assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
        // Local: each of the 2 replicas enforces 6 / 2 = 3.
        if (mode === 'Local') assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
        const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
        const outcome = { FailClosed: 'failed_closed', FailOpen: 'failed_open', Local: 'local' }[mode];
        assert.match(metrics, new RegExp(`sluice_ratelimit_decisions_total\\{kind="global",outcome="${outcome}"\\} [1-9]`));
        const status = await (await fetch(`${gw.adminUrl}/status`)).json();
        assert.ok(Object.values(status.redis.failures).some((n) => n > 0), JSON.stringify(status.redis));
        assert.ok(status.limits.decisions[outcome] > 0, JSON.stringify(status.limits));
        assert.ok(gw.stderr.some((l) => l.includes('rate limit store failed')), gw.stderr.join('\n'));
      } finally {
        await gw.stop();
        await own.stop();
      }
    });
  }
});

describe('local limits', { skip }, () => {
  test('a local limit refuses past its burst with Retry-After, per principal', async () => {
    const policy = `  rateLimit:
    local:
    - {requests: 1, unit: Minute, burst: 3, by: [principal]}
`;
    const gw = await startSluice({ config: resources(policy), gatewayExtra: gatewayExtra() });
    try {
      const statuses = [];
      for (let i = 0; i < 5; ++i) {
        const res = await chat(gw);
        statuses.push(res.status);
        if (res.status === 429) {
          assert.equal((await res.json()).error.code, 'rate_limit_exceeded');
          assert.ok(Number(res.headers.get('retry-after')) > 1);
        } else {
          await res.json();
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      const bob = await chat(gw, { key: KEY_B });
      assert.equal(bob.status, 200);
      assert.equal(bob.headers.get('x-ratelimit-remaining-requests'), '2');
      await bob.json();
    } finally {
      await gw.stop();
    }
  });
});
