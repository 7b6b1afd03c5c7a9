// Property-based fuzzing of the config loader: whatever the text, `loadConfigText` returns either a
// snapshot or errors that each carry a position and a message — it never throws and never hangs.
// Inputs: arbitrary YAML documents (random trees stringified, random scalars and YAML syntax
// fragments) and mutations of the shipped example configs (lines dropped, duplicated, swapped,
// characters flipped, values replaced). `npm test` runs a bounded number of cases;
// `npm run fuzz` runs many more (FUZZ_RUNS).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import { REPO_ROOT } from '../helpers/router-process.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200);
const EXAMPLES = ['config/meridian.yaml', 'config/demo.yaml'].map((f) => readFileSync(join(REPO_ROOT, f), 'utf8'));
const ENV = { MERIDIAN_ADMIN_TOKEN: 'x', MERIDIAN_RYW_SECRET: 'y'.repeat(32) };

/** One load, checked for the loader's contract; the time bound only catches a hang or a blow-up. */
function loadChecked(text: string): LoadResult {
  const started = performance.now();
  let r: LoadResult;
  try {
    r = loadConfigText(text, 'fuzz.yaml', ENV);
  } catch (err) {
    assert.fail(`loadConfigText threw ${(err as Error).stack ?? String(err)}\n--- input ---\n${text}`);
  }
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `loading took ${ms.toFixed(0)} ms\n--- input ---\n${text.slice(0, 2000)}`);
  if (!r.ok) {
    assert.ok(r.errors.length > 0, 'a failed load reports at least one error');
    const lines = text.split('\n').length;
    for (const e of r.errors) {
      assert.equal(e.file, 'fuzz.yaml');
      assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines + 1, `line ${e.line} of ${lines}`);
      assert.ok(Number.isInteger(e.col) && e.col >= 1, `col ${e.col}`);
      assert.ok(typeof e.message === 'string' && e.message.length > 0, 'a message');
    }
  }
  return r;
}

// ---- arbitrary YAML ---------------------------------------------------------------------------

const KEYS = [
  'listen',
  'admin',
  'regions',
  'name',
  'location',
  'lat',
  'lon',
  'endpoints',
  'routes',
  'match',
  'pathPrefix',
  'mode',
  'writes',
  'health',
  'interval',
  'retry',
  'on',
  'residency',
  'countries',
  'timeouts',
  'request',
  'workers',
  'x',
  '<<',
  '',
];
const SCALARS = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '2s',
    '500ms',
    '0s',
    '25h',
    '1e9h',
    '${HOME}',
    '${NOPE}',
    '$${X}',
    '${',
    'us-east',
    'http://127.0.0.1:1',
    '0.0.0.0:0',
    '[::1]:80',
    '10.0.0.0/8',
    '::/0',
    'EU',
    'GET',
    'active-active',
    'auto',
    '~',
    'null',
    'true',
    '-1',
    'NaN',
    '.inf',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const TREE = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, SCALARS, tie('list'), tie('map')),
  list: fc.array(tie('node'), { maxLength: 5 }),
  map: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), tie('node'), { maxKeys: 6 }),
})).map;
const FRAGMENTS = fc.constantFrom(
  '&a ',
  '*a',
  '*b',
  '!!binary ',
  '!tag ',
  '? ',
  '- ',
  ': ',
  '{',
  '}',
  '[',
  ']',
  '|\n',
  '>-\n',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '#',
  '"',
  "'",
  '\t',
  '\n  ',
  '\u0000',
  '\uFEFF',
  '<<: *a\n',
);

test('arbitrary YAML trees: a config or positioned errors, never an exception or a hang', () => {
  fc.assert(
    fc.property(TREE, (tree) => void loadChecked(stringify(tree))),
    { numRuns: RUNS },
  );
});

test('arbitrary text with YAML syntax fragments: a config or positioned errors', () => {
  const text = fc
    .array(fc.oneof(FRAGMENTS, fc.string({ maxLength: 12 }), fc.constantFrom(...KEYS)), { maxLength: 40 })
    .map((a) => a.join(''));
  fc.assert(
    fc.property(text, (t) => void loadChecked(t)),
    { numRuns: RUNS },
  );
});

// ---- mutations of the example configs ---------------------------------------------------------

type Mutation = (lines: string[]) => string[];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map(
    (i): Mutation =>
      (l) =>
        l.filter((_, j) => j !== i % l.length),
  ),
  fc.nat().map((i): Mutation => (l) => [...l.slice(0, (i % l.length) + 1), ...l.slice(i % l.length)]),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (l) => {
    const out = [...l];
    const x = a % l.length;
    const y = b % l.length;
    [out[x], out[y]] = [out[y]!, out[x]!];
    return out;
  }),
  fc.tuple(fc.nat(), fc.nat(), fc.oneof(FRAGMENTS, fc.string({ maxLength: 4 }))).map(([i, c, s]): Mutation => (l) => {
    const out = [...l];
    const line = out[i % l.length]!;
    const at = c % (line.length + 1);
    out[i % l.length] = line.slice(0, at) + s + line.slice(at + 1);
    return out;
  }),
  fc.tuple(fc.nat(), SCALARS).map(([i, v]): Mutation => (l) => {
    const out = [...l];
    const k = i % l.length;
    out[k] = out[k]!.replace(/:\s.*$/, `: ${JSON.stringify(v)}`);
    return out;
  }),
);

test('mutated example configs: a config or positioned errors, never an exception or a hang', () => {
  const arb = fc.tuple(fc.constantFrom(...EXAMPLES), fc.array(mutation, { minLength: 1, maxLength: 4 }));
  fc.assert(
    fc.property(arb, ([text, muts]) => {
      let lines = text.split('\n');
      for (const m of muts) lines = m(lines);
      loadChecked(lines.join('\n'));
    }),
    { numRuns: RUNS },
  );
});

test('the unmutated examples load (the mutations start from valid configs)', () => {
  for (const text of EXAMPLES) assert.equal(loadChecked(text).ok, true);
});
