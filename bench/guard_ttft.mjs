#!/usr/bin/env node
// bench/guard_ttft.mjs: what a streamed response guard adds to the time to first token.
// sluice-mock streams a scripted reply (no secret) in pieces of PIECE bytes, one every DELAY_MS;
// Sluice serves it on a plain route and behind ai.promptGuard.response (MASK, every builtin: the
// longest match is 128 bytes, so the masker holds at most 130 bytes of a channel). For each route
// it measures, over RUNS streams, the time from the request to the first event of the stream and
// to the first non-empty text, and prints medians. Expectation: the first event is not delayed;
// the first text is delayed by about the time the model takes to produce one tail (130 bytes):
// ceil(130 / PIECE) pieces x DELAY_MS. Not a test: prints a table, asserts nothing.
// Usage: SLUICE_BIN_DIR=build/bin/ node bench/guard_ttft.mjs   (RUNS [20], PIECE [8], DELAY_MS [10])
import { startMock, startSluice } from '../tests/lib/harness.mjs';

const RUNS = Number(process.env.RUNS ?? 20);
const PIECE = Number(process.env.PIECE ?? 8);
const DELAY_MS = Number(process.env.DELAY_MS ?? 10);
const TEXT = 'The quarterly report is ready; the numbers look fine and the team will present them on Monday. '.repeat(4);

const mock = await startMock(['--chunk-delay-ms', String(DELAY_MS)]);
const backend = `apiVersion: sluice.dev/v1alpha1
kind: Backend
metadata: {name: mock}
spec: {type: AI, ai: {llm: {openai: {authToken: {kind: Inline, inline: k}}, host: 127.0.0.1, port: ${mock.port}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - {name: plain, matches: [{path: {type: PathPrefix, value: /plain}}], backendRefs: [{name: mock}]}
  - {name: masked, matches: [{path: {type: PathPrefix, value: /masked}}], backendRefs: [{name: mock}]}
---
apiVersion: sluice.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: g}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: masked}]
  ai:
    promptGuard:
      response:
        regex: {action: MASK, builtins: [SSN, CREDIT_CARD, PHONE_NUMBER, EMAIL]}
`;
const sluice = await startSluice({ config: backend });

async function once(route) {
  const started = performance.now();
  const res = await fetch(`${sluice.url}/${route}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-mock-reply': encodeURIComponent(TEXT), 'x-mock-split': String(PIECE) },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const decoder = new TextDecoder();
  let buffered = '';
  let firstEvent = null;
  let firstText = null;
  let text = '';
  for await (const bytes of res.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      firstEvent ??= performance.now() - started;
      const content = JSON.parse(event.slice(6)).choices?.[0]?.delta?.content ?? '';
      if (content && firstText === null) firstText = performance.now() - started;
      text += content;
    }
  }
  if (text !== TEXT) throw new Error(`${route}: the text changed`);
  return { firstEvent, firstText };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const results = { plain: [], masked: [] };
for (let i = 0; i < RUNS; i += 1) for (const route of ['plain', 'masked']) results[route].push(await once(route));
await sluice.stop();
await mock.stop();

const row = (route) => {
  const r = results[route];
  return `| ${route} | ${median(r.map((x) => x.firstEvent)).toFixed(1)} | ${median(r.map((x) => x.firstText)).toFixed(1)} |`;
};
console.log(`Reply of ${TEXT.length} bytes in ${PIECE}-byte pieces, one every ${DELAY_MS} ms; ${RUNS} streams per route, medians.`);
console.log('');
console.log('| Route | first event (ms) | first text (ms) |');
console.log('|---|---:|---:|');
console.log(row('plain'));
console.log(row('masked'));
const added = median(results.masked.map((x) => x.firstText)) - median(results.plain.map((x) => x.firstText));
const tail = Math.ceil(130 / PIECE) * DELAY_MS;
console.log('');
console.log(`First text delayed by ${added.toFixed(1)} ms; one tail (130 bytes = ${Math.ceil(130 / PIECE)} pieces) takes ${tail} ms to arrive.`);
