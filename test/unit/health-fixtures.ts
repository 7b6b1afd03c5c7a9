// Hand-built Snapshots for health tests (independent of the config loader).
import type { DampingConfig, HealthConfig, PassiveConfig, RegionSpec, Snapshot, WritesConfig } from '../../src/types.js';
import type { HealthEvents } from '../../src/health/events.js';

export const DAMPING: DampingConfig = { penalty: 1000, halfLifeMs: 30_000, suppressLimit: 2500, reuseLimit: 750, maxPenalty: 6000 };

export const HEALTH: HealthConfig = {
  path: '/health',
  intervalMs: 2000,
  timeoutMs: 1000,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  failbackDelayMs: 10_000,
  slowStartMs: 0,
  lagHeader: 'x-replication-lag',
  expectedStatuses: new Set(Array.from({ length: 100 }, (_, i) => 200 + i)),
  jitterMs: 200,
  damping: DAMPING,
};

export const PASSIVE: PassiveConfig = { consecutiveFailures: 5, ejectForMs: 10_000, maxEjectMultiplier: 10, maxEjectedShare: 0.5 };

export const WRITES: WritesConfig = {
  regions: ['us-east', 'eu-west'],
  failover: 'automatic',
  failback: 'automatic',
  maxLagMs: 5000,
  allowUnknownLag: false,
};

export interface SnapOpts {
  regions?: Record<string, string[]>;
  health?: Partial<HealthConfig>;
  passive?: Partial<PassiveConfig>;
  writes?: Partial<WritesConfig>;
}

/** Default: us-east (2 endpoints), eu-west, ap-southeast (1 each). */
export function snapshot(o: SnapOpts = {}): Snapshot {
  const regionsIn = o.regions ?? {
    'us-east': ['http://us1.test', 'http://us2.test'],
    'eu-west': ['http://eu1.test'],
    'ap-southeast': ['http://ap1.test'],
  };
  const regions: RegionSpec[] = Object.entries(regionsIn).map(([name, endpoints], index) => ({
    name,
    index,
    lat: 0,
    lon: index * 10,
    endpoints,
    countries: new Set<string>(),
  }));
  return {
    file: '/dev/null',
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: null },
    trustedProxies: [],
    regions,
    regionByName: new Map(regions.map((r) => [r.name, r])),
    health: { ...HEALTH, ...o.health },
    passive: { ...PASSIVE, ...o.passive },
    affinity: { userKey: { header: null, cookie: null }, homeRegion: { header: null, cookie: null } },
    residency: [],
    writes: { ...WRITES, ...o.writes },
    retry: {
      attempts: 2,
      onConnect: true,
      onTimeout: true,
      onStatuses: new Set([502, 503, 504]),
      budget: 0.2,
      budgetMinPerWindow: 10,
      budgetWindowMs: 10_000,
      maxBufferBytes: 65536,
    },
    allDown: 'reject',
    unknownLocation: regions[0]?.name ?? 'x',
    timeouts: { connectMs: 2000, requestMs: 30_000 },
    routes: [],
    readYourWrites: { secret: 'x', cookie: 'mrw' },
    responseHeaders: true,
    shutdownGraceMs: 1000,
    workers: 1,
  };
}

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
  };
}
