// The README's "Errors" table and the catalogue in src/errors.ts are the same list: every code with
// its status in both, nothing in one that is missing from the other, no code twice.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS, ErrorAnswer, errorBody, errorData, isErrorData } from '../../src/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The rows of the table under "## Errors" (and only that section) as [code, status]. */
function readmeRows(): [string, number][] {
  const start = readme.indexOf('\n## Errors\n');
  assert.ok(start >= 0, 'README has an "## Errors" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\|\s*`([^`]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])]);
}

test('the README errors table lists exactly the catalogue, with the same statuses', () => {
  const rows = readmeRows();
  const documented = new Map(rows);
  assert.equal(documented.size, rows.length, `a code appears twice in the README table: ${rows.map((r) => r[0]).join(', ')}`);
  for (const [code, def] of Object.entries(ERRORS)) {
    assert.equal(documented.get(code), def.status, `README row for ${code}: want status ${def.status}`);
  }
  for (const [code, status] of rows) {
    assert.ok(Object.hasOwn(ERRORS, code), `README documents ${code}, which the catalogue lacks`);
    assert.equal(ERRORS[code as keyof typeof ERRORS].status, status, `catalogue status of ${code}`);
  }
});

test('the README parser sees every row of the table', () => {
  // Guards the parser above: it must see every row of the real table, not an empty match.
  assert.equal(readmeRows().length, Object.keys(ERRORS).length);
  assert.ok(readmeRows().some(([code]) => code === 'upstream_timeout'));
});

test('error bodies are short JSON with the code and a message', () => {
  assert.deepEqual(JSON.parse(errorBody('upstream_timeout')), { error: 'upstream_timeout', message: ERRORS.upstream_timeout.message });
  assert.deepEqual(JSON.parse(errorBody('residency', 'x', { rule: 'gdpr' })), { error: 'residency', message: 'x', rule: 'gdpr' });
});

test('error data survives JSON (the cluster IPC channel) and is told apart from other answers', () => {
  const d = JSON.parse(JSON.stringify(errorData('not_ready'))) as unknown;
  assert.ok(isErrorData(d));
  assert.deepEqual(d, { error: 'not_ready', message: ERRORS.not_ready.message });
  assert.equal(isErrorData({ error: 'no_such_code', message: 'x' }), false, 'only catalogue codes');
  assert.equal(isErrorData({ request: {}, region: 'eu-west' }), false, 'an explain answer is not an error');
  assert.equal(isErrorData(null), false);
});

test('an ErrorAnswer carries its code and the catalogue message unless given one', () => {
  assert.deepEqual([new ErrorAnswer('no_worker').code, new ErrorAnswer('no_worker').message], ['no_worker', ERRORS.no_worker.message]);
  assert.equal(new ErrorAnswer('internal', 'boom').message, 'boom');
});
