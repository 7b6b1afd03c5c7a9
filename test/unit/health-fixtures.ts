// Snapshots for the health tests, loaded from config like every other (test/helpers/config.ts), and
// the health settings they start from: the schema's defaults (interval 2s, thresholds 3 down / 2 up,
// failback 10s, damping penalty 1000 / half-life 30s / suppress 2500 / reuse 750 / max 6000, passive
// 5 failures / 10s / ×10 cap / 50%).
import type { DampingConfig, HealthConfig, PassiveConfig, Snapshot } from '../../src/types.js';
import type { HealthEvents } from '../../src/health/events.js';
import { snapshotOf, type ConfigInput } from '../helpers/config.js';

export interface SnapOpts {
  /** Region name → endpoint URLs. */
  regions?: Record<string, string[]>;
  /** `health`, `passive` and `writes` keys in YAML form (`interval: 50ms`); writes go over the default. */
  health?: ConfigInput;
  passive?: ConfigInput;
  writes?: ConfigInput;
}

/** Default: us-east (2 endpoints), eu-west, ap-southeast (1 each); writes to us-east, then eu-west. */
export function snapshot(o: SnapOpts = {}): Snapshot {
  const regionsIn = o.regions ?? {
    'us-east': ['http://us1.test', 'http://us2.test'],
    'eu-west': ['http://eu1.test'],
    'ap-southeast': ['http://ap1.test'],
  };
  const regions = Object.entries(regionsIn).map(([name, endpoints], index) => ({ name, location: { lat: 0, lon: index * 10 }, endpoints }));
  return snapshotOf({
    regions,
    health: o.health ?? {},
    passive: o.passive ?? {},
    writes: { regions: ['us-east', 'eu-west'], ...o.writes },
    affinity: { userKey: { header: null, cookie: null }, homeRegion: { header: null, cookie: null } },
  });
}

const defaults = snapshot();
export const HEALTH: HealthConfig = defaults.health;
export const DAMPING: DampingConfig = defaults.health.damping;
export const PASSIVE: PassiveConfig = defaults.passive;

export type Recorded = { type: string; e: Record<string, unknown> };

/** HealthEvents that records every call in order. */
export function recorder(): HealthEvents & { log: Recorded[]; of(type: string): Record<string, unknown>[] } {
  const log: Recorded[] = [];
  const rec =
    (type: string) =>
    (e: object): void => {
      log.push({ type, e: e as Record<string, unknown> });
    };
  return {
    log,
    of: (type) => log.filter((x) => x.type === type).map((x) => x.e),
    probe: rec('probe'),
    endpointTransition: rec('endpointTransition'),
    regionTransition: rec('regionTransition'),
    ejected: rec('ejected'),
    ejectionRefused: rec('ejectionRefused'),
    lag: rec('lag'),
    writeRegionChanged: rec('writeRegionChanged'),
    suppression: rec('suppression'),
    drain: rec('drain'),
    localError: rec('localError'),
  };
}
