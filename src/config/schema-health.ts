// The `health` and `passive` sections of the config schema (schema.ts holds the rest and the
// top level), in the same vocabulary: schema-types.ts.
import { dur, int, list, obj, type Fields } from './schema-types.js';

const TWO_XX = Array.from({ length: 100 }, (_, i) => 200 + i);

export const healthFields = {
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
    // undefined: the interval is invalid, and that is reported already.
    derive: (parent) => (typeof parent['interval'] === 'number' ? Math.round(parent['interval'] / 10) : undefined),
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
} as const satisfies Fields;

export const passiveFields = {
  consecutiveFailures: {
    type: int(1),
    default: 5,
    unit: 'requests',
    doc: 'Consecutive upstream failures of live traffic (connect failures, resets, upstream timeouts, `passive.statuses`) that eject an endpoint at once.',
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
  statuses: {
    type: list({ kind: 'status' }, { unique: true }),
    default: [502, 503, 504],
    doc: 'Backend response statuses that count as a failure toward ejection; any other status (an application 500, say) counts as a success.',
    see: "Connect failures, resets and upstream timeouts always count; errors of the router's own making never do. Passive ejection never moves the write region.",
  },
} as const satisfies Fields;
