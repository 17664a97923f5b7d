#!/usr/bin/env node
// Writes src/pricing/catalog_data.inc, Sluice's built-in price catalog, from the pinned
// @pydantic/genai-prices package (package.json / package-lock.json beside this file).
//
//   node tools/prices/generate.mjs            rewrites the file
//   node tools/prices/generate.mjs --check    changes nothing; exits 1 when the file differs
//
// What is taken from the dataset, and how:
//  - the providers Sluice's provider kinds map to (pricing/catalog.cpp) and the providers the
//    Azure provider falls back to, in the dataset's order;
//  - per model, the input, output and cache-read prices per 1M tokens (other units: cache
//    writes, audio, images, searches, are not taken; a model with neither an input nor an
//    output price is skipped);
//  - prices that change over time: the dataset's price in force on PRICES_AS_OF (start-date
//    constraints); time-of-day windows (off-peak discounts) are ignored, the unwindowed price
//    applies; tiered prices (a higher price past a prompt size): the base tier;
//  - match rules are flattened into alternatives of at most two conditions (equals,
//    starts_with, ends_with, contains, regex, and `^(?!X)` as "X does not match at the start");
//    patterns other than regexes are lower-cased, since the dataset compares lower-cased names;
//  - numbers are converted from their shortest decimal form (the literal the package ships)
//    to integer micro-dollars with integer arithmetic; a price with more than 6 decimals fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The date whose prices the catalog holds (start-date constraints); moved with the package.
const PRICES_AS_OF = '2026-12-02';
// The dataset providers the catalog keeps.
const KEPT_PROVIDERS = new Set(['openai', 'azure', 'anthropic', 'google', 'aws', 'deepseek', 'x-ai', 'moonshotai']);

const here = dirname(fileURLToPath(import.meta.url));
const { waitForUpdate } = await import('@pydantic/genai-prices').catch((error) => {
  console.error(`the pinned dataset is not installed (${error.code}): run \`npm ci\` in tools/prices (make node-deps)`);
  process.exit(1);
});
const output = join(here, '..', '..', 'src', 'pricing', 'catalog_data.inc');
const pkg = JSON.parse(readFileSync(join(here, 'node_modules', '@pydantic', 'genai-prices', 'package.json'), 'utf8'));

// "1.25" (USD per 1M tokens) -> 1250000n (micro-USD per 1M tokens), exactly.
export function microsOf(value) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`not a price: ${value}`);
  const text = String(value);
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (!m) throw new Error(`unexpected number form: ${text}`);
  const digits = m[1] + (m[2] ?? '');
  const exponent = Number(m[3] ?? 0) - (m[2] ?? '').length + 6;
  if (exponent >= 0) return BigInt(digits) * 10n ** BigInt(exponent);
  const divisor = 10n ** BigInt(-exponent);
  if (BigInt(digits) % divisor !== 0n) throw new Error(`price ${text} has more than 6 decimals`);
  return BigInt(digits) / divisor;
}

// The price dictionary in force on PRICES_AS_OF (the dataset's own order: the last entry whose
// start date has passed, or the unconstrained one).
function pricesInForce(model) {
  if (!Array.isArray(model.prices)) return model.prices;
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const { constraint, prices } = model.prices[i];
    if (constraint === undefined) return prices;
    if (constraint.type === 'start_date' && constraint.start_date <= PRICES_AS_OF) return prices;
  }
  return model.prices[0].prices;
}

function baseTier(price) {
  if (price === undefined) return undefined;
  return typeof price === 'object' ? price.base : price;
}

// A match rule as alternatives, each a list of conditions that must all hold.
function alternatives(rule) {
  const [kind, value] = Object.entries(rule)[0];
  if (kind === 'or') return value.flatMap(alternatives);
  if (kind === 'and') {
    let out = [[]];
    for (const part of value) out = out.flatMap((left) => alternatives(part).map((right) => [...left, ...right]));
    return out;
  }
  return [[condition(kind, value)]];
}

