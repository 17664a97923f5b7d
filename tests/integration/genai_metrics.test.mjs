// Integration: the GenAI metrics on /metrics and the time to first token, through the real
// `sluice` and sluice-mock. The scrape is read by a strict Prometheus text parser
// (tests/lib/prometheus.mjs).
// - Names, types and units follow the OpenTelemetry GenAI conventions as OpenTelemetry's
//   Prometheus exporter derives them (gen_ai_client_token_usage has no unit suffix: {token} is
//   an annotation), with the advised bucket boundaries.
// - Every series the configuration implies is there at boot, at 0: a chat per configured
//   provider × model (and "other"), the refusal counters, the provider gauges, build, process
//   and configuration metrics.
// - Values after a chat, a stream, a failover and a circuit-breaker refusal; the model label
//   never takes a client's value.
// - Time to first token: measured at the first content event, not the response head: with the
//   mock holding the first event back, the access log's time_to_first_token_ms is at least that
//   delay while upstream_first_byte_ms is far below it, for a native stream and a translated one,
//   and the TTFT histogram observes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiBackendYaml, routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { exactHistogram, histograms, parsePrometheus, samples } from '../lib/prometheus.mjs';

const FIRST_TOKEN_DELAY_MS = 400;

let mock;
let sick;
let slow;
let gw;

function backend(name, spec) {
  return `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
${spec}`;
}

before(async () => {
  mock = await startMock();
  sick = await startMock(['--status', '503']);
  slow = await startMock(['--latency-ms', '400']);
  const config = [
    aiBackendYaml({ name: 'pinned', port: mock.port, model: 'mock-pinned' }),
    aiBackendYaml({ name: 'open', port: mock.port }),
    aiBackendYaml({ name: 'claude', port: mock.port, provider: 'anthropic', auth: '{kind: Inline, inline: sk-ant}' }),
    backend(
      'fo',
      `  ai:
    priorityGroups:
    - providers:
      - name: first
        openai: {authToken: {kind: Inline, inline: sk-test}, model: fo-model}
        host: 127.0.0.1
        port: ${sick.port}
    - providers:
      - name: second
        openai: {authToken: {kind: Inline, inline: sk-test}, model: fo-model}
        host: 127.0.0.1
        port: ${mock.port}
`,
    ),
    backend(
      'breaker',
      `  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: 127.0.0.1
      port: ${slow.port}
    circuitBreaker: {maxRequests: 1}
`,
    ),
    routeYaml({
      name: 'g',
      rules: ['pinned', 'open', 'claude', 'fo', 'breaker']
        .map(
          (b) => `  - name: ${b}
    matches: [{path: {type: PathPrefix, value: /${b}}}]
    backendRefs: [{name: ${b}}]
`,
        )
        .join(''),
    }),
  ].join('---\n');
  gw = await startSluice({ config, workers: 2 });
});
after(async () => {
  await gw?.stop();
  await mock?.stop();
  await sick?.stop();
  await slow?.stop();
});

async function scrape() {
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  return parsePrometheus(await res.text());
}

