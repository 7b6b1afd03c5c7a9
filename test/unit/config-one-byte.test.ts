// Strings from a config file that has a character beyond Latin-1 anywhere (the annotated example
// has `—`, `→` and `≥` in its comments) must still be stored one byte per character: V8 keeps a
// substring of a two-byte text two-byte, and the request path joins and writes these strings
// (region and route names, URLs, header values) on every request. How a string is stored is read
// from v8.serialize, which tags a one-byte string '"' and a two-byte one 'c'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { oneByte } from '../../src/config/yaml-source.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // build-test/test/unit → repo root

const isTwoByte = (s: string): boolean => String.fromCharCode(serialize(s)[2] ?? 0) === 'c';
const latin1 = (s: string): boolean => !/[\u0100-\uffff]/.test(s);

/** Every string reachable from `root` (own properties, array items, Map keys and values, Set items). */
function stringsIn(root: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      out.push(v);
      return;
    }
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) return;
    if (v instanceof Map) {
      for (const [k, x] of v) {
        walk(k);
        walk(x);
      }
      return;
    }
    if (v instanceof Set) {
      for (const x of v) walk(x);
      return;
    }
    for (const k of Object.keys(v)) {
      walk(k);
      walk((v as Record<string, unknown>)[k]);
    }
  };
  walk(root);
  return out;
}

test('a long substring of a text with a character beyond Latin-1 is two-byte (what the checks below rely on)', () => {
  // Node 20 keeps every such substring two-byte; Node 24 copies short ones (under 13 characters)
  // to one-byte strings but still keeps longer ones, such as URLs, two-byte.
  const text = 'endpoints: http://127.0.0.1:9001/some/path # — a dash';
  const url = text.slice(11, 42);
  assert.equal(url, 'http://127.0.0.1:9001/some/path');
  assert.equal(isTwoByte(url), true);
  assert.equal(isTwoByte('http://127.0.0.1:9001/some/path'), false);
  assert.equal(isTwoByte(oneByte(url)), false);
  assert.equal(oneByte(url), url);
  assert.equal(oneByte('a → b'), 'a → b', 'text beyond Latin-1 is left as it is');
  assert.equal(oneByte('café'), 'café', 'Latin-1 text keeps its characters');
});

test('the annotated example config (comments with —, →, ≥): every Latin-1 string of its snapshot is one-byte', () => {
  const r = loadConfigFile(`${ROOT}config/meridian.yaml`, { MERIDIAN_RYW_SECRET: 'a-secret-of-32-characters-at-least' });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const strings = stringsIn(r.snapshot).filter(latin1);
  assert.ok(strings.includes('us-east'), 'the walk reaches the region names');
  assert.ok(strings.length > 50, `the walk reaches the snapshot's strings (${strings.length})`);
  assert.deepEqual(strings.filter(isTwoByte), []);
});

test('a value from ${VAR} substitution in such a file is one-byte too', () => {
  const text = `# — a comment beyond Latin-1
regions:
  - name: us-east
    location: { lat: 39.04, lon: -77.49 }
    endpoints: ["\${UPSTREAM}"]
`;
  const r = loadConfigText(text, 'inline.yaml', { UPSTREAM: 'http://127.0.0.1:9001' });
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const strings = stringsIn(r.snapshot).filter(latin1);
  assert.ok(
    strings.some((s) => s.startsWith('http://127.0.0.1:9001')),
    'the substituted endpoint is in the snapshot',
  );
  assert.deepEqual(strings.filter(isTwoByte), []);
});
