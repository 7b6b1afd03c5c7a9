// The single source of truth for every config key: path, type, default, unit, meaning and
// interactions. Defaults live ONLY here. The loader (load.ts) walks this tree to validate and fill
// defaults; reference.ts renders config/reference.md from it, and a test checks the committed doc.
//
// Defaults are written in YAML form ("2s", not 2000) so they go through the same parser as user
// input and the doc shows them exactly as a user would write them.
import type { Mode, Selector } from '../types.js';

/** A parsed config object (values already normalised by the loader: durations in ms etc.). */
export type ParsedObject = Record<string, unknown>;

export type ValueType =
  | { readonly kind: 'string'; readonly minLength?: number }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'bool' }
  /** Parsed to integer milliseconds; `minMs: 1` forbids `0s`. */
  | { readonly kind: 'duration'; readonly minMs: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'listen' }
  | { readonly kind: 'url' }
  | { readonly kind: 'cidr' }
  | { readonly kind: 'country'; readonly allowEU: boolean }
  | { readonly kind: 'method' }
  | { readonly kind: 'header' }
  | { readonly kind: 'cookie' }
  | { readonly kind: 'name' }
  /** A region name; existence is checked after the whole file is read. */
  | { readonly kind: 'regionRef' }
  | { readonly kind: 'host' }
  | { readonly kind: 'pathPrefix' }
  /** An HTTP status code 100..599. */
  | { readonly kind: 'status' }
  /** `connect`, `timeout`, or a status 400..599. */
  | { readonly kind: 'retryOn' }
  /** `auto` (one per available core) or an integer 1..max. */
  | { readonly kind: 'workers'; readonly max: number }
  | { readonly kind: 'list'; readonly of: ValueType; readonly minItems?: number; readonly unique?: boolean }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, Field>> };

export interface Field {
  readonly type: ValueType;
  /** One-line meaning. */
  readonly doc: string;
  /** Missing key is an error. */
  readonly required?: boolean;
  /** YAML-form default, parsed like user input. Absent (and not required) → null, or `derive`. */
  readonly default?: unknown;
  /** `null`, `~`, an empty value or "" switch the feature off (the compiled value is null). */
  readonly nullable?: boolean;
  /** How the reference shows the default when the literal value is not the clearest way. */
  readonly defaultText?: string;
  /** Default computed from other values, once the whole file is parsed. */
  readonly derive?: (parent: ParsedObject, root: ParsedObject) => unknown;
  readonly unit?: string;
  /** Interactions with other keys. */
  readonly see?: string;
}

/** SPEC §1: each mode is shorthand for a reads selector and a writes selector. */
export const MODE_SELECTORS: Readonly<Record<Mode, { readonly reads: Selector; readonly writes: Selector }>> = {
  'active-active': { reads: 'nearest', writes: 'nearest' },
  home: { reads: 'home', writes: 'home' },
  'read-local-write-global': { reads: 'nearest', writes: 'primary' },
  'active-passive': { reads: 'primary', writes: 'primary' },
};
export const MODES = Object.keys(MODE_SELECTORS) as Mode[];
export const SELECTORS: readonly Selector[] = ['nearest', 'home', 'primary'];

const dur = (minMs: number): ValueType => ({ kind: 'duration', minMs });
const int = (min?: number, max?: number): ValueType => ({
  kind: 'int',
  ...(min !== undefined ? { min } : {}),
  ...(max !== undefined ? { max } : {}),
});
const list = (of: ValueType, opts: { minItems?: number; unique?: boolean } = {}): ValueType => ({ kind: 'list', of, ...opts });
const obj = (fields: Record<string, Field>): ValueType => ({ kind: 'object', fields });

const headerAndCookie = (what: string, header: string, cookie: string): Record<string, Field> => ({
  header: {
    type: { kind: 'header' },
    default: header,
    nullable: true,
    doc: `Request header carrying the ${what}; null turns header lookup off.`,
  },
  cookie: {
    type: { kind: 'cookie' },
    default: cookie,
    nullable: true,
    doc: `Cookie carrying the ${what}; null turns cookie lookup off.`,
  },
});

