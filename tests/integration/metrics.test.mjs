// Integration: /metrics through the real `sluice` and sluice-mock.
// - Every series the configuration implies is scraped at 0 before the first request (requests
//   per rule and Backend, upstream errors per kind, attempts per outcome, ejections, tokens per
//   configured model and "other").
// - sluice_tokens_total counts the usage providers report, under the model a provider is pinned
//   to, or "other" for a model the client named: no client value becomes a label.
// - A SIGHUP reload keeps counting the series it keeps, and shows the ones it adds at 0.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiBackendYaml, chatBody, routeYaml, startMock, startSluice } from '../lib/harness.mjs';

let mock;
let gw;
let gatewayDoc;
let generation = 1;

const rules = (extra = '') => `  - name: open
    matches: [{path: {type: PathPrefix, value: /open}}]
    backendRefs: [{name: open}]
  - name: pinned
    matches: [{path: {type: PathPrefix, value: /pinned}}]
    backendRefs: [{name: pinned}]
${extra}`;

const config = ({ added = false } = {}) =>
  [
    aiBackendYaml({ name: 'open', port: mock.port }),
    aiBackendYaml({ name: 'pinned', port: mock.port, model: 'mock-pinned' }),
    ...(added ? [aiBackendYaml({ name: 'added', port: mock.port, model: 'mock-added' })] : []),
    routeYaml({
      name: 'm',
      rules: rules(
        added
          ? `  - name: added
    matches: [{path: {type: PathPrefix, value: /added}}]
    backendRefs: [{name: added}]
`
          : '',
      ),
    }),
  ].join('---\n');

before(async () => {
  mock = await startMock();
  gw = await startSluice({ config: config(), workers: 2 });
  gatewayDoc = readFileSync(gw.file, 'utf8').split('---')[0];
});
after(async () => {
  await gw?.stop();
  await mock?.stop();
});

// The scrape as a map of series ("name{labels}") to numbers.
async function scrape() {
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  const series = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

const tokens = (backend, model, type) =>
  `sluice_tokens_total{backend="${backend}",provider="${backend}",model="${model}",type="${type}"}`;

async function chat(prefix, model) {
  const res = await fetch(`${gw.url}/${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody({ model }),
  });
  assert.equal(res.status, 200);
  return res.json();
}

// The counters are read at scrape time; a request is counted once its response is finished,
// which may be just after the client read it.
async function scrapeUntil(predicate) {
  for (let i = 0; i < 100; i++) {
    const series = await scrape();
    if (predicate(series)) return series;
    await sleep(20);
  }
  return scrape();
}

async function reload(options) {
  writeFileSync(gw.file, `${gatewayDoc}---\n${config(options)}`);
  generation += 1;
  gw.proc.kill('SIGHUP');
  for (let i = 0; i < 100; i++) {
    if ((await (await fetch(`${gw.adminUrl}/status`)).json()).generation === generation) return;
    await sleep(20);
  }
  throw new Error(`reload to generation ${generation} not seen: ${gw.stderr.join('\n')}`);
}

describe('metrics', () => {
  test('every series the configuration implies is there at 0 before any request', async () => {
    const s = await scrape();
    for (const [route, backend] of [
      ['m/open', 'open'],
      ['m/pinned', 'pinned'],
    ]) {
      const labels = `route="${route}",backend="${backend}"`;
      assert.equal(s.get(`sluice_requests_total{${labels},code="200"}`), 0, labels);
      assert.equal(s.get(`sluice_request_duration_seconds_count{${labels}}`), 0, labels);
      assert.equal(s.get(`sluice_response_bytes_total{${labels}}`), 0, labels);
      for (const outcome of ['success', 'failover', 'failure'])
        assert.equal(s.get(`sluice_upstream_attempts_total{backend="${backend}",provider="${backend}",outcome="${outcome}"}`), 0);
      assert.equal(s.get(`sluice_provider_ejections_total{backend="${backend}",provider="${backend}"}`), 0);
      for (const kind of ['connect', 'timeout', 'reset', 'tls', 'protocol', 'key'])
        assert.equal(s.get(`sluice_upstream_errors_total{backend="${backend}",kind="${kind}"}`), 0, kind);
    }
    for (const type of ['input', 'output']) {
      assert.equal(s.get(tokens('pinned', 'mock-pinned', type)), 0);
      assert.equal(s.get(tokens('pinned', 'other', type)), 0);
      assert.equal(s.get(tokens('open', 'other', type)), 0);
      // "open" names no model of its own: it takes every configured name.
      assert.equal(s.get(tokens('open', 'mock-pinned', type)), 0);
    }
    const tokenSeries = [...s.keys()].filter((k) => k.startsWith('sluice_tokens_total{'));
    assert.equal(tokenSeries.length, 8, tokenSeries.join('\n'));
  });

  test('tokens are counted under the pinned model, or "other" for the model a client named', async () => {
    const pinned = await chat('pinned', 'whatever-the-client-says');
    const open = await chat('open', 'client-model-4711');
    assert.ok(pinned.usage.prompt_tokens > 0 && open.usage.completion_tokens > 0, 'the mock reports usage');
    const s = await scrapeUntil(
      (m) => m.get(tokens('pinned', 'mock-pinned', 'input')) > 0 && m.get(tokens('open', 'other', 'input')) > 0,
    );
    assert.equal(s.get(tokens('pinned', 'mock-pinned', 'input')), pinned.usage.prompt_tokens);
    assert.equal(s.get(tokens('pinned', 'mock-pinned', 'output')), pinned.usage.completion_tokens);
    assert.equal(s.get(tokens('open', 'other', 'input')), open.usage.prompt_tokens);
    assert.equal(s.get(tokens('open', 'other', 'output')), open.usage.completion_tokens);
    assert.equal(s.get(tokens('pinned', 'other', 'input')), 0);
    for (const key of s.keys()) {
      assert.ok(!key.includes('client-model-4711') && !key.includes('whatever-the-client-says'), key);
    }
    assert.equal(s.get('sluice_requests_total{route="m/open",backend="open",code="200"}'), 1);
    assert.equal(s.get('sluice_upstream_attempts_total{backend="pinned",provider="pinned",outcome="success"}'), 1);
  });

  test('a reload keeps counting what it keeps and shows what it adds at 0', async () => {
    const before = await scrape();
    await reload({ added: true });
    const s = await scrape();
    assert.equal(s.get('sluice_requests_total{route="m/open",backend="open",code="200"}'),
      before.get('sluice_requests_total{route="m/open",backend="open",code="200"}'));
    assert.equal(s.get(tokens('pinned', 'mock-pinned', 'input')), before.get(tokens('pinned', 'mock-pinned', 'input')));
    assert.equal(s.get('sluice_requests_total{route="m/added",backend="added",code="200"}'), 0);
    assert.equal(s.get(tokens('added', 'mock-added', 'output')), 0);

    const open = await chat('open', 'client-model-4711');
    const after = await scrapeUntil(
      (m) => m.get(tokens('open', 'other', 'input')) > before.get(tokens('open', 'other', 'input')),
    );
    assert.equal(after.get(tokens('open', 'other', 'input')), before.get(tokens('open', 'other', 'input')) + open.usage.prompt_tokens);
    assert.equal(after.get('sluice_requests_total{route="m/open",backend="open",code="200"}'), 2);
  });
});
