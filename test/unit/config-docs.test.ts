// config/reference.md must document exactly the keys of the config schema, with the defaults the
// schema states: the doc is generated, so it cannot silently drift. Regenerate with:
//   npm run docs:config
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BEGIN_MARKER, defaultText, END_MARKER, renderReference, schemaEntries, spliceReference } from '../../src/config/reference.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = readFileSync(`${ROOT}config/reference.md`, 'utf8');

/** Everything wrong with a reference document, as messages (empty = consistent with the schema). */
function docProblems(doc: string): string[] {
  const problems: string[] = [];
  const rows = new Map<string, string>();
  const generated = doc.slice(doc.indexOf(BEGIN_MARKER), doc.indexOf(END_MARKER));
  for (const line of generated.split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)$/.exec(line);
    if (m?.[1] !== undefined) rows.set(m[1], m[2] ?? '');
  }
  const paths = new Set<string>();
  for (const { path, field } of schemaEntries()) {
    paths.add(path);
    const row = rows.get(path);
    if (row === undefined) problems.push(`${path}: not documented`);
    else if (
      !row
        .split(' | ')
        .map((c) => c.trim())
        .includes(defaultText(field).replace(/\|/g, '\\|'))
    ) {
      problems.push(`${path}: documented default differs from the schema (${defaultText(field)})`);
    }
  }
  // Any key path the prose or the tables mention must exist in the schema.
  for (const m of doc.matchAll(/`([A-Za-z]+(?:\[\])?(?:\.[A-Za-z]+(?:\[\])?)+)`/g)) {
    const token = m[1] ?? '';
    if (/\.(ya?ml|md|ts|js)$/.test(token)) continue;
    if (!paths.has(token)) problems.push(`${token}: named in the doc but not in the schema`);
  }
  for (const path of rows.keys()) if (!paths.has(path)) problems.push(`${path}: documented but not in the schema`);
  if (spliceReference(doc) !== doc) problems.push('generated key tables are stale');
  return problems;
}

test('config/reference.md matches the schema', () => {
  assert.deepEqual(docProblems(DOC), []);
});

test('the committed doc holds the exact rendered tables', () => {
  assert.ok(DOC.includes(renderReference()));
});

test('the doc check catches drift (a check that cannot fail is worthless)', () => {
  const dropped = DOC.replace(/^\| `health\.jitter` \|.*\n/m, '');
  assert.ok(docProblems(dropped).includes('health.jitter: not documented'));
  const wrongDefault = DOC.replace('| `health.interval` | duration > 0 | `2s` |', '| `health.interval` | duration > 0 | `3s` |');
  assert.notEqual(wrongDefault, DOC);
  assert.ok(docProblems(wrongDefault).some((p) => p.startsWith('health.interval: documented default differs')));
  const ghost = DOC.replace('## Modes', 'See `health.probeCount`.\n\n## Modes');
  assert.ok(docProblems(ghost).includes('health.probeCount: named in the doc but not in the schema'));
});

test('every schema key has a meaning', () => {
  for (const { path, field } of schemaEntries()) assert.ok(field.doc.trim().length > 10, `${path} lacks a doc line`);
});
