// YAML anchors and aliases in a config: an alias is checked as the node it names; one that names no
// anchor before it (including its own enclosing node) is an error at the alias; and the expansion of
// all aliases together is capped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConfigError, loadConfigText } from '../../src/config/load.js';
import { MAX_ALIAS_EXPANSION } from '../../src/config/yaml-source.js';

const REGION = `regions:
  - name: us-east
    location: { lat: 39.04, lon: -77.49 }
    endpoints: &eps [http://127.0.0.1:9001]
`;

function errors(text: string): string[] {
  const r = loadConfigText(text, 'c.yaml', {});
  return r.ok ? [] : r.errors.map(formatConfigError);
}

test('an alias stands for the node its anchor names', () => {
  const r = loadConfigText(
    `${REGION}  - name: eu-west\n    location: { lat: 53.35, lon: -6.26 }\n    endpoints: [http://127.0.0.1:9002]\n    countries: &c [DE]\nresidency: [{ name: gdpr, countries: *c, regions: [eu-west] }]\n`,
    'c.yaml',
    {},
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  assert.deepEqual([...r.snapshot.residency[0]!.countries], ['DE']);
});

test('an alias with no anchor before it is an error at the alias', () => {
  assert.deepEqual(errors(`${REGION}clientIp: { trustedProxies: *nope }\n`), ['c.yaml:5:29: alias *nope names no anchor &nope before it']);
});

test('an alias inside the node its anchor names (a cycle) is refused, not followed', () => {
  const e = errors(`${REGION}clientIp: { trustedProxies: &t [10.0.0.0/8, *t] }\n`);
  assert.ok(
    e.some((x) => x === 'c.yaml:5:45: alias *t names no anchor &t before it'),
    e.join('\n'),
  );
});

test('aliases may expand to the cap, and no further', () => {
  // One anchor of 1,000 nodes (a list of 999 scalars), aliased n times in a list the schema ignores.
  const big = `&big [${Array.from({ length: 999 }, () => '1').join(', ')}]`;
  const withAliases = (n: number): string =>
    `${REGION}routes:\n  - name: a\n    match: { pathPrefix: / }\n    x: [${big}, ${Array.from({ length: n }, () => '*big').join(', ')}]\n`;
  const under = errors(withAliases(MAX_ALIAS_EXPANSION / 1000));
  assert.ok(!under.some((e) => e.includes('aliases expand')), under.join('\n'));
  const over = errors(withAliases(MAX_ALIAS_EXPANSION / 1000 + 1));
  assert.ok(
    over.some((e) => e.includes(`aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes`)),
    over.join('\n'),
  );
});
