// The single description of every config key: path, type, default, unit, meaning and
// interactions. Defaults live ONLY here. The loader walks this tree to check values and fill
// defaults (check.ts); reference.ts renders the tables of config/reference.md from it, and a test
// checks the committed doc. The parsed config type, `RawConfig`, is derived from it.
//
// Defaults are written in YAML form ("2s", not 2000) so they go through the same parser as user
// input and the doc shows them exactly as a user would write them.
import type { Mode, Selector } from '../types.js';
import { fleetFields } from './schema-fleet.js';
import { passiveFields, healthFields } from './schema-health.js';
import { limitsFields, tlsFields } from './schema-limits.js';
import { dur, int, list, obj, type Fields, type InferFields } from './schema-types.js';

/** Each mode is shorthand for a reads selector and a writes selector. */
export const MODE_SELECTORS: Readonly<Record<Mode, { readonly reads: Selector; readonly writes: Selector }>> = {
  'active-active': { reads: 'nearest', writes: 'nearest' },
  home: { reads: 'home', writes: 'home' },
  'read-local-write-global': { reads: 'nearest', writes: 'primary' },
  'active-passive': { reads: 'primary', writes: 'primary' },
};
const MODES = Object.keys(MODE_SELECTORS) as Mode[];
const SELECTORS: readonly Selector[] = ['nearest', 'home', 'primary'];

const headerAndCookie = (what: string, header: string, cookie: string) =>
  ({
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
  }) as const;

export const schema = {
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
        see: 'Usually `${MERIDIAN_ADMIN_TOKEN:-}` so the secret stays out of the file. Required when `admin.listen` is not a loopback address.',
      },
      metricsListen: {
        type: { kind: 'listen' },
        nullable: true,
        defaultText: 'none',
        doc: 'A second listener serving only `/healthz`, `/readyz` and `/metrics` (every other path is 404): for load-balancer probes and Prometheus, which then need no access to the port that can drain regions.',
        see: 'The admin listener keeps serving `/metrics` too. A change takes a restart.',
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
        maxInFlight: {
          type: int(1, 1_000_000),
          nullable: true,
          unit: 'requests',
          doc: 'Capacity: with this many requests to the region in flight in one router process (per worker with `workers: N`; retries count), new requests that prefer it spill over to the next candidate (reason `spillover`) instead of queueing. Absent: no limit.',
          see: 'When every allowed candidate is full the first preference serves anyway; spillover never crosses a residency rule.',
        },
      }),
      { minItems: 1 },
    ),
    required: true,
    doc: 'The regions the application runs in, in order (the order breaks ties).',
  },
  health: {
    type: obj(healthFields),
    default: {},
    doc: 'Active health probes and anti-flap hysteresis.',
  },
  passive: {
    type: obj(passiveFields),
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
        // Held in memory per request in flight: a cap keeps one setting from exhausting the heap.
        type: int(0, 64 * 1024 * 1024),
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
    // undefined: the regions list is invalid, and that is reported already.
    derive: (_parent, root) => {
      const regions = root['regions'];
      const first: unknown = Array.isArray(regions) ? regions[0] : undefined;
      const name = first !== null && typeof first === 'object' ? (first as Record<string, unknown>)['name'] : undefined;
      return typeof name === 'string' ? name : undefined;
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
  geoip: {
    type: obj({
      database: {
        type: { kind: 'string', minLength: 1 },
        nullable: true,
        defaultText: 'none (the bundled geoip-lite data)',
        doc: 'A MaxMind GeoIP2 or GeoLite2 database file (`.mmdb`, City or Country) to locate clients with, instead of the data bundled with geoip-lite; a relative path is relative to this config file.',
        see: 'Re-read within about 2 s when the file is replaced (as `geoipupdate` does, by rename) or rewritten; a replacement that does not open keeps the data in use. A Country database gives country pins and residency, not distances. `meridian_geoip_data_age_days` tells the age of the data in use. Changing the path takes a restart.',
      },
    }),
    default: {},
    doc: 'Where client locations come from.',
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
  tls: {
    type: obj(tlsFields),
    default: {},
    doc: 'TLS on the public listener (`listen`): one certificate (`cert` + `key`) or several chosen by SNI (`certificates`); none = plain HTTP. Backends get `x-forwarded-proto: https`.',
  },
  limits: {
    type: obj(limitsFields),
    default: {},
    doc: 'What one client may hold or take of the router; each limit hit is counted in `meridian_limit_hits_total{limit}`.',
  },
  shutdownGrace: {
    type: dur(0),
    default: '10s',
    doc: 'How long SIGTERM waits for in-flight requests before closing.',
  },
  fleet: {
    type: obj(fleetFields),
    nullable: true,
    defaultText: 'none (this router works alone)',
    doc: 'Join a fleet of routers that share drains, dials and the write region through etcd.',
    see: 'Changing `fleet` takes a restart. How it works and fails: docs/fleet.md.',
  },
} as const satisfies Fields;

/** The checked config, defaults filled, before it is compiled into a Snapshot. */
export type RawConfig = InferFields<typeof schema>;
