import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS, errorBody } from '../../src/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('every error code is documented in the README errors table with its status', () => {
  for (const [code, def] of Object.entries(ERRORS)) {
    const row = new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${def.status}\\s*\\|`, 'm');
    assert.match(readme, row, `README lacks a row for ${code} (${def.status})`);
  }
});

test('the README documents no error code the catalogue lacks', () => {
  const rows = [...readme.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*\d{3}\s*\|/gm)].map((m) => m[1]!);
  assert.ok(rows.length >= Object.keys(ERRORS).length);
  for (const code of rows) assert.ok(code in ERRORS, `README documents unknown code ${code}`);
});

test('error bodies are short JSON with the code and a message', () => {
  assert.deepEqual(JSON.parse(errorBody('upstream_timeout')), { error: 'upstream_timeout', message: ERRORS.upstream_timeout.message });
  assert.deepEqual(JSON.parse(errorBody('residency', 'x', { rule: 'gdpr' })), { error: 'residency', message: 'x', rule: 'gdpr' });
});
