// Shared contracts between the layers of the request path (docs/architecture.md):
//   config/ compiles YAML into a frozen Snapshot; identity/ turns a request into RequestFacts;
//   routing/decide() maps (Snapshot, RequestFacts, HealthView, now) to a Decision;
//   health/ produces HealthView values; proxy/ forwards according to the Decision.
// Everything here is data: no classes, no I/O. Times are milliseconds (durations) or epoch ms.
import type { FleetConfig } from './fleet/config.js';

export type Selector = 'nearest' | 'home' | 'primary';
export type Mode = 'active-active' | 'home' | 'read-local-write-global' | 'active-passive';

/** Every reason a decision can carry; shows in the x-meridian-reason header, logs and metrics. */
export type Reason =
  | 'nearest'
  | 'country'
  | 'unknown-location'
  | 'home-hash'
  | 'home-explicit'
  | 'write-primary'
  | 'failover'
  | 'residency'
  | 'read-your-writes'
  | 'all-down'
  | 'no-route'
  /** A traffic dial kept this client out of the region it prefers. */
  | 'dialed'
  /** The preferred region had `maxInFlight` requests in flight. */
  | 'spillover'
  /** In a fleet: the write region is being handed over; primary requests wait (503). */
  | 'write-handover'
  /** In a fleet: this router cannot vouch that it may still write (cut off from etcd, or leaving). */
  | 'fleet-unavailable'
  /** In a fleet: this router's own probes see the fleet's write region down; only the fleet moves writes. */
  | 'write-region-down';

export interface RegionSpec {
  readonly name: string;
  /** Position in the config's `regions` list (stable tie-breaker). */
  readonly index: number;
  readonly lat: number;
  readonly lon: number;
  /** Normalised base URLs (`new URL(x).origin` plus any base path, no trailing slash). */
  readonly endpoints: readonly string[];
  /** Upper-case ISO 3166-1 alpha-2 codes whose clients prefer this region. */
  readonly countries: ReadonlySet<string>;
  /** Requests in flight to the region (per process) above which new ones spill over; null: no limit. */
  readonly maxInFlight: number | null;
}

export interface HealthConfig {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly failbackDelayMs: number;
  readonly slowStartMs: number;
  /** Lower-case header name carrying replication lag in seconds, or null. */
  readonly lagHeader: string | null;
  /** Statuses that make a probe pass (default: 200..299). */
  readonly expectedStatuses: ReadonlySet<number>;
  /** Largest random offset added to each probe interval, ms (default 10% of interval). */
  readonly jitterMs: number;
  readonly damping: DampingConfig;
}

export interface DampingConfig {
  /** Penalty added on every transition to DOWN. */
  readonly penalty: number;
  readonly halfLifeMs: number;
  /** Above this the region is suppressed. */
  readonly suppressLimit: number;
  /** A suppressed region is reused once the penalty decays below this. */
  readonly reuseLimit: number;
  /** Ceiling of the penalty, so suppression cannot last forever. */
  readonly maxPenalty: number;
}

export interface PassiveConfig {
  readonly consecutiveFailures: number;
  readonly ejectForMs: number;
  /** Cap on the doubling: ejection lasts at most ejectFor * maxEjectMultiplier. */
  readonly maxEjectMultiplier: number;
  /** Share (0..1) of all endpoints that may be ejected at once. */
  readonly maxEjectedShare: number;
  /** Backend statuses that count as a failure toward ejection. */
  readonly statuses: ReadonlySet<number>;
}

/** What one client may hold or take of the router (milliseconds and bytes; 0 body bytes = unlimited). */
export interface LimitsConfig {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly tunnelIdleTimeoutMs: number;
  readonly upstreamMaxSockets: number;
}

export interface ResidencyRule {
  readonly name: string;
  /** Upper-case country codes; 'EU' means the GeoIP EU flag. */
  readonly countries: ReadonlySet<string>;
  /** Home regions whose users this rule binds (explicit or hashed home). */
  readonly homeRegions: ReadonlySet<string>;
  /** The only regions allowed to serve matching clients. */
  readonly regions: ReadonlySet<string>;
}

export interface WritesConfig {
  /** Regions allowed to take global writes, in priority order. Empty = no write region configured. */
  readonly regions: readonly string[];
  readonly failover: 'automatic' | 'manual';
  readonly failback: 'automatic' | 'manual';
  readonly maxLagMs: number;
  /** Whether a candidate that never reported lag may take writes on automatic failover. */
  readonly allowUnknownLag: boolean;
}

export interface RetryConfig {
  /** Total tries including the first (the config's `retry.attempts` counts retries, this one more). */
  readonly attempts: number;
  readonly onConnect: boolean;
  readonly onTimeout: boolean;
  readonly onStatuses: ReadonlySet<number>;
  /** Share of requests that may be retries over the budget window. */
  readonly budget: number;
  /** Retries always allowed per window regardless of the share. */
  readonly budgetMinPerWindow: number;
  readonly budgetWindowMs: number;
  /** Request bodies up to this size are buffered so they can be resent. */
  readonly maxBufferBytes: number;
}

export interface RouteSpec {
  readonly name: string;
  readonly pathPrefix: string;
  /** Upper-case methods, or null for any. */
  readonly methods: ReadonlySet<string> | null;
  /** Lower-case host (without port), or null for any. */
  readonly host: string | null;
  readonly reads: Selector;
  readonly writes: Selector;
  /** The mode as written, or null when reads/writes were given explicitly. */
  readonly mode: Mode | null;
  /** Read-your-writes window, or 0 when off. */
  readonly readYourWritesMs: number;
}

