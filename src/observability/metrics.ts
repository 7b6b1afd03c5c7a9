import { readFileSync } from 'node:fs';
import client from 'prom-client';
import type { Snapshot } from '../types.js';
import { LOCAL_ERROR_KINDS } from '../failure.js';
import { FastHistogram, type HistogramSeries } from './fast-histogram.js';

/** The `limit` label values of meridian_limit_hits_total, seeded at zero. */
const LIMIT_NAMES = [
  'maxConnections',
  'maxConnectionsPerIp',
  'headersTimeout',
  'bodyTimeout',
  'maxHeaderBytes',
  'maxBodyBytes',
  'tunnelIdleTimeout',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Requests by status class: index 1..5 is the hundreds digit, 0 anything outside 100..599. */
type PendingCounts = [number, number, number, number, number, number];
const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const UPSTREAM_FAILURE_KINDS = ['connect', 'timeout', 'reset', 'status', 'bad_response'] as const;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** The reason a request on a route with this read selector carries when nothing went wrong (for the 0 series). */
const USUAL_REASON = { nearest: 'nearest', home: 'home-hash', primary: 'write-primary' } as const;

/** One (route, region) pair's pending request counts and its pre-bound duration series. */
interface PendingPair {
  readonly duration: HistogramSeries;
  /** method class → reason → counts by status class. */
  readonly byClass: Map<string, Map<string, PendingCounts>>;
}

/**
 * Every metric Meridian exports (README "Metrics"), on one registry. The request path does not hash
 * label sets per request (prom-client's labels() hashes them on every call): request counts are gathered in plain numbers and handed
 * over at scrape time; the duration histogram is a FastHistogram (one Map lookup and a bucket search).
 * Node process metrics keep their standard names (process_*, nodejs_*) so stock dashboards work.
 *
 * Under `workers: N` every process has its own Metrics and the primary merges them with prom-client's
 * AggregatorRegistry.aggregate: counters, histograms and in-flight add up across workers; health
 * state gauges (set only where health lives, the primary) use `max`, so a 1 from the primary is
 * never turned into N by summing; process_* and nodejs_* follow prom-client's own aggregators
 * (resident memory, heap, handles: the sum over the process group).
 */
export class Metrics {
  readonly registry = new client.Registry();

  readonly requests = new client.Counter({
    name: 'meridian_requests_total',
    help: 'Requests answered, by route, serving region, method class (read/write), status class and decision reason',
    labelNames: ['route', 'region', 'method_class', 'status_class', 'reason'] as const,
    registers: [this.registry],
    // Counted in plain numbers on the request path and handed to prom-client when scraped (see observeRequest).
    collect: () => this.flushRequestCounts(),
  });
  readonly duration = new FastHistogram({
    name: 'meridian_request_duration_seconds',
    help: 'Time from request arrival to the end of the response, by serving region and route',
    labelNames: ['region', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  /**
   * Time from the start of an upstream attempt (socket requested) to the backend's response
   * headers: what the backend and the path to it cost, without the client's upload or the body
   * relay. Attempts that fail before headers are counted in meridian_upstream_errors_total instead.
   */
  readonly upstreamDuration = new FastHistogram({
    name: 'meridian_upstream_duration_seconds',
    help: 'Time from the start of an upstream attempt to the response headers, by region and route',
    labelNames: ['region', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly buildInfo = new client.Gauge({
    name: 'meridian_build_info',
    help: 'Always 1; the labels say which Meridian version runs on which Node.js',
    labelNames: ['version', 'node'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly writeMaxLag = new client.Gauge({
    name: 'meridian_write_max_lag_seconds',
    help: 'writes.maxLag: the replication lag above which a region may not take the global writes',
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly upstreamErrors = new client.Counter({
    name: 'meridian_upstream_errors_total',
    help: 'Failed upstream attempts by region and kind (connect, timeout, reset, status, bad_response)',
    labelNames: ['region', 'kind'] as const,
    registers: [this.registry],
  });
  readonly retries = new client.Counter({
    name: 'meridian_retries_total',
    help: 'Retries by the region that failed, the region retried on, and the failure that caused it',
    labelNames: ['from', 'to', 'reason'] as const,
    registers: [this.registry],
  });
  readonly retriesDenied = new client.Counter({
    name: 'meridian_retries_denied_total',
    help: 'Retries not made because the retry budget was spent',
    registers: [this.registry],
  });
  /**
   * Requests being served right now. The request path changes this number; the gauge reads it when
   * scraped, so a request costs two integer updates instead of two label-set hashes in prom-client.
   */
  inFlightCount = 0;
  readonly inFlight: client.Gauge = new client.Gauge({
    name: 'meridian_in_flight_requests',
    help: 'Requests being served right now',
    aggregator: 'sum',
    registers: [this.registry],
    collect: (): void => this.inFlight.set(this.inFlightCount),
  });
  readonly regionUp = new client.Gauge({
    name: 'meridian_region_up',
    help: '1 when the region may take new requests (healthy, not drained, ejected, suppressed or in failback wait)',
    labelNames: ['region'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly endpointUp = new client.Gauge({
    name: 'meridian_endpoint_up',
    help: '1 when the endpoint passes its health probes',
    labelNames: ['region', 'endpoint'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly regionDrained = new client.Gauge({
    name: 'meridian_region_drained',
    help: '1 while an operator has drained the region',
    labelNames: ['region'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly regionSuppressed = new client.Gauge({
    name: 'meridian_region_suppressed',
    help: '1 while flap damping keeps the region out of service',
    labelNames: ['region'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly regionFailbackWait = new client.Gauge({
    name: 'meridian_region_failback_wait',
    help: '1 while a recovered region waits out failbackDelay before taking traffic again',
    labelNames: ['region'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly endpointTransitions = new client.Counter({
    name: 'meridian_endpoint_transitions_total',
    help: 'Health state transitions of endpoints (up, down, ejected), by region, endpoint, from and to',
    labelNames: ['region', 'endpoint', 'from', 'to'] as const,
    registers: [this.registry],
  });
  readonly regionTransitions = new client.Counter({
    name: 'meridian_region_transitions_total',
    help: 'Health state transitions of regions, by region, from and to',
    labelNames: ['region', 'from', 'to'] as const,
    registers: [this.registry],
  });
  readonly probes = new client.Counter({
    name: 'meridian_probes_total',
    help: 'Active health probes by region, endpoint and result (pass/fail)',
    labelNames: ['region', 'endpoint', 'result'] as const,
    registers: [this.registry],
  });
  readonly probeDuration = new client.Histogram({
    name: 'meridian_probe_duration_seconds',
    help: 'Active health probe duration by region',
    labelNames: ['region'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly ejections = new client.Counter({
    name: 'meridian_ejections_total',
    help: 'Passive ejections of endpoints after consecutive live-traffic failures',
    labelNames: ['region', 'endpoint'] as const,
    registers: [this.registry],
  });
  readonly writeRegion = new client.Gauge({
    name: 'meridian_write_region',
    help: '1 for the current global write region, 0 for the other write candidates',
    labelNames: ['region'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly failovers = new client.Counter({
    name: 'meridian_write_region_changes_total',
    help: 'Changes of the global write region (failover, failback, operator), by from and to',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });
  readonly lag = new client.Gauge({
    name: 'meridian_replication_lag_seconds',
    help: 'Last replication lag reported by the region in its health response',
    labelNames: ['region'] as const,
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly localErrors = new client.Counter({
    name: 'meridian_local_errors_total',
    help: "Failures of the router's own making (out of descriptors, buffers, local ports, a full socket pool), never held against a region",
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly limitHits = new client.Counter({
    name: 'meridian_limit_hits_total',
    help: 'Client connections or requests stopped by a `limits` setting, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly reloads = new client.Counter({
    name: 'meridian_config_reloads_total',
    help: 'Config reloads by result (success/failure)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** route → region → counts not yet handed to prom-client, and the pair's duration series. */
  private readonly pending = new Map<string, Map<string, PendingPair>>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) client.collectDefaultMetrics({ register: this.registry });
    for (const kind of LOCAL_ERROR_KINDS) this.localErrors.labels(kind).inc(0);
    for (const limit of LIMIT_NAMES) this.limitHits.labels(limit).inc(0);
    this.buildInfo.labels(packageVersion(), process.version).set(1);
    this.retriesDenied.inc(0);
    for (const result of ['success', 'failure']) this.reloads.labels(result).inc(0);
  }

  /**
   * Count one answered request. A prom-client counter child hashes and validates its label set on
   * every inc(), which was most of this call's cost (docs/profile.md); here a request bumps a
   * number found by four Map lookups on strings the request already holds, and the counter gets
   * the sums when it is scraped. Scrapes and the multi-core aggregator read through
   * `registry.metrics()` / `getMetricsAsJSON()`, which call `collect` first, so they see every
   * request answered before the scrape, as before.
   */
  observeRequest(route: string, region: string, methodClass: string, status: number, reason: string, seconds: number): void {
    const pair = this.pair(route, region);
    const byClass = pair.byClass;
    let byReason = byClass.get(methodClass);
    if (byReason === undefined) byClass.set(methodClass, (byReason = new Map<string, PendingCounts>()));
    let counts = byReason.get(reason);
    if (counts === undefined) byReason.set(reason, (counts = [0, 0, 0, 0, 0, 0]));
    counts[status >= 100 && status < 600 ? (status / 100) | 0 : 0]!++;
    this.duration.observe(pair.duration, seconds);
  }

  /** One upstream attempt got its response headers `seconds` after it started. */
  observeUpstream(region: string, route: string, seconds: number): void {
    this.upstreamDuration.observe(this.upstreamDuration.labels(region, route), seconds);
  }

  private pair(route: string, region: string): PendingPair {
    let byRegion = this.pending.get(route);
    if (byRegion === undefined) this.pending.set(route, (byRegion = new Map<string, PendingPair>()));
    let pair = byRegion.get(region);
    if (pair === undefined) {
      pair = { duration: this.duration.labels(region, route), byClass: new Map<string, Map<string, PendingCounts>>() };
      byRegion.set(region, pair);
    }
    return pair;
  }

  /** Hand the request counts gathered since the last scrape to the prom-client counter. */
  private flushRequestCounts(): void {
    for (const [route, byRegion] of this.pending) {
      for (const [region, { byClass }] of byRegion) {
        for (const [methodClass, byReason] of byClass) {
          for (const [reason, counts] of byReason) {
            for (let i = 0; i < counts.length; i++) {
              const n = counts[i]!;
              if (n === 0) continue;
              this.requests.labels(route, region, methodClass, STATUS_CLASSES[i]!, reason).inc(n);
              counts[i] = 0;
            }
          }
        }
      }
    }
  }

  /**
   * Give every counter of the configured routes, regions and endpoints a 0 series, so `rate()` and
   * `increase()` see the first event of each as a change (a series born at 1 would hide it). inc(0)
   * leaves an existing series as it is, so this runs again after every reload. Also exports
   * writes.maxLag, which the lag alert compares with.
   */
  private seedCounters(snap: Snapshot): void {
    const regions = snap.regions.map((r) => r.name);
    for (const route of snap.routes) {
      for (const region of regions) this.requests.labels(route.name, region, 'read', '2xx', USUAL_REASON[route.reads]).inc(0);
    }
    for (const r of snap.regions) {
      for (const kind of UPSTREAM_FAILURE_KINDS) this.upstreamErrors.labels(r.name, kind).inc(0);
      for (const to of regions) {
        if (to !== r.name) for (const kind of UPSTREAM_FAILURE_KINDS) this.retries.labels(r.name, to, kind).inc(0);
      }
      this.regionTransitions.labels(r.name, 'available', 'unavailable').inc(0);
      for (const endpoint of r.endpoints) {
        for (const result of ['pass', 'fail']) this.probes.labels(r.name, endpoint, result).inc(0);
        this.ejections.labels(r.name, endpoint).inc(0);
        this.endpointTransitions.labels(r.name, endpoint, 'up', 'down').inc(0);
      }
    }
    for (const from of snap.writes.regions) {
      for (const to of snap.writes.regions) if (to !== from) this.failovers.labels(from, to).inc(0);
    }
    this.writeMaxLag.set(snap.writes.maxLagMs / 1000);
  }

  /** At start: every series this config should have, at 0. */
  seed(snap: Snapshot): void {
    this.seedRegions(snap.regions, snap.writes.regions);
    this.seedCounters(snap);
  }

  /** Seed per-region series at 0 so dashboards see every region before its first event. */
  private seedRegions(regions: readonly { name: string; endpoints: readonly string[] }[], writeRegions: readonly string[]): void {
    for (const r of regions) {
      this.regionDrained.labels(r.name).set(0);
      this.regionSuppressed.labels(r.name).set(0);
      this.regionFailbackWait.labels(r.name).set(0);
    }
    for (const w of writeRegions) this.writeRegion.labels(w).set(0);
  }

  /**
   * A reload from `prev` to `next`: seed only series that are new, before the health store applies
   * the snapshot (which may set them) — health state survives the reload, so must its gauges — and
   * drop the series of removed regions.
   */
  reloadRegions(prev: Snapshot, next: Snapshot): void {
    this.seedCounters(next);
    this.seedRegions(
      next.regions.filter((r) => !prev.regionByName.has(r.name)),
      next.writes.regions.filter((w) => !prev.writes.regions.includes(w)),
    );
    this.forgetRegions(
      prev.regions.filter((r) => !next.regionByName.has(r.name)).map((r) => r.name),
      prev.writes.regions.filter((w) => !next.writes.regions.includes(w)),
    );
  }

  /** A reload removed these regions: drop their state series so dashboards do not show ghosts. */
  private forgetRegions(regions: readonly string[], writeRegions: readonly string[]): void {
    for (const region of regions) {
      for (const g of [this.regionUp, this.regionDrained, this.regionSuppressed, this.regionFailbackWait, this.lag]) g.remove({ region });
    }
    for (const region of writeRegions) this.writeRegion.remove({ region });
  }
}

/** This package's version, from the package.json above this module (dist/ and the test build sit at different depths). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'meridian' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}
