// Snapshots for tests, built the one way the router builds them: YAML text through the public
// loader. A test states a compact config object in YAML form ("2s", not 2000; `match.pathPrefix`,
// not a compiled route), so its snapshot has every default, check and normalisation of a real
// one, and a config the router would refuse fails the test loudly instead of testing nonsense.
import { stringify } from 'yaml';
import { formatConfigError, loadConfigText } from '../../src/config/load.js';
import type { Snapshot } from '../../src/types.js';

/** A config as a YAML file would hold it. */
export type ConfigInput = Readonly<Record<string, unknown>>;

/** The loaded snapshot of `config`; throws with every error (file:line:col key: message) and the YAML if it is invalid. */
export function snapshotOf(config: ConfigInput): Snapshot {
  const text = stringify(config);
  const r = loadConfigText(text, '/test/meridian.yaml', {});
  if (!r.ok) throw new Error(`test config does not load:\n${r.errors.map(formatConfigError).join('\n')}\n--- YAML ---\n${text}`);
  return r.snapshot;
}

/** The three regions most routing tests use: us-east (pinned for US and CA), eu-west, ap-southeast. */
export const THREE_REGIONS: readonly ConfigInput[] = [
  { name: 'us-east', location: { lat: 39.04, lon: -77.49 }, endpoints: ['http://127.0.0.1:9001'], countries: ['US', 'CA'] },
  { name: 'eu-west', location: { lat: 53.35, lon: -6.26 }, endpoints: ['http://127.0.0.1:9002'] },
  { name: 'ap-southeast', location: { lat: 1.35, lon: 103.82 }, endpoints: ['http://127.0.0.1:9003'] },
];

/**
 * A routing test's snapshot: the three regions, writes to us-east then eu-west, and `extra` keys
 * on top: keys of `extra.writes` go over the default writes, any other key replaces the default.
 */
export function threeRegions(extra: ConfigInput = {}): Snapshot {
  const { writes, ...rest } = extra;
  return snapshotOf({
    regions: THREE_REGIONS,
    ...rest,
    writes: { regions: ['us-east', 'eu-west'], ...(writes as ConfigInput | undefined) },
  });
}