async function chat(prefix, { model = 'gpt-client', stream = false, headers = {} } = {}) {
  const res = await fetch(`${gw.url}/${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hello there' }] }),
  });
  const text = await res.text();
  return { status: res.status, text };
}

const genAi = (provider, model, extra = {}) => ({
  gen_ai_operation_name: 'chat',
  gen_ai_provider_name: provider,
  gen_ai_request_model: model,
  ...extra,
});


// Waits until `check(scrape)` holds (metrics are recorded as the access-log line is written).
async function eventually(check, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const families = await scrape();
    try {
      return check(families);
    } catch (e) {
      if (Date.now() > end) throw e;
    }
    await sleep(25);
  }
}

const BUCKETS = {
  gen_ai_client_token_usage: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  gen_ai_client_operation_duration_seconds: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  gen_ai_server_request_duration_seconds: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  gen_ai_server_time_to_first_token_seconds: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
  gen_ai_server_time_per_output_token_seconds: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
};

test('at boot: every family with its type and buckets, every implied series at 0', async () => {
  const families = await scrape();
  for (const [name, bounds] of Object.entries(BUCKETS)) {
    assert.equal(families.get(name)?.type, 'histogram', name);
    for (const h of histograms(families, name)) {
      assert.deepEqual(
        h.buckets.map(([le]) => le),
        [...bounds, Infinity],
        name,
      );
    }
  }
  // A chat with each configured model and "other", per provider, both token types.
  for (const [provider, model] of [
    ['openai', 'mock-pinned'],
    ['openai', 'other'],
    ['anthropic', 'other'],
    ['openai', 'fo-model'],
  ]) {
    for (const type of ['input', 'output']) {
      const h = exactHistogram(
        families,
        'gen_ai_client_token_usage',
        genAi(provider, model, { gen_ai_response_model: model, gen_ai_token_type: type }),
      );
      assert.ok(h.count >= 0);
    }
    exactHistogram(families, 'gen_ai_server_time_to_first_token_seconds', genAi(provider, model, { gen_ai_response_model: model }));
  }
  assert.equal(exactHistogram(families, 'gen_ai_client_token_usage', genAi('openai', 'mock-pinned', { gen_ai_response_model: 'mock-pinned', gen_ai_token_type: 'input' })).count, 0);
  assert.equal(families.get('sluice_gateway_overhead_seconds')?.type, 'histogram');
  for (const name of ['sluice_circuit_open_refusals_total', 'sluice_retry_budget_refusals_total']) {
    assert.equal(families.get(name)?.type, 'counter', name);
    assert.deepEqual(samples(families, name, { backend: 'breaker', provider: 'breaker' }).map((s) => s.value), [0], name);
  }
  for (const name of ['sluice_provider_healthy', 'sluice_provider_ejected', 'sluice_provider_benched_keys']) {
    assert.equal(families.get(name)?.type, 'gauge', name);
    assert.equal(samples(families, name, { backend: 'fo', provider: 'first' }).length, 1, name);
  }
  assert.equal(samples(families, 'sluice_provider_healthy', { backend: 'fo', provider: 'second' })[0].value, 1);
  const [build] = samples(families, 'sluice_build_info');
  assert.equal(build.value, 1);
  assert.match(build.labels.version, /^\d+\.\d+\.\d+/);
  assert.ok(build.labels.git_commit && build.labels.compiler, JSON.stringify(build.labels));
  assert.equal(samples(families, 'sluice_config_generation')[0].value, 1);
  assert.equal(samples(families, 'sluice_config_last_reload_success')[0].value, 1);
  assert.ok(samples(families, 'sluice_config_last_reload_timestamp_seconds')[0].value > 1.7e9);
  assert.equal(families.get('process_cpu_seconds_total')?.type, 'counter');
  for (const name of ['process_resident_memory_bytes', 'process_open_fds', 'process_max_fds', 'process_start_time_seconds']) {
    assert.equal(families.get(name)?.type, 'gauge', name);
    assert.ok(samples(families, name)[0].value > 0, name);
  }
  const start = samples(families, 'process_start_time_seconds')[0].value;
  assert.ok(Math.abs(start - Date.now() / 1000) < 60, String(start));
});

test('a chat: token usage, durations and overhead under the configured model', async () => {
  const res = await chat('pinned');
  assert.equal(res.status, 200);
  const usage = JSON.parse(res.text).usage;
  await eventually((families) => {
    const labels = genAi('openai', 'mock-pinned', { gen_ai_response_model: 'mock-pinned' });
    const input = exactHistogram(families, 'gen_ai_client_token_usage', { ...labels, gen_ai_token_type: 'input' });
    const output = exactHistogram(families, 'gen_ai_client_token_usage', { ...labels, gen_ai_token_type: 'output' });
    assert.equal(input.count, 1);
    assert.equal(input.sum, usage.prompt_tokens);
    assert.equal(output.sum, usage.completion_tokens);
    assert.equal(exactHistogram(families, 'gen_ai_server_request_duration_seconds', labels).count, 1);
    assert.equal(exactHistogram(families, 'gen_ai_client_operation_duration_seconds', labels).count, 1);
    assert.equal(exactHistogram(families, 'gen_ai_server_time_to_first_token_seconds', labels).count, 1);
    const [overhead] = histograms(families, 'sluice_gateway_overhead_seconds');
    assert.ok(overhead.count >= 1 && overhead.sum >= 0 && overhead.sum < 1, JSON.stringify(overhead));
  });
});

test('a model the client names is counted as "other", never as itself', async () => {
  const res = await chat('open', { model: 'client-invented-model-xyz' });
  assert.equal(res.status, 200);
  await eventually((families) => {
    const labels = genAi('openai', 'other', { gen_ai_response_model: 'other' });
    assert.equal(exactHistogram(families, 'gen_ai_client_token_usage', { ...labels, gen_ai_token_type: 'input' }).count, 1);
  });
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.doesNotMatch(text, /client-invented-model-xyz/);
});

test('a native stream on a pinned provider reports its tokens (the model override keeps stream_options)', async () => {
  const res = await chat('pinned', { stream: true, headers: { 'x-test-id': 'pinned-stream' } });
  assert.equal(res.status, 200);
  assert.match(res.text, /data: \[DONE\]/);
  assert.doesNotMatch(res.text, /"usage":\{/, 'the usage chunk Sluice asked for is not passed on');
  const line = await gw.waitForAccessLog((l) => l.path === '/pinned/v1/chat/completions' && l.stream === true);
  assert.equal(line.model, 'mock-pinned');
  assert.ok(line.prompt_tokens > 0 && line.completion_tokens > 0, JSON.stringify(line));
});

for (const [prefix, provider, model] of [
  ['open', 'openai', 'other'],
  ['claude', 'anthropic', 'other'],
]) {
  test(`time to first token of a ${prefix === 'claude' ? 'translated ' : ''}stream: the first content event, not the head`, async () => {
    const before = await scrape();
    const labels = genAi(provider, model, { gen_ai_response_model: model });
    const ttftBefore = exactHistogram(before, 'gen_ai_server_time_to_first_token_seconds', labels);
    const res = await chat(prefix, {
      model: prefix === 'claude' ? 'claude-client' : 'gpt-client',
      stream: true,
      headers: { 'x-mock-ttft-ms': String(FIRST_TOKEN_DELAY_MS), 'x-test-id': `ttft-${prefix}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.text, /data: \[DONE\]/);
    const line = await gw.waitForAccessLog((l) => l.path === `/${prefix}/v1/chat/completions` && l.stream === true);
    assert.ok(line.upstream_first_byte_ms < FIRST_TOKEN_DELAY_MS / 2, JSON.stringify(line));
    assert.ok(line.time_to_first_token_ms >= FIRST_TOKEN_DELAY_MS, JSON.stringify(line));
    assert.ok(line.time_to_first_token_ms <= line.duration_ms, JSON.stringify(line));
    await eventually((families) => {
      const ttft = exactHistogram(families, 'gen_ai_server_time_to_first_token_seconds', labels);
      assert.equal(ttft.count, ttftBefore.count + 1);
      const le = (h, bound) => h.buckets.find(([b]) => b === bound)[1];
      // Observed above 0.25 s (the delay is 0.4 s) and within 0.5 s... or later on a slow machine.
      assert.equal(le(ttft, 0.25), le(ttftBefore, 0.25), 'not observed at the head time');
      assert.ok(ttft.sum - ttftBefore.sum >= FIRST_TOKEN_DELAY_MS / 1000);
      const tpot = exactHistogram(families, 'gen_ai_server_time_per_output_token_seconds', labels);
      assert.ok(tpot.count >= 1);
    });
  });
}

