// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every
// sample must belong to a family announced by a # TYPE line before it (histogram samples by
// their _bucket, _sum and _count suffixes), names and label names must be valid, label values
// properly escaped, no series may repeat, and a histogram's buckets must be cumulative, end with
// le="+Inf" and agree with its _count. Throws an Error naming the line on any violation.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLabels(text, lineNo) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${lineNo}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`line ${lineNo}: invalid label name ${JSON.stringify(name)}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${lineNo}: label value not quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < text.length && text[j] !== '"'; ++j) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${lineNo}: invalid escape \\${next}`);
      } else if (text[j] === '\n') {
        throw new Error(`line ${lineNo}: raw newline in a label value`);
      } else {
        value += text[j];
      }
    }
    if (j >= text.length) throw new Error(`line ${lineNo}: unterminated label value`);
    if (name in labels) throw new Error(`line ${lineNo}: label ${name} repeated`);
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') throw new Error(`line ${lineNo}: expected ',' between labels`);
      ++i;
    }
  }
  return labels;
}

function parseValue(text, lineNo) {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)$/.test(text))
    throw new Error(`line ${lineNo}: invalid value ${JSON.stringify(text)}`);
  return Number(text);
}

// Returns Map(family name -> {type, help, samples: [{name, labels, value}]}).
export function parsePrometheus(body) {
  const families = new Map();
  const seen = new Set();
  const lines = body.split('\n');
  if (lines.at(-1) !== '') throw new Error('the text does not end with a newline');
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return;
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`line ${lineNo}: invalid metric name ${name}`);
      const family = families.get(name) ?? { type: undefined, help: undefined, samples: [] };
      if (kind === 'TYPE') {
        if (family.type) throw new Error(`line ${lineNo}: second TYPE for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`line ${lineNo}: unknown type ${rest}`);
        if (family.samples.length) throw new Error(`line ${lineNo}: TYPE after samples of ${name}`);
        family.type = rest;
      } else {
        if (family.help !== undefined) throw new Error(`line ${lineNo}: second HELP for ${name}`);
        family.help = rest;
      }
      families.set(name, family);
      return;
    }
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`line ${lineNo}: not a sample: ${line}`);
    const [, name, labelText = '', valueText] = m;
    if (!NAME.test(name)) throw new Error(`line ${lineNo}: invalid metric name ${name}`);
    const labels = parseLabels(labelText, lineNo);
    const value = parseValue(valueText, lineNo);
    let family = families.get(name);
    if (!family?.type) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const histogram = families.get(base);
      if (base !== name && histogram?.type === 'histogram') family = histogram;
      else throw new Error(`line ${lineNo}: sample ${name} of no announced family`);
    }
    if (family.type === 'histogram' && !/_(bucket|sum|count)$/.test(name))
      throw new Error(`line ${lineNo}: histogram sample without a suffix: ${name}`);
    if (name.endsWith('_bucket') && family.type === 'histogram' && !('le' in labels))
      throw new Error(`line ${lineNo}: bucket without le`);
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (seen.has(key)) throw new Error(`line ${lineNo}: series repeated: ${key}`);
    seen.add(key);
    family.samples.push({ name, labels, value });
  });
  for (const [name, family] of families) {
    if (family.type !== 'histogram') continue;
    for (const h of histograms(families, name)) {
      let previous = -1;
      for (const [le, count] of h.buckets) {
        if (count < previous) throw new Error(`${name}: buckets not cumulative at le=${le}`);
        previous = count;
      }
      if (h.buckets.at(-1)?.[0] !== Infinity) throw new Error(`${name}: no le="+Inf" bucket`);
      if (h.buckets.at(-1)[1] !== h.count) throw new Error(`${name}: +Inf bucket ${h.buckets.at(-1)[1]} != count ${h.count}`);
    }
  }
  return families;
}

const labelKey = (labels) =>
  JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== 'le')
      .sort(),
  );

// The histograms of family `name`: [{labels (without le), buckets: [[le, cumulative]], sum, count}].
export function histograms(families, name) {
  const family = families.get(name);
  if (!family || family.type !== 'histogram') return [];
  const by = new Map();
  for (const s of family.samples) {
    const key = labelKey(s.labels);
    const h = by.get(key) ?? { labels: Object.fromEntries(JSON.parse(key)), buckets: [], sum: NaN, count: NaN };
    if (s.name.endsWith('_bucket')) h.buckets.push([s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value]);
    else if (s.name.endsWith('_sum')) h.sum = s.value;
    else h.count = s.value;
    by.set(key, h);
  }
  for (const h of by.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return [...by.values()];
}

// The one histogram of family `name` whose labels (without le) are exactly `labels`; throws,
// listing the family's label sets, when there is none or more than one.
export function exactHistogram(families, name, labels) {
  const found = histograms(families, name).filter(
    (h) =>
      Object.entries(labels).every(([k, v]) => h.labels[k] === v) &&
      Object.keys(h.labels).length === Object.keys(labels).length,
  );
  if (found.length !== 1)
    throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series match among ${JSON.stringify(histograms(families, name).map((h) => h.labels))}`);
  return found[0];
}

// The samples of family `name` whose labels include every pair of `match`.
export function samples(families, name, match = {}) {
  const family = families.get(name);
  if (!family) return [];
  return family.samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
