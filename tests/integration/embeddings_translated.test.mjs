// Embeddings every client can use on every embedding-capable provider (issue 12), through the
// real `sluice` in front of `sluice-mock` (run with --log-requests, so the calls that reached it
// are counted from its log):
//  - the openai SDK's list input on a Bedrock Amazon Titan model, which embeds one text per
//    call: N concurrent calls (at most 8 in flight: 16 delayed calls take two rounds, never
//    sixteen), one answer in input order with the token counts summed; a call that fails fails
//    the request with the provider's error (no partial list), and the whole fan-out is one
//    attempt a priority group behind it takes over; Cohere keeps its list in one call;
//  - @google/genai's models.embedContent (which sends batchEmbedContents) and the REST
//    embedContent on OpenAI-format backends (OpenAI, Azure OpenAI, Ollama) and on Bedrock
//    (Titan through the fan-out, Cohere with taskType as its input_type); what cannot be carried
//    is a 400 in Google's shape naming the field.
import test, { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { GoogleGenAI } from '@google/genai';
import { routeYaml, startMock, startSluice } from '../lib/harness.mjs';
import { AWS } from '../lib/providers.mjs';

const TITAN = 'amazon.titan-embed-text-v2:0';
const COHERE = 'cohere.embed-english-v3';
const TITAN_PATH = '/model/amazon.titan-embed-text-v2%3A0/invoke';

let mock;
let sluice;

const llmBackend = (name, llm) => `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  type: AI
  ai:
    llm:
      ${llm}
      host: 127.0.0.1
      port: ${mock.port}
`;

const providerEntry = (name, llm) => `      - name: ${name}
        ${llm}
        host: 127.0.0.1
        port: ${mock.port}
`;

const BEDROCK = 'bedrock: {credentials: {secretRef: {name: aws}}, region: us-east-1}';
const OPENAI = 'openai: {authToken: {kind: Inline, inline: sk-gateway}}';

before(async () => {
  mock = await startMock(['--log-requests']);
  const backends = {
    bedrock: BEDROCK,
    openai: OPENAI,
    azure: 'azureopenai: {authToken: {kind: Inline, inline: azure-key}, endpoint: res.openai.azure.com, deploymentName: emb}',
    ollama: 'ollama: {}',
  };
  const docs = [
    `apiVersion: v1
kind: Secret
metadata: {name: aws}
stringData: ${JSON.stringify(AWS)}
`,
    ...Object.entries(backends).map(([name, llm]) => llmBackend(name, llm)),
    // Bedrock whose calls must answer within 300 ms.
    llmBackend('bedrock-slow', BEDROCK).replace('  type: AI\n', '  type: AI\n  timeouts: {firstByte: 300ms}\n'),
    // Bedrock first; when its attempt fails, an OpenAI provider answers.
    `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: failover}
spec:
  type: AI
  ai:
    priorityGroups:
    - providers:
${providerEntry('titan', BEDROCK)}    - providers:
${providerEntry('backup', OPENAI)}`,
    routeYaml({
      name: 'embeddings',
      rules: [...Object.keys(backends), 'bedrock-slow', 'failover']
        .map(
          (name) => `  - name: ${name}
    matches: [{path: {type: PathPrefix, value: /${name}}}]
    backendRefs: [{name: ${name}}]
`,
        )
        .join(''),
    }),
  ];
  sluice = await startSluice({ config: docs.join('---\n') });
});
after(async () => {
  await sluice?.stop();
  await mock?.stop();
});

// The mock's request log lines so far, parsed.
const requestLog = () =>
  mock.stderr.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l));
// The log lines of requests to `target` after the first `from` lines, once `count` of them are
// there and `done(calls)` holds (a line is written when its answer was; the pipe may lag the
// client by a little, and the calls of a fan-out answer in no fixed order).
async function loggedCalls(from, target, count, done = () => true) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const calls = requestLog().slice(from).filter((l) => l.target === target);
    if ((calls.length >= count && done(calls)) || Date.now() > deadline) return calls;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The mock's vectors for `texts` (every format embeds a text as its OpenAI endpoint does).
