// Hand-built Snapshot objects for unit tests of identity/ and routing/. Independent of src/config
// on purpose: these tests pin routing behaviour, not the YAML loader.
import type { HealthView, Mode, RegionSpec, ResidencyRule, RouteSpec, Selector, Snapshot, WritesConfig } from '../../src/types.js';

export const MODE_SELECTORS: Readonly<Record<Mode, { reads: Selector; writes: Selector }>> = {
  'active-active': { reads: 'nearest', writes: 'nearest' },
  home: { reads: 'home', writes: 'home' },
  'read-local-write-global': { reads: 'nearest', writes: 'primary' },
  'active-passive': { reads: 'primary', writes: 'primary' },
};

export interface RegionInput {
  name: string;
  lat: number;
  lon: number;
  countries?: string[];
  endpoints?: string[];
}

/** The three regions of SPEC §6 (us-east pinned for US and CA). */
export const SPEC_REGIONS: readonly RegionInput[] = [
  { name: 'us-east', lat: 39.04, lon: -77.49, countries: ['US', 'CA'] },
  { name: 'eu-west', lat: 53.35, lon: -6.26 },
  { name: 'ap-southeast', lat: 1.35, lon: 103.82 },
];

export function regionSpec(r: RegionInput, index: number): RegionSpec {
  return Object.freeze({
    name: r.name,
    index,
    lat: r.lat,
    lon: r.lon,
    endpoints: Object.freeze(r.endpoints ?? [`http://127.0.0.1:${9001 + index}`]),
    countries: new Set((r.countries ?? []).map((c) => c.toUpperCase())),
  });
}

export interface RouteInput {
  name?: string;
  pathPrefix?: string;
  mode?: Mode;
  reads?: Selector;
  writes?: Selector;
  methods?: string[];
  host?: string;
  readYourWritesMs?: number;
}

export function route(r: RouteInput = {}): RouteSpec {
  const mode = r.mode ?? (r.reads === undefined && r.writes === undefined ? 'active-active' : null);
  const sel = mode !== null ? MODE_SELECTORS[mode] : { reads: r.reads ?? 'nearest', writes: r.writes ?? 'nearest' };
  return Object.freeze({
    name: r.name ?? 'default',
    pathPrefix: r.pathPrefix ?? '/',
    methods: r.methods !== undefined ? new Set(r.methods.map((m) => m.toUpperCase())) : null,
    host: r.host ?? null,
    reads: r.reads ?? sel.reads,
    writes: r.writes ?? sel.writes,
    mode: r.reads !== undefined || r.writes !== undefined ? null : mode,
    readYourWritesMs: r.readYourWritesMs ?? 0,
  });
}

export function residencyRule(name: string, countries: string[], regions: string[], homeRegions: string[] = []): ResidencyRule {
  return Object.freeze({
    name,
    countries: new Set(countries),
    homeRegions: new Set(homeRegions),
    regions: new Set(regions),
  });
}

export interface SnapshotInput {
  regions?: readonly RegionInput[];
  routes?: RouteSpec[];
  residency?: ResidencyRule[];
  writes?: Partial<WritesConfig>;
  allDown?: 'reject' | 'try';
  unknownLocation?: string;
  trustedProxies?: string[];
  userKey?: { header?: string | null; cookie?: string | null };
  homeRegion?: { header?: string | null; cookie?: string | null };
  markCookie?: string;
  secret?: string | null;
}

export function makeSnapshot(s: SnapshotInput = {}): Snapshot {
  const regions = (s.regions ?? SPEC_REGIONS).map(regionSpec);
  const first = regions[0]?.name ?? 'us-east';
  return Object.freeze({
    file: '/test/meridian.yaml',
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: null },
    trustedProxies: Object.freeze(s.trustedProxies ?? ['127.0.0.1/32']),
    regions: Object.freeze(regions),
    regionByName: new Map(regions.map((r) => [r.name, r] as const)),
    health: {
      path: '/health',
      intervalMs: 2000,
      timeoutMs: 1000,
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      failbackDelayMs: 10_000,
      slowStartMs: 0,
      lagHeader: null,
      expectedStatuses: new Set([200]),
      jitterMs: 200,
      damping: { penalty: 1000, halfLifeMs: 60_000, suppressLimit: 2000, reuseLimit: 750, maxPenalty: 8000 },
    },
    passive: { consecutiveFailures: 5, ejectForMs: 10_000, maxEjectMultiplier: 8, maxEjectedShare: 0.5 },
    affinity: {
      userKey: { header: 'x-user-id', cookie: 'uid', ...s.userKey },
      homeRegion: { header: 'x-home-region', cookie: null, ...s.homeRegion },
    },
    residency: Object.freeze(s.residency ?? []),
    writes: {
      regions: s.writes?.regions ?? ['us-east', 'eu-west'],
      failover: s.writes?.failover ?? 'automatic',
      failback: s.writes?.failback ?? 'automatic',
      maxLagMs: s.writes?.maxLagMs ?? 5000,
      allowUnknownLag: s.writes?.allowUnknownLag ?? false,
    },
    retry: {
      attempts: 2,
      onConnect: true,
      onTimeout: true,
      onStatuses: new Set([502, 503, 504]),
      budget: 0.2,
      budgetMinPerWindow: 10,
      budgetWindowMs: 10_000,
      maxBufferBytes: 1 << 20,
    },
    allDown: s.allDown ?? 'reject',
    unknownLocation: s.unknownLocation ?? first,
    timeouts: { connectMs: 2000, requestMs: 30_000 },
    routes: Object.freeze(s.routes ?? [route()]),
    readYourWrites: { secret: s.secret ?? null, cookie: s.markCookie ?? 'meridian_w' },
    responseHeaders: true,
    shutdownGraceMs: 10_000,
    workers: 1,
  });
}

export interface HealthInput {
  /** Unavailable regions (everything else is available). */
  down?: string[];
  weights?: Record<string, number>;
  /** Replication lag in ms per region; missing = never reported. */
  lag?: Record<string, number>;
  writeRegion?: string | null;
}

/** A fixed HealthView. */
export function healthView(h: HealthInput = {}): HealthView {
  const down = new Set(h.down ?? []);
  return {
    isAvailable: (r) => !down.has(r),
    weight: (r) => h.weights?.[r] ?? 1,
    lagMs: (r) => h.lag?.[r] ?? null,
    writeRegion: h.writeRegion === undefined ? 'us-east' : h.writeRegion,
    availableEndpoints: () => [],
  };
}
