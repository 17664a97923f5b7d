// Integration: the labels of the GenAI metrics, through the real `sluice` and sluice-mock.
// - The model labels (gen_ai_request_model, gen_ai_response_model, sluice_tokens_total's model)
//   take only names the configuration makes known: a provider's `model` and `models`, and the
//   modelAliases names and targets; any other name a client sends is "other", and never appears.
//   A provider that names no model of its own takes every configured name; its series for them
//   exist at boot.
// - Gateway spec.telemetry.metricLabels: [principal.metadata.team] adds a principal_metadata_team
//   label to the GenAI series, from the API key's metadata (a key without it gives ""), and from
//   a JWT claim mapped by claimsToMetadata.
// - validate: an unknown metricLabels path is an error naming the file, the Gateway and the field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayYaml, routeYaml, runValidate, startMock, startSluice, tempDir } from '../lib/harness.mjs';
import { jwks, nowSeconds, signJwt, signingKey } from '../lib/jwt.mjs';
import { exactHistogram, parsePrometheus, samples } from '../lib/prometheus.mjs';

let mock;
let gw;

const KEYS = { a: 'sk-team-a-0123456789', b: 'sk-team-b-0123456789', none: 'sk-no-team-0123456789' };
const hash = (key) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

// A JWT issuer of the test's own: an EC key, its JWKS in a file, tokens signed here.
const ISSUER = 'https://idp.example.com';
const signer = signingKey('ec-1', 'ES256');
const jwt = (claims) =>
  signJwt(signer, { iss: ISSUER, aud: 'sluice', sub: 'dave', iat: nowSeconds(), exp: nowSeconds() + 600, ...claims });
let jwksDir;

before(async () => {
  jwksDir = tempDir('sluice-labels-jwks-');
  const jwksFile = path.join(jwksDir, 'jwks.json');
  writeFileSync(jwksFile, jwks(signer));
  mock = await startMock();
  const config = [
    `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: open}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}}
      host: 127.0.0.1
      port: ${mock.port}
`,
    `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: listed}
spec:
  type: AI
  ai:
    llm:
      openai: {authToken: {kind: Inline, inline: sk-test}, models: [listed-a, listed-b]}
      host: 127.0.0.1
      port: ${mock.port}
`,
    routeYaml({
      name: 'g',
      rules: ['open', 'listed']
        .map(
          (b) => `  - name: ${b}
    matches: [{path: {type: PathPrefix, value: /${b}}}]
    backendRefs: [{name: ${b}}]
`,
        )
        .join(''),
    }),
    `apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: callers}
spec:
  targetRefs: [{kind: Gateway, name: test}]
  auth:
    apiKey:
      keys:
      - {name: alice, keyHash: "${hash(KEYS.a)}", metadata: {team: a}}
      - {name: bob, keyHash: "${hash(KEYS.b)}", metadata: {team: b}}
      - {name: carol, keyHash: "${hash(KEYS.none)}"}
    jwt:
      providers:
      - name: corp
        issuer: ${ISSUER}
        audiences: [sluice]
        jwks: {file: ${jwksFile}}
        claimsToMetadata: {team: groups}
  ai:
    modelAliases: {fast: gpt-4o-mini}
`,
  ].join('---\n');
  gw = await startSluice({
    config,
    workers: 2,
    gatewayExtra: '  telemetry:\n    metricLabels: [principal.metadata.team]\n',
  });
});
after(async () => {
  await gw?.stop();
  await mock?.stop();
  if (jwksDir) rmSync(jwksDir, { recursive: true, force: true });
});

async function scrapeText() {
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

async function chat(prefix, model, key) {
  const res = await fetch(`${gw.url}/${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello there' }] }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}


async function eventually(check, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const families = parsePrometheus(await scrapeText());
    try {
      return check(families);
    } catch (e) {
      if (Date.now() > end) throw e;
    }
    await sleep(25);
  }
}

const labels = (model, team) => ({
  gen_ai_operation_name: 'chat',
  gen_ai_provider_name: 'openai',
  gen_ai_request_model: model,
  gen_ai_response_model: model,
  principal_metadata_team: team,
});

test('at boot: a provider naming no model has token series for every configured name; one naming models, for its own', async () => {
  const families = parsePrometheus(await scrapeText());
  const models = (backend) =>
    [...new Set(samples(families, 'sluice_tokens_total', { backend }).map((s) => s.labels.model))].sort();
  assert.deepEqual(models('open'), ['fast', 'gpt-4o-mini', 'listed-a', 'listed-b', 'other']);
  assert.deepEqual(models('listed'), ['listed-a', 'listed-b', 'other']);
  for (const s of samples(families, 'sluice_tokens_total')) assert.equal(s.value, 0);
});

test('configured names and aliases are labels; a client-invented name is "other"; the team is a label', async () => {
  const aliased = await chat('open', 'fast', KEYS.a);
  assert.equal(aliased.model, 'gpt-4o-mini');
  await chat('open', 'listed-b', KEYS.b);
  await chat('open', 'invented-by-client-42', KEYS.a);
  await chat('listed', 'listed-a', KEYS.none);
  await eventually((families) => {
    const input = (model, team) =>
      exactHistogram(families, 'gen_ai_client_token_usage', { ...labels(model, team), gen_ai_token_type: 'input' });
    assert.equal(input('gpt-4o-mini', 'a').count, 1, 'the alias resolved to a configured name');
    assert.equal(input('listed-b', 'b').count, 1, "another provider's configured name");
    assert.equal(input('other', 'a').count, 1);
    assert.equal(input('listed-a', '').count, 1, 'a key without the metadata: an empty value');
    assert.equal(exactHistogram(families, 'gen_ai_server_request_duration_seconds', labels('gpt-4o-mini', 'a')).count, 1);
    const [tokens] = samples(families, 'sluice_tokens_total', { backend: 'open', model: 'listed-b', type: 'input' });
    assert.ok(tokens.value > 0);
  });
  const text = await scrapeText();
  assert.doesNotMatch(text, /invented-by-client-42/);
  // The principal label is on the GenAI families only (sluice_principal_* follow auth.metricsLabels).
  for (const line of text.split('\n').filter((l) => l.includes('principal_metadata_team=')))
    assert.match(line, /^gen_ai_/, line);
});

test('a JWT claim mapped by claimsToMetadata is the team label', async () => {
  await chat('listed', 'listed-b', jwt({ groups: 'platform' }));
  await eventually((families) => {
    const input = exactHistogram(families, 'gen_ai_client_token_usage', {
      ...labels('listed-b', 'platform'),
      gen_ai_token_type: 'input',
    });
    assert.equal(input.count, 1);
  });
});

test('validate: an unknown metricLabels path names the file, the Gateway and the field', async () => {
  const text = `${gatewayYaml({ port: 1, adminPort: 2, extra: '  telemetry:\n    metricLabels: [principal.metadata.team, principal.email]\n' })}`;
  const { code, stdout, stderr, file } = await runValidate(text);
  assert.notEqual(code, 0);
  const out = stdout + stderr;
  assert.ok(out.includes(file), out);
  assert.match(out, /Gateway\/test/);
  assert.match(out, /spec\.telemetry\.metricLabels\[1\]: unknown principal attribute "principal\.email"/);
  const twice = await runValidate(
    gatewayYaml({ port: 1, adminPort: 2, extra: '  telemetry:\n    metricLabels: [principal.metadata.a-b, principal.metadata.a_b]\n' }),
  );
  assert.notEqual(twice.code, 0);
  assert.match(twice.stdout + twice.stderr, /metricLabels\[1\]: .*principal_metadata_a_b/);
});