async function mockVectors(texts, dimensions) {
  const res = await fetch(`${mock.url}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
    body: JSON.stringify({ model: 'm', input: texts, ...(dimensions ? { dimensions } : {}) }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).data.map((d) => d.embedding);
}

const openai = (prefix, headers = {}) =>
  new OpenAI({ apiKey: 'sk-client', baseURL: `${sluice.url}/${prefix}/v1`, defaultHeaders: headers, maxRetries: 0 });

const post = async (path, body, headers = {}) => {
  const res = await fetch(`${sluice.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
};

describe('OpenAI embeddings with a list on Bedrock Amazon Titan: one call per text, concurrently', () => {
  test('16 texts: 16 calls reached the provider, at most 8 at once, data in input order, usage summed', async () => {
    const texts = Array.from({ length: 16 }, (_, i) => `text number ${i} ${'x'.repeat(i)}`);
    const from = requestLog().length;
    const started = Date.now();
    const response = await openai('bedrock', { 'x-mock-latency-ms': '300' }).embeddings.create({
      model: TITAN,
      input: texts,
      dimensions: 6,
    });
    const elapsed = Date.now() - started;
    const calls = await loggedCalls(from, TITAN_PATH, 16);
    assert.equal(calls.length, 16, 'one InvokeModel call per text');
    assert.ok(calls.every((c) => c.status === 200));
    // Concurrent: 16 calls of 300 ms one after another would take 4.8 s; 8 at a time take two
    // rounds (600 ms), so never less than that.
    assert.ok(elapsed >= 590, `the bound of 8 in flight makes two rounds, took ${elapsed} ms`);
    assert.ok(elapsed < 2400, `the calls overlapped, took ${elapsed} ms`);
    const connections = new Set(calls.map((c) => c.connection));
    assert.ok(connections.size > 1 && connections.size <= 8, `connections used: ${connections.size}`);

    assert.equal(response.object, 'list');
    assert.equal(response.model, TITAN);
    assert.deepEqual(response.data.map((d) => d.index), texts.map((_, i) => i));
    const expected = await mockVectors(texts, 6);
    // The SDK asks for base64 (float32) and decodes it.
    response.data.forEach((d, i) => assert.deepEqual(d.embedding, expected[i].map(Math.fround), `data[${i}]`));
    assert.ok(response.usage.prompt_tokens >= 16, JSON.stringify(response.usage));
    assert.equal(response.usage.total_tokens, response.usage.prompt_tokens);
    // One request, one attempt, its usage the sum, in the access log.
    const line = await sluice.waitForAccessLog(
      (l) => l.translation === 'openai->bedrock' && l.upstream_path === TITAN_PATH && l.prompt_tokens === response.usage.prompt_tokens,
    );
    assert.equal(line.status, 200);
    assert.equal(line.attempts, undefined, 'one attempt');
  });

  test('every call is bounded by the provider\'s first-byte timeout: a slow call is a 504', async () => {
    const started = Date.now();
    const res = await post('/bedrock-slow/v1/embeddings', { model: TITAN, input: ['a', 'b', 'c'] }, { 'x-mock-latency-ms': '2000' });
    assert.equal(res.status, 504, res.text);
    assert.equal(res.json.error.code, 'upstream_timeout');
    assert.match(res.json.error.message, /did not respond within 300 ms/);
    assert.ok(Date.now() - started < 1500, `answered after ${Date.now() - started} ms`);
  });

  test('the token counts are the sum of the calls\' counts, one string is one call', async () => {
    const list = await post('/bedrock/v1/embeddings', { model: TITAN, input: ['aaaa', 'bbbbbbbb'] });
    const one = await post('/bedrock/v1/embeddings', { model: TITAN, input: 'aaaa' });
    const other = await post('/bedrock/v1/embeddings', { model: TITAN, input: 'bbbbbbbb' });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.usage.prompt_tokens, one.json.usage.prompt_tokens + other.json.usage.prompt_tokens);
    assert.deepEqual(list.json.data[1].embedding, other.json.data[0].embedding);
  });

  test('a failing call fails the request with the provider\'s error, no partial list', async () => {
    const from = requestLog().length;
    await assert.rejects(
      openai('bedrock').embeddings.create({ model: TITAN, input: ['first', 'second FAILME', 'third'], encoding_format: 'float' }),
      (error) => {
        assert.equal(error.status, 429);
        assert.match(error.message, /Injected error: status 429/);
        return true;
      },
    );
    const failed = (list) => list.some((c) => c.status === 429);
    const calls = await loggedCalls(from, TITAN_PATH, 1, failed);
    assert.ok(failed(calls), JSON.stringify(calls));
  });

  test('the whole fan-out is one attempt: when a call fails, the next priority group answers', async () => {
    const metric = async (series) => {
      const text = await (await fetch(`${sluice.adminUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    // The series' value once it reaches `want` (or after 2 s, whatever it is then).
    const settled = async (series, want) => {
      const end = Date.now() + 2000;
      for (;;) {
        const value = await metric(series);
        if (value >= want || Date.now() > end) return value;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const failovers = 'sluice_upstream_attempts_total{backend="failover",provider="titan",outcome="failover"}';
    const successes = 'sluice_upstream_attempts_total{backend="failover",provider="titan",outcome="success"}';
    const failedBefore = await metric(failovers);
    const res = await post('/failover/v1/embeddings', { model: TITAN, input: ['one', 'two FAILME', 'three', 'four'] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-sluice-provider'), 'backup');
    assert.equal(res.headers.get('x-sluice-attempts'), '2');
    assert.equal(res.json.data.length, 4);
    // Counted once for the provider, however many of its calls were sent. The attempt is
    // recorded when the exchange ends, which may be just after the client has the answer.
    assert.equal(await settled(failovers, failedBefore + 1), failedBefore + 1);
    const succeededBefore = await metric(successes);
    const ok = await post('/failover/v1/embeddings', { model: TITAN, input: ['one', 'two', 'three'] });
    assert.equal(ok.headers.get('x-sluice-provider'), 'titan');
    assert.equal(await settled(successes, succeededBefore + 1), succeededBefore + 1);
  });

  test('more than 2048 inputs: a 400 naming input', async () => {
    const res = await post('/bedrock/v1/embeddings', { model: TITAN, input: Array(2049).fill('x') });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.error.param, 'input');
    assert.match(res.json.error.message, /2048/);
  });

  test('Cohere on Bedrock keeps the list in one call', async () => {
    const from = requestLog().length;
    const res = await post('/bedrock/v1/embeddings', { model: COHERE, input: ['a', 'b', 'c'] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.data.length, 3);
    const calls = await loggedCalls(from, '/model/cohere.embed-english-v3/invoke', 1);
    assert.equal(calls.length, 1);
  });
});

const genai = (backend) => new GoogleGenAI({ apiKey: 'sk-client', httpOptions: { baseUrl: `${sluice.url}/${backend}` } });

describe('Gemini embedContent and batchEmbedContents on providers that are not Gemini', () => {
  const cases = {
    openai: 'text-embedding-3-small',
    azure: 'text-embedding-3-small',
    ollama: 'nomic-embed-text',
    bedrock: TITAN,
  };
  for (const [backend, model] of Object.entries(cases)) {
    test(`@google/genai models.embedContent on ${backend}: one embedding per content, in order`, async () => {
      const contents = ['What is your name?', 'What is your favorite color?', 'Why?'];
      const response = await genai(backend).models.embedContent({
        model,
        contents,
        config: { outputDimensionality: 5 },
      });
      const expected = await mockVectors(contents, 5);
      assert.deepEqual(
        response.embeddings.map((e) => e.values),
        expected,
      );
    });
  }

  test('the SDK sends batchEmbedContents; on Titan that is one call per content', async () => {
    const from = requestLog().length;
    const response = await genai('bedrock').models.embedContent({ model: TITAN, contents: ['a', 'b', 'c', 'd'] });
    assert.equal(response.embeddings.length, 4);
    const calls = await loggedCalls(from, TITAN_PATH, 4);
    assert.equal(calls.length, 4);
  });

  test('REST embedContent: one content, one embedding', async () => {
    for (const backend of ['openai', 'bedrock']) {
      const model = cases[backend];
      const res = await post(`/${backend}/v1beta/models/${model}:embedContent`, {
        content: { parts: [{ text: 'hello' }, { text: 'world' }] },
        outputDimensionality: 4,
      }, { 'x-goog-api-key': 'sk-client' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { embedding: { values: (await mockVectors(['hello\nworld'], 4))[0] } });
    }
  });

  test('taskType is Cohere\'s input_type on Bedrock', async () => {
    const response = await genai('bedrock').models.embedContent({
      model: COHERE,
      contents: ['query one', 'query two'],
      config: { taskType: 'RETRIEVAL_QUERY' },
    });
    assert.deepEqual(response.embeddings.map((e) => e.values), await mockVectors(['query one', 'query two']));
  });

  test('what cannot be carried is a 400 in Google\'s shape naming the field', async () => {
    const key = { 'x-goog-api-key': 'sk-client' };
    const refusals = [
      // OpenAI-format embeddings have no task type.
      ['openai', 'text-embedding-3-small', 'batchEmbedContents',
        { requests: [{ model: 'models/text-embedding-3-small', content: { parts: [{ text: 'a' }] }, taskType: 'RETRIEVAL_QUERY' }] },
        'requests[0].taskType'],
      ['bedrock', TITAN, 'embedContent', { content: { parts: [{ text: 'a' }] }, taskType: 'RETRIEVAL_DOCUMENT' }, 'taskType'],
      ['openai', 'text-embedding-3-small', 'embedContent',
        { content: { parts: [{ inlineData: { mimeType: 'image/png', data: 'AAAA' } }] } }, 'content.parts[0]'],
      ['openai', 'text-embedding-3-small', 'batchEmbedContents',
        { requests: [{ model: 'models/a', content: { parts: [{ text: 'x' }] } }, { model: 'models/b', content: { parts: [{ text: 'y' }] } }] },
        'requests[1].model'],
      ['bedrock', COHERE, 'embedContent', { content: { parts: [{ text: 'a' }] }, outputDimensionality: 8 }, 'outputDimensionality'],
    ];
    for (const [backend, model, action, body, field] of refusals) {
      const res = await post(`/${backend}/v1beta/models/${model}:${action}`, body, key);
      assert.equal(res.status, 400, `${field}: ${res.text}`);
      assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
      assert.equal(res.json.error.details[0].fieldViolations[0].field, field, res.text);
    }
  });

  test('a failing Titan call reaches the Gemini client as its error', async () => {
    const res = await post(`/bedrock/v1beta/models/${TITAN}:batchEmbedContents`, {
      requests: [{ content: { parts: [{ text: 'ok' }] } }, { content: { parts: [{ text: 'FAILME' }] } }],
    }, { 'x-goog-api-key': 'sk-client' });
    assert.equal(res.status, 429, res.text);
    assert.equal(res.json.error.status, 'RESOURCE_EXHAUSTED');
  });
});
