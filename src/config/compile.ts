// Stage 4 of loading: a checked config (every key present, every value valid) → the runtime
// Snapshot, in the shapes the request path wants (milliseconds, Sets, selectors resolved from the
// mode), deep-frozen so nothing downstream can change a config it shares with others.
import { dirname, resolve as resolvePath } from 'node:path';
import type {
  HealthConfig,
  LimitsConfig,
  PassiveConfig,
  RegionSpec,
  ResidencyRule,
  RetryConfig,
  RouteSpec,
  Snapshot,
  WritesConfig,
} from '../types.js';
import { compileFleet } from './compile-fleet.js';
import { MODE_SELECTORS, type RawConfig } from './schema.js';

type Raw<K extends keyof RawConfig> = RawConfig[K];

/** The runtime Snapshot of a checked config, deep-frozen. `file` is the absolute path it came from. */
export function compile(raw: RawConfig, file: string): Snapshot {
  const regions: RegionSpec[] = raw.regions.map((r, index) => ({
    name: r.name,
    index,
    lat: r.location.lat,
    lon: r.location.lon,
    endpoints: r.endpoints,
    countries: new Set(r.countries),
    maxInFlight: r.maxInFlight,
  }));
  const residency: ResidencyRule[] = raw.residency.map((r) => ({
    name: r.name,
    countries: new Set(r.countries),
    homeRegions: new Set(r.homeRegions),
    regions: new Set(r.regions),
  }));
  const w = raw.writes;
  const writes: WritesConfig = {
    regions: w.regions,
    failover: w.failover,
    failback: w.failback,
    maxLagMs: w.maxLag,
    allowUnknownLag: w.allowUnknownLag,
  };
  return deepFreeze({
    file,
    listen: raw.listen,
    admin: {
      host: raw.admin.listen.host,
      port: raw.admin.listen.port,
      token: raw.admin.token,
      metrics: raw.admin.metricsListen === null ? null : { host: raw.admin.metricsListen.host, port: raw.admin.metricsListen.port },
    },
    trustedProxies: raw.clientIp.trustedProxies,
    regions,
    regionByName: new Map(regions.map((r) => [r.name, r])),
    health: compileHealth(raw.health),
    passive: compilePassive(raw.passive),
    affinity: raw.affinity,
    residency,
    writes,
    retry: compileRetry(raw.retry),
    allDown: raw.allDown,
    unknownLocation: raw.unknownLocation,
    geoip: { database: raw.geoip.database === null ? null : resolvePath(dirname(file), raw.geoip.database) },
    timeouts: { connectMs: raw.timeouts.connect, requestMs: raw.timeouts.request },
    limits: compileLimits(raw.limits),
    tls: compileTls(raw.tls, dirname(file)),
    routes: raw.routes.map(compileRoute),
    readYourWrites: raw.readYourWrites,
    responseHeaders: raw.responseHeaders,
    shutdownGraceMs: raw.shutdownGrace,
    workers: raw.workers,
    fleet: compileFleet(raw.fleet, file),
  });
}

function compileHealth(h: Raw<'health'>): HealthConfig {
  return {
    path: h.path,
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    unhealthyThreshold: h.unhealthyThreshold,
    healthyThreshold: h.healthyThreshold,
    failbackDelayMs: h.failbackDelay,
    slowStartMs: h.slowStart,
    lagHeader: h.lagHeader,
    expectedStatuses: new Set(h.expectedStatuses),
    jitterMs: h.jitter,
    damping: {
      penalty: h.damping.penalty,
      halfLifeMs: h.damping.halfLife,
      suppressLimit: h.damping.suppressLimit,
      reuseLimit: h.damping.reuseLimit,
      maxPenalty: h.damping.maxPenalty,
    },
  };
}

function compilePassive(p: Raw<'passive'>): PassiveConfig {
  return {
    consecutiveFailures: p.consecutiveFailures,
    ejectForMs: p.ejectFor,
    maxEjectMultiplier: p.maxEjectMultiplier,
    maxEjectedShare: p.maxEjectedPercent / 100,
    statuses: new Set(p.statuses),
  };
}

function compileTls(t: Raw<'tls'>, dir: string): Snapshot['tls'] {
  const pairs = t.certificates.length > 0 ? t.certificates : t.cert !== null && t.key !== null ? [{ cert: t.cert, key: t.key }] : [];
  if (pairs.length === 0) return null;
  return pairs.map((p) => ({ cert: resolvePath(dir, p.cert!), key: resolvePath(dir, p.key!) }));
}

function compileLimits(l: Raw<'limits'>): LimitsConfig {
  return {
    maxConnections: l.maxConnections,
    maxConnectionsPerIp: l.maxConnectionsPerIp,
    headersTimeoutMs: l.headersTimeout,
    bodyTimeoutMs: l.bodyTimeout,
    idleTimeoutMs: l.idleTimeout,
    maxHeaderBytes: l.maxHeaderBytes,
    maxBodyBytes: l.maxBodyBytes,
    tunnelIdleTimeoutMs: l.tunnelIdleTimeout,
    upstreamMaxSockets: l.upstreamMaxSockets,
  };
}

function compileRetry(r: Raw<'retry'>): RetryConfig {
  return {
    // YAML `attempts` counts retries; the runtime counts total tries.
    attempts: r.attempts + 1,
    onConnect: r.on.includes('connect'),
    onTimeout: r.on.includes('timeout'),
    onStatuses: new Set(r.on.filter((x): x is number => typeof x === 'number')),
    budget: r.budget,
    budgetMinPerWindow: r.budgetMinPerWindow,
    budgetWindowMs: r.budgetWindow,
    maxBufferBytes: r.maxBufferBytes,
  };
}

function compileRoute(r: Raw<'routes'>[number]): RouteSpec {
  const sel = r.mode !== null ? MODE_SELECTORS[r.mode] : { reads: r.reads ?? 'nearest', writes: r.writes ?? 'nearest' };
  return {
    name: r.name,
    pathPrefix: r.match.pathPrefix,
    methods: r.match.methods === null ? null : new Set(r.match.methods),
    host: r.match.host,
    reads: sel.reads,
    writes: sel.writes,
    mode: r.mode,
    readYourWritesMs: r.readYourWrites,
  };
}

/** Object.freeze all the way down; Sets and Maps are frozen as objects and their members walked. */
function deepFreeze<T>(value: T): T {
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) v.forEach((val, key) => (walk(key), walk(val)));
    else if (v instanceof Set) v.forEach((val) => walk(val));
    else for (const key of Reflect.ownKeys(v)) walk((v as Record<PropertyKey, unknown>)[key]);
    Object.freeze(v);
  };
  walk(value);
  return value;
}
