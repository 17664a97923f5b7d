#!/usr/bin/env node
// Fails when docs/configuration.md and the configuration loader disagree on the fields that
// exist: it lists every field the loader accepts (`sluice fields`) that the page does not
// document, and every field the page documents that the loader does not accept.
//
//   node scripts/check-doc-fields.mjs BUILD/bin/sluice docs/configuration.md
//
// Conventions of the page (HTML comments, invisible when rendered):
//   <!-- fields: KINDS [BASE] -->
//     Comes before each table whose first column is "Field" (a Field table without one is an
//     error). KINDS: comma-separated resource kinds the table is about; BASE: the path its
//     Field cells are relative to (none: the resource's top level). Each backticked path in a
//     Field cell is one documented field; {a,b} alternatives expand (in BASE too) and a
//     trailing [] (a list's entries) is dropped.
//   <!-- fields-alias: KIND FROM TO -->
//     The fields under FROM are those documented under TO (a priority-group provider has the
//     fields of ai.llm): an accepted FROM.x counts as TO.x when the loader accepts TO.x.
// An accepted field counts as documented when it, or a field inside it, is documented (a
// section is documented by its fields).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [sluice, page] = process.argv.slice(2);
if (!sluice || !page) {
  console.error('usage: check-doc-fields.mjs SLUICE_BINARY CONFIGURATION_MD');
  process.exit(2);
}

function expand(text) {
  const m = /\{([^{}]*)\}/.exec(text);
  if (!m) return [text];
  return m[1].split(',').flatMap((alt) => expand(text.slice(0, m.index) + alt.trim() + text.slice(m.index + m[0].length)));
}

const join = (base, path) => (base ? `${base}.${path}` : path);

const problems = [];
const documented = new Set();
const aliases = [];
const lines = readFileSync(page, 'utf8').split('\n');
let marker = null;
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  let m = /^<!--\s*fields:\s*(\S+)(?:\s+(\S+))?\s*-->\s*$/.exec(line);
  if (m) {
    marker = { kinds: m[1].split(','), bases: m[2] ? expand(m[2]) : [''], line: i + 1 };
    continue;
  }
  m = /^<!--\s*fields-alias:\s*(\S+)\s+(\S+)\s+(\S+)\s*-->\s*$/.exec(line);
  if (m) {
    aliases.push({ from: `${m[1]}.${m[2]}`, to: `${m[1]}.${m[3]}` });
    continue;
  }
  if (!/^\|\s*Field\s*\|/.test(line)) continue;
  if (!marker) {
    problems.push(`${page}:${i + 1}: a Field table without a <!-- fields: KINDS [BASE] --> line before it`);
    continue;
  }
  for (i += 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const cell = lines[i].split('|')[1];
    const paths = [...cell.matchAll(/`([^`]+)`/g)].map((x) => x[1]);
    if (paths.length === 0) problems.push(`${page}:${i + 1}: no backticked field path in the Field cell`);
    for (const path of paths.flatMap(expand))
      for (const kind of marker.kinds)
        for (const base of marker.bases) documented.add(join(kind, join(base, path.replace(/\[\]$/, ''))));
  }
  marker = null;
}
if (marker) problems.push(`${page}:${marker.line}: a fields line with no Field table after it`);

const raw = execFileSync(sluice, ['fields'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const rawSet = new Set(raw);
const accepted = new Set(
  raw.map((field) => {
    for (const { from, to } of aliases) {
      if (field.startsWith(from + '.') || field.startsWith(from + '[')) {
        const counterpart = to + field.slice(from.length);
        if (rawSet.has(counterpart)) return counterpart;
      }
    }
    return field;
  }),
);

const inside = (field) => {
  for (const d of documented) if (d.startsWith(field + '.') || d.startsWith(field + '[')) return true;
  return false;
};
const undocumented = [...accepted].filter((f) => !documented.has(f) && !inside(f)).sort();
const unknown = [...documented].filter((f) => !accepted.has(f)).sort();

for (const f of undocumented) problems.push(`accepted by the loader, not documented in ${page}: ${f}`);
for (const f of unknown) problems.push(`documented in ${page}, not accepted by the loader: ${f}`);
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check-doc-fields: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-doc-fields: ${accepted.size} fields, all documented in ${page}`);