export interface Snapshot {
  /** Absolute path of the config file this came from. */
  readonly file: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly admin: {
    readonly host: string;
    readonly port: number;
    readonly token: string | null;
    /** admin.metricsListen: the probe-only listener, or null. */
    readonly metrics: { readonly host: string; readonly port: number } | null;
  };
  /** CIDR strings as written (for display); matching uses `isTrustedProxy` from identity/. */
  readonly trustedProxies: readonly string[];
  readonly regions: readonly RegionSpec[];
  readonly regionByName: ReadonlyMap<string, RegionSpec>;
  readonly health: HealthConfig;
  readonly passive: PassiveConfig;
  readonly affinity: {
    readonly userKey: { readonly header: string | null; readonly cookie: string | null };
    readonly homeRegion: { readonly header: string | null; readonly cookie: string | null };
  };
  readonly residency: readonly ResidencyRule[];
  readonly writes: WritesConfig;
  readonly retry: RetryConfig;
  readonly allDown: 'reject' | 'try';
  readonly unknownLocation: string;
  /** A MaxMind database (absolute path) to locate clients with, or null for the bundled data. */
  readonly geoip: { readonly database: string | null };
  readonly timeouts: { readonly connectMs: number; readonly requestMs: number };
  readonly limits: LimitsConfig;
  /** Certificate and key files (absolute paths) of the TLS listener, the first served when no SNI name matches; null = plain HTTP. */
  readonly tls: readonly { readonly cert: string; readonly key: string }[] | null;
  readonly routes: readonly RouteSpec[];
  readonly readYourWrites: {
    /** HMAC key; null means "generate one at start" (logged as a warning). */
    readonly secret: string | null;
    readonly cookie: string;
  };
  /** Add x-meridian-region / x-meridian-reason to responses. */
  readonly responseHeaders: boolean;
  /** How long SIGTERM waits for in-flight requests. */
  readonly shutdownGraceMs: number;
  /** Serving processes: `auto` = one per available core; above 1 runs node:cluster (src/cluster/). */
  readonly workers: number | 'auto';
  /** The fleet this router belongs to (src/fleet/); null: it works alone. */
  readonly fleet: FleetConfig | null;
}

/** What GeoIP tells us about a client; null fields mean unknown. */
export interface Geo {
  readonly country: string | null;
  readonly eu: boolean;
  readonly lat: number | null;
  readonly lon: number | null;
}

/** A verified read-your-writes cookie. */
export interface WriteMark {
  readonly region: string;
  /** Epoch ms when the write was answered. */
  readonly at: number;
}

/** Everything decide() needs to know about one request. Built by identity/. */
export interface RequestFacts {
  readonly method: string; // upper-case
  readonly path: string; // path part only, no query
  readonly host: string | null; // lower-case, without port
  readonly ip: string | null; // normalised client IP (IPv4-mapped IPv6 → IPv4), null if malformed
  readonly geo: Geo | null;
  readonly userKey: string | null;
  /** Explicit home region, already checked to name a configured region. */
  readonly homeRegion: string | null;
  /**
   * The explicit home region came from a trusted proxy (or an operator's explain): only then does
   * it count for residency; otherwise residency uses the home region hashed from the user key.
   * Absent: not trusted.
   */
  readonly homeTrusted?: boolean;
  readonly writeMark: WriteMark | null;
  /** A number in [0, 1) used for slow-start ramps; the caller supplies randomness so decide() stays pure. */
  readonly rand: number;
}

/** Read-only health facts at one instant. Produced by health/, consumed by decide() and the proxy. */
export interface HealthView {
  /** May the region take new requests (UP endpoint, not drained/ejected/suppressed/failback-waiting)? */
  isAvailable(region: string): boolean;
  /** Slow-start share in (0, 1]: 1 = full traffic. Only meaningful for available regions. */
  weight(region: string): number;
  /** Last reported replication lag in ms, or null if never reported. */
  lagMs(region: string): number | null;
  /** The current global write region, or null when none is available / chosen. */
  readonly writeRegion: string | null;
  /** Endpoints of a region that may take traffic now, in round-robin base order. */
  availableEndpoints(region: string): readonly string[];
}

export interface Candidate {
  readonly region: string;
  /** Great-circle distance in km from the client, or null when the location is unknown. */
  readonly distanceKm: number | null;
}

export interface Decision {
  readonly route: RouteSpec | null;
  /** 'read' for GET/HEAD/OPTIONS, else 'write'. */
  readonly kind: 'read' | 'write';
  readonly selector: Selector | null;
  /** Region that serves the request, or null (then `status` tells the answer). */
  readonly region: string | null;
  /** Ordered regions to try: region first, then retry candidates (all available, residency-allowed). */
  readonly candidates: readonly string[];
  /** The full preference list before health and residency filtering, with distances. */
  readonly preference: readonly Candidate[];
  readonly reason: Reason;
  /** Residency rule that applied, if any. */
  readonly residencyRule: string | null;
  /** 404 (no route) or 503 (nothing available) when region is null; else null. */
  readonly status: 404 | 503 | null;
  /** Human-readable explanation for explain/admin tooling. */
  readonly detail: string;
}