const kinds = { equals: 'Equals', starts_with: 'StartsWith', ends_with: 'EndsWith', contains: 'Contains' };
function condition(kind, value) {
  if (kinds[kind]) return { kind: kinds[kind], pattern: value.toLowerCase() };
  if (kind !== 'regex') return { unsupported: `${kind} rule` };
  const negative = /^\^\(\?!(.*)\)$/.exec(value);
  if (negative && !/\(\?[=!<]|\\\d/.test(negative[1])) return { kind: 'NotRegex', pattern: `^(?:${negative[1]})` };
  if (/\(\?[=!<]|\\\d/.test(value)) return { unsupported: `regex ${value}` };
  return { kind: 'Regex', pattern: value };
}

function literal(text) {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`non-ASCII pattern: ${text}`);
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function conditionsText(conds) {
  const [a, b] = [conds[0], conds[1] ?? { kind: 'None', pattern: '' }];
  return `{MatchKind::${a.kind}, ${literal(a.pattern)}}, {MatchKind::${b.kind}, ${literal(b.pattern)}}`;
}

function generate(providers) {
  const kept = providers.filter((p) => KEPT_PROVIDERS.has(p.id));
  const providerLines = [];
  const detectionLines = [];
  const entryLines = [];
  const skipped = [];
  for (const provider of kept) {
    const fallbacks = (provider.fallback_model_providers ?? []).filter((id) => KEPT_PROVIDERS.has(id));
    providerLines.push(`    {${literal(provider.id)}, ${literal(fallbacks.join(' '))}},`);
    for (const alt of provider.model_match ? alternatives(provider.model_match) : []) {
      if (alt.some((c) => c.unsupported) || alt.length > 2) continue;
      detectionLines.push(`    {${literal(provider.id)}, ${conditionsText(alt)}},`);
    }
    for (const model of provider.models) {
      const prices = pricesInForce(model);
      const input = baseTier(prices.input_mtok);
      const out = baseTier(prices.output_mtok);
      if (input === undefined && out === undefined) {
        skipped.push(`${provider.id}/${model.id} (not priced per token)`);
        continue;
      }
      const cached = baseTier(prices.cache_read_mtok);
      const price = `${microsOf(input ?? 0)}, ${microsOf(out ?? 0)}, ${cached === undefined ? -1 : microsOf(cached)}`;
      for (const alt of alternatives(model.match)) {
        const bad = alt.find((c) => c.unsupported);
        if (bad || alt.length > 2) {
          skipped.push(`${provider.id}/${model.id}: one alternative (${bad ? bad.unsupported : 'over 2 conditions'})`);
          continue;
        }
        entryLines.push(`    {${literal(provider.id)}, ${literal(model.id)}, ${conditionsText(alt)}, ${price}},`);
      }
    }
  }
  const notes = skipped.length ? skipped.map((s) => `//   ${s}`) : ['//   none'];
  return [
    `// Generated by tools/prices/generate.mjs from ${pkg.name} ${pkg.version}, prices in force on`,
    `// ${PRICES_AS_OF}. Do not edit: scripts/gen-prices.sh regenerates it (the pricing.catalog_fresh test`,
    '// fails when it differs from the pinned package). Micro-USD per 1M tokens; cached -1: no cache-read',
    '// price (the input price applies). Tiered prices: the base tier; time-of-day windows ignored.',
    '// Skipped:',
    ...notes,
    '// clang-format off',
    `inline constexpr std::string_view kCatalogSource = ${literal(`${pkg.name} ${pkg.version} (${PRICES_AS_OF})`)};`,
    '',
    '// Dataset providers in the dataset\'s order, with the providers each falls back to.',
    'inline constexpr CatalogProvider kCatalogProviders[] = {',
    ...providerLines,
    '};',
    '',
    '// Which provider a model name belongs to, when the Backend\'s provider kind does not say.',
    'inline constexpr CatalogProviderMatch kCatalogProviderMatches[] = {',
    ...detectionLines,
    '};',
    '',
    '// Per provider, in the dataset\'s order (the first match wins): provider, model id, two conditions',
    '// that must both hold, input, output, cached input.',
    'inline constexpr CatalogEntry kCatalogEntries[] = {',
    ...entryLines,
    '};',
    '// clang-format on',
    '',
  ].join('\n');
}

const text = generate(await waitForUpdate());
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(output, 'utf8');
  } catch {
    current = '';
  }
  if (current !== text) {
    console.error(`${output} differs from a fresh generation from ${pkg.name} ${pkg.version}: run scripts/gen-prices.sh`);
    process.exit(1);
  }
  console.log(`catalog up to date (${pkg.name} ${pkg.version})`);
} else {
  writeFileSync(output, text);
  console.log(`wrote ${output} (${pkg.name} ${pkg.version})`);
}