test('a failover: the answer counted under the provider that gave it; attempts by outcome', async () => {
  const res = await chat('fo');
  assert.equal(res.status, 200);
  await eventually((families) => {
    const labels = genAi('openai', 'fo-model', { gen_ai_response_model: 'fo-model' });
    assert.equal(exactHistogram(families, 'gen_ai_client_token_usage', { ...labels, gen_ai_token_type: 'output' }).count, 1);
    const operation = exactHistogram(families, 'gen_ai_client_operation_duration_seconds', labels);
    assert.equal(operation.count, 1);
    assert.deepEqual(
      samples(families, 'sluice_upstream_attempts_total', { backend: 'fo', provider: 'first', outcome: 'failover' }).map((s) => s.value),
      [1],
    );
  });
});

test('a refusal: the circuit breaker counts it, the GenAI series carry error.type', async () => {
  const results = await Promise.all([chat('breaker'), chat('breaker'), chat('breaker')]);
  const refused = results.filter((r) => r.status === 503);
  assert.ok(refused.length >= 1, JSON.stringify(results.map((r) => r.status)));
  await eventually((families) => {
    const [open] = samples(families, 'sluice_circuit_open_refusals_total', { backend: 'breaker', provider: 'breaker' });
    assert.equal(open.value, refused.length);
    const failed = exactHistogram(families, 'gen_ai_server_request_duration_seconds', genAi('openai', 'other', { error_type: '503' }));
    assert.equal(failed.count, refused.length);
    assert.equal(
      histograms(families, 'gen_ai_server_time_to_first_token_seconds').filter((h) => h.labels.error_type).reduce((n, h) => n + h.count, 0),
      0,
      'no first token for a failure',
    );
  });
});

test('a rejected reload shows in the reload gauges; the generation stays', async () => {
  const { writeFileSync, readFileSync } = await import('node:fs');
  const original = readFileSync(gw.file, 'utf8');
  writeFileSync(gw.file, `${original}---\nkind: Nonsense\n`);
  gw.proc.kill('SIGHUP');
  await eventually((families) => {
    assert.equal(samples(families, 'sluice_config_last_reload_success')[0].value, 0);
    assert.equal(samples(families, 'sluice_config_generation')[0].value, 1);
  });
  writeFileSync(gw.file, original);
  gw.proc.kill('SIGHUP');
  await eventually((families) => {
    assert.equal(samples(families, 'sluice_config_last_reload_success')[0].value, 1);
    assert.ok(samples(families, 'sluice_config_generation')[0].value > 1);
  });
});