const TWO_XX = Array.from({ length: 100 }, (_, i) => 200 + i);

export const schema: Readonly<Record<string, Field>> = {
  listen: {
    type: { kind: 'listen' },
    default: '0.0.0.0:8080',
    doc: 'Address the router takes client traffic on: `host:port`, IPv6 as `[::1]:8080`; port 0 picks a free port.',
  },
  admin: {
    type: obj({
      listen: {
        type: { kind: 'listen' },
        default: '127.0.0.1:9901',
        doc: 'Address of the admin listener (healthz, readyz, metrics, state, explain, drain, write-region, reload).',
        see: 'Keep it on loopback or a private network: without `admin.token` anyone reaching it can drain regions.',
      },
      token: {
        type: { kind: 'string' },
        nullable: true,
        defaultText: 'none',
        doc: 'Bearer token required on admin POSTs; empty or absent means POSTs are not authenticated.',
        see: 'Usually `${MERIDIAN_ADMIN_TOKEN:-}` so the secret stays out of the file.',
      },
    }),
    default: {},
    doc: 'The admin listener.',
  },
  clientIp: {
    type: obj({
      trustedProxies: {
        type: list({ kind: 'cidr' }),
        default: [],
        doc: 'Peers whose `X-Forwarded-For` is believed: CIDRs (IPv4 or IPv6), a bare IP means /32 or /128.',
        see: 'The client is the left-most untrusted address of `X-Forwarded-For`; empty list = always the socket peer.',
      },
    }),
    default: {},
    doc: 'How the client IP is found.',
  },
  regions: {
    type: list(
      obj({
        name: { type: { kind: 'name' }, required: true, doc: 'Unique region name, used in headers, metrics, admin URLs and other keys.' },
        location: {
          type: obj({
            lat: { type: { kind: 'number', min: -90, max: 90 }, required: true, unit: 'degrees', doc: 'Latitude of the region (−90..90).' },
            lon: {
              type: { kind: 'number', min: -180, max: 180 },
              required: true,
              unit: 'degrees',
              doc: 'Longitude of the region (−180..180).',
            },
          }),
          required: true,
          doc: 'Where the region is; the `nearest` selector sorts by great-circle distance from the client.',
        },
        endpoints: {
          type: list({ kind: 'url' }, { minItems: 1, unique: true }),
          required: true,
          doc: 'Base URLs (http or https, no query) of the region backends; round robin over the healthy ones.',
          see: 'A trailing slash is dropped; a base path is kept and prefixed to every forwarded path.',
        },
        countries: {
          type: list({ kind: 'country', allowEU: false }, { unique: true }),
          default: [],
          doc: 'ISO 3166-1 alpha-2 codes whose clients prefer this region over a nearer one.',
        },
      }),
      { minItems: 1 },
    ),
    required: true,
    doc: 'The regions the application runs in, in order (the order breaks ties).',
  },
  health: {
    type: obj({
      path: { type: { kind: 'pathPrefix' }, default: '/health', doc: 'Path probed on every endpoint.' },
      interval: { type: dur(1), default: '2s', doc: 'Time between probes of one endpoint.' },
      timeout: {
        type: dur(1),
        default: '1s',

        doc: 'A probe that has no answer after this fails.',
        see: 'Should be below `health.interval` (a warning otherwise).',
      },
      unhealthyThreshold: { type: int(1), default: 3, unit: 'probes', doc: 'Consecutive failed probes that turn an endpoint DOWN.' },
      healthyThreshold: { type: int(1), default: 2, unit: 'probes', doc: 'Consecutive passed probes that turn an endpoint UP.' },
      failbackDelay: {
        type: dur(0),
        default: '10s',

        doc: 'A recovered region gets traffic back only after staying UP this long.',
        see: 'Also the wait before automatic write failback (`writes.failback`).',
      },
      slowStart: {
        type: dur(0),
        default: '0s',

        doc: 'After failback, the share of traffic preferring the region ramps linearly from 10% to 100% over this time; 0s = all at once.',
      },
      lagHeader: {
        type: { kind: 'header' },
        default: 'x-replication-lag',
        nullable: true,
        doc: 'Health-response header carrying the replication lag in seconds; null = lag is never reported.',
        see: 'Feeds `writes.maxLag` and read-your-writes.',
      },
      expectedStatuses: {
        type: list({ kind: 'status' }, { minItems: 1, unique: true }),
        default: TWO_XX,
        defaultText: 'any 2xx (200..299)',
        doc: 'Probe response statuses that count as a pass.',
      },
      jitter: {
        type: dur(0),
        derive: (parent) => (typeof parent['interval'] === 'number' ? Math.round(parent['interval'] / 10) : null),
        defaultText: '10% of `health.interval`',

        doc: 'Largest random delay added to each probe interval so many routers do not probe in lock-step.',
      },
      damping: {
        type: obj({
          penalty: { type: int(1), default: 1000, doc: 'Penalty added each time a region goes DOWN.' },
          halfLife: { type: dur(1), default: '30s', doc: 'Time for the penalty to halve.' },
          suppressLimit: {
            type: int(1),
            default: 2500,
            doc: 'Above this penalty the region is suppressed (kept out of traffic even while UP).',
            see: 'With the defaults a third DOWN within one half-life suppresses; must be ≤ `health.damping.maxPenalty`.',
          },
          reuseLimit: {
            type: int(0),
            default: 750,
            doc: 'A suppressed region is reused once its penalty decays below this.',
            see: 'Must be below `health.damping.suppressLimit`.',
          },
          maxPenalty: { type: int(1), default: 6000, doc: 'Ceiling of the penalty, so suppression cannot last forever.' },
        }),
        default: {},
        doc: 'Route flap damping (BGP style): flapping regions accumulate a decaying penalty.',
      },
    }),
    default: {},
    doc: 'Active health probes and anti-flap hysteresis.',
  },
  passive: {
    type: obj({
      consecutiveFailures: {
        type: int(1),
        default: 5,
        unit: 'requests',
        doc: 'Consecutive connection failures / 5xx from live traffic that eject an endpoint at once.',
      },
      ejectFor: { type: dur(1), default: '10s', doc: 'First ejection time; doubles on each repeat.' },
      maxEjectMultiplier: {
        type: int(1),
        default: 10,
        doc: 'Cap on the doubling: an ejection lasts at most `passive.ejectFor` × this.',
      },
      maxEjectedPercent: {
        type: { kind: 'number', min: 0, max: 100 },
        default: 50,
        unit: 'percent',
        doc: 'Largest share of all endpoints that may be ejected at once (outliers beyond it stay in).',
      },
    }),
    default: {},
    doc: 'Passive outlier detection from live traffic.',
  },
  affinity: {
    type: obj({
      userKey: {
        type: obj(headerAndCookie('user key', 'x-user-id', 'uid')),
        default: {},
        doc: 'Where the user key (for `home` hashing) is read.',
      },
      homeRegion: {
        type: obj(headerAndCookie('explicit home region', 'x-home-region', 'home_region')),
        default: {},
        doc: 'Where an explicit home region is read; a value naming no configured region is ignored.',
      },
    }),
    default: {},
    doc: 'How users are recognised for the `home` selector.',
  },
  residency: {
    type: list(
      obj({
        name: { type: { kind: 'name' }, required: true, doc: 'Unique rule name (shows in decisions and logs).' },
        countries: {
          type: list({ kind: 'country', allowEU: true }, { unique: true }),
          default: [],
          doc: 'Client countries bound by the rule; `EU` means the GeoIP EU flag.',
        },
        homeRegions: {
          type: list({ kind: 'regionRef' }, { unique: true }),
          default: [],
          doc: 'Users whose home region (explicit or hashed) is one of these are bound by the rule.',
          see: 'A rule needs `residency[].countries` or `residency[].homeRegions` (or both).',
        },
        regions: {
          type: list({ kind: 'regionRef' }, { minItems: 1, unique: true }),
          required: true,
          doc: 'The only regions allowed to serve matching clients.',
          see: 'Failover never crosses this: none of them available → 503 with Retry-After, even with `allDown: try`.',
        },
      }),
    ),
    default: [],
    doc: 'Data residency rules.',
  },
  writes: {
    type: obj({
      regions: {
        type: list({ kind: 'regionRef' }, { unique: true }),
        default: [],
        doc: 'Regions that may take global writes, in priority order; the first available is the write region.',
        see: 'Required (non-empty) when a route uses the `primary` selector.',
      },
      failover: {
        type: { kind: 'enum', values: ['automatic', 'manual'] },
        default: 'automatic',
        doc: '`automatic`: writes move to the available candidate with the lowest lag; `manual`: writes fail (503) until an operator picks.',
      },
      failback: {
        type: { kind: 'enum', values: ['automatic', 'manual'] },
        default: 'automatic',
        doc: '`automatic`: writes return to a recovered higher-priority region after `health.failbackDelay`; `manual`: only by operator.',
      },
      maxLag: {
        type: dur(0),
        default: '5s',

        doc: 'Automatic failover refuses candidates lagging more than this.',
        see: 'Lag comes from `health.lagHeader`.',
      },
      allowUnknownLag: {
        type: { kind: 'bool' },
        default: false,
        doc: 'Whether a candidate that never reported lag may take writes on automatic failover.',
      },
    }),
    default: {},
    doc: 'The global write region.',
  },
  retry: {
    type: obj({
      attempts: {
        // Bounded: every attempt is a full upstream request, and more than a few only lengthens an outage for the client.
        type: int(0, 10),
        default: 2,
        unit: 'retries',
        doc: 'Retries after the first try (total tries = attempts + 1); 0 disables retries.',
        see: 'Only idempotent methods, or requests that provably never reached the backend, are retried.',
      },
      on: {
        type: list({ kind: 'retryOn' }, { unique: true }),
        default: ['connect', 'timeout', 502, 503, 504],
        doc: 'What triggers a retry: `connect` (connection failed), `timeout` (no response headers in time), or a status 400..599.',
      },
      budget: {
        type: { kind: 'number', min: 0, max: 1 },
        default: 0.2,
        unit: 'share',
        doc: 'Largest share (0..1) of recent requests that may be retries, so retries cannot become a storm.',
      },
      budgetMinPerWindow: {
        type: int(0),
        default: 10,
        unit: 'retries',
        doc: 'Retries always allowed per budget window, whatever the share.',
      },
      budgetWindow: { type: dur(1), default: '10s', doc: 'Window over which the retry budget is counted.' },
      maxBufferBytes: {
        type: int(0),
        default: 65536,
        unit: 'bytes',
        doc: 'Request bodies up to this size are buffered so they can be resent; larger bodies are never retried.',
      },
    }),
    default: {},
    doc: 'Retries on another endpoint or region.',
  },
  allDown: {
    type: { kind: 'enum', values: ['reject', 'try'] },
    default: 'reject',
    doc: 'No candidate available: `reject` answers 503, `try` sends to the first preference anyway (fail open).',
    see: 'Residency still holds with `try`.',
  },
  unknownLocation: {
    type: { kind: 'regionRef' },
    derive: (_parent, root) => {
      const regions = root['regions'];
      const first: unknown = Array.isArray(regions) ? regions[0] : undefined;
      return first !== null && typeof first === 'object' ? ((first as ParsedObject)['name'] ?? null) : null;
    },
    defaultText: 'the first region',
    doc: 'Region tried first for clients without a GeoIP location.',
  },
  timeouts: {
    type: obj({
      connect: { type: dur(1), default: '2s', doc: 'Connecting to a backend fails after this (then retry applies).' },
      request: { type: dur(1), default: '30s', doc: 'A backend that has not sent response headers after this times out.' },
    }),
    default: {},
    doc: 'Upstream timeouts.',
  },
  routes: {
    type: list(
      obj({
        name: { type: { kind: 'name' }, required: true, doc: 'Unique route name (metrics label, logs).' },
        match: {
          type: obj({
            pathPrefix: {
              type: { kind: 'pathPrefix' },
              default: '/',
              doc: 'Request paths starting with this string match (a plain prefix: `/api` also matches `/apiary`; write `/api/` to stop at a segment). Routes are tried in order; the first match wins.',
            },
            methods: {
              type: list({ kind: 'method' }, { minItems: 1, unique: true }),
              nullable: true,
              defaultText: 'any method',
              doc: 'HTTP methods that match (upper-cased).',
            },
            host: {
              type: { kind: 'host' },
              nullable: true,
              defaultText: 'any host',
              doc: 'Host (without port, lower-cased) that matches.',
            },
          }),
          default: {},
          doc: 'Which requests the route takes; all given conditions must hold.',
        },
        mode: {
          type: { kind: 'enum', values: MODES },
          derive: (parent) => (parent['reads'] == null && parent['writes'] == null ? 'active-active' : null),
          defaultText: '`active-active` unless reads/writes are given',
          doc: 'Shorthand for a reads and a writes selector (see the mode table).',
          see: 'Give either `routes[].mode` or both `routes[].reads` and `routes[].writes`, not both.',
        },
        reads: {
          type: { kind: 'enum', values: SELECTORS },
          nullable: true,
          defaultText: 'from mode',
          doc: 'Selector for GET, HEAD and OPTIONS.',
          see: '`primary` needs `writes.regions`.',
        },
        writes: {
          type: { kind: 'enum', values: SELECTORS },
          nullable: true,
          defaultText: 'from mode',
          doc: 'Selector for every other method.',
          see: '`primary` needs `writes.regions`.',
        },
        readYourWrites: {
          type: dur(0),
          default: '0s',

          doc: 'After a write, that client reads from the write region for this window (signed cookie); 0s = off.',
          see: 'Cookie name and key: top-level `readYourWrites`.',
        },
      }),
      { minItems: 1 },
    ),
    default: [{ name: 'default', match: { pathPrefix: '/' }, mode: 'active-active' }],
    defaultText: 'one route `default`: pathPrefix `/`, mode `active-active`',
    doc: 'Routes: each a match plus a reads and a writes selector. List more specific matches first.',
  },
  readYourWrites: {
    type: obj({
      secret: {
        type: { kind: 'string', minLength: 16 },
        nullable: true,
        defaultText: 'random at start',
        doc: 'HMAC key signing the read-your-writes cookie (at least 16 characters).',
        see: 'Without it a random key is made at start (a warning): cookies then break on restart and across routers.',
      },
      cookie: { type: { kind: 'cookie' }, default: 'meridian_ryw', doc: 'Name of the read-your-writes cookie.' },
    }),
    default: {},
    doc: 'Read-your-writes cookie settings (the window is per route).',
  },
  responseHeaders: {
    type: { kind: 'bool' },
    default: true,
    doc: 'Add `x-meridian-region` and `x-meridian-reason` to responses.',
  },
  workers: {
    type: { kind: 'workers', max: 64 },
    default: 1,
    doc: 'Processes serving traffic: an integer, or `auto` for one per available core (`os.availableParallelism()`). With more than one, a primary process probes health once and broadcasts it, and the workers share the listener (node:cluster).',
    see: 'The primary owns the admin listener: `/metrics` aggregates every worker, admin actions apply to all of them. A worker that dies is restarted. `readYourWrites.secret` unset: the primary makes one key for all workers. Retry budgets and round robin are per worker. Changing `workers` takes a restart.',
  },
  shutdownGrace: {
    type: dur(0),
    default: '10s',

    doc: 'How long SIGTERM waits for in-flight requests before closing.',
  },
};

export interface SchemaEntry {
  /** Doc path: `regions[].location.lat`. */
  readonly path: string;
  readonly field: Field;
}

/** Every key, depth first in declaration order. */
export function schemaEntries(fields: Readonly<Record<string, Field>> = schema, prefix = ''): SchemaEntry[] {
  const out: SchemaEntry[] = [];
  for (const [key, field] of Object.entries(fields)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push({ path, field });
    const t = field.type;
    if (t.kind === 'object') out.push(...schemaEntries(t.fields, path));
    else if (t.kind === 'list' && t.of.kind === 'object') out.push(...schemaEntries(t.of.fields, `${path}[]`));
  }
  return out;
}
