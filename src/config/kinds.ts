// What each single-scalar value kind of the schema accepts: one checker per kind, typed so that
// each must produce the value type `RawConfig` declares for it (schema-types.ts).
import { suggest } from './diagnostics.js';
import {
  describeValue,
  parseCidr,
  parseCookieName,
  parseCountry,
  parseDuration,
  parseEndpointUrl,
  parseHeaderName,
  parseHost,
  parseListen,
  parseMethod,
  parseName,
  parsePathPrefix,
  parseRetryTrigger,
  type Parsed,
} from './parse.js';
import type { ScalarType, ScalarValues, ValueType } from './schema-types.js';

/** The longest duration any key accepts. */
const MAX_DURATION_MS = 24 * 3_600_000;

/**
 * `fromEnv`: the text came (partly) from `${VAR}` substitution, which always yields a string;
 * numbers and booleans are then accepted in their string form.
 */
type Checker<K extends ScalarType['kind']> = (
  v: unknown,
  type: Extract<ScalarType, { kind: K }>,
  fromEnv: boolean,
) => Parsed<ScalarValues[K]>;

const CHECKERS: { readonly [K in ScalarType['kind']]: Checker<K> } = {
  string: (v, t) => {
    if (typeof v !== 'string') {
      const hint = typeof v === 'number' || typeof v === 'boolean' ? ` (quote it: "${String(v)}")` : '';
      return { ok: false, message: `expected a string, got ${describeValue(v)}${hint}` };
    }
    if (t.minLength !== undefined && v.length < t.minLength) {
      return { ok: false, message: `must be at least ${t.minLength} characters long (got ${v.length})` };
    }
    return { ok: true, value: v };
  },
  int: (v, t, fromEnv) => checkNumber(v, t, fromEnv),
  number: (v, t, fromEnv) => checkNumber(v, t, fromEnv),
  bool: (v, _t, fromEnv) => {
    const b = fromEnv && (v === 'true' || v === 'false') ? v === 'true' : v;
    if (typeof b !== 'boolean') return { ok: false, message: `expected true or false, got ${describeValue(v)}` };
    return { ok: true, value: b };
  },
  duration: (v, t) => {
    const r = parseDuration(v);
    if (r.ok && r.value < t.minMs) return { ok: false, message: `must be greater than 0s` };
    // Node clamps a timer above 2^31-1 ms (~24.8 days) to 1 ms: such a timeout would fire at once.
    // Nothing in this config needs more than a day.
    if (r.ok && r.value > MAX_DURATION_MS) return { ok: false, message: `${describeValue(v)} is too long: must be at most 24h` };
    return r;
  },
  enum: (v, t) => {
    if (typeof v !== 'string' || !t.values.includes(v)) {
      const s = typeof v === 'string' ? suggest(v, t.values) : '';
      return { ok: false, message: `expected one of ${t.values.join(', ')}; got ${describeValue(v)}${s}` };
    }
    return { ok: true, value: v };
  },
  listen: (v) => parseListen(v),
  url: (v) => parseEndpointUrl(v),
  cidr: (v) => parseCidr(v),
  country: (v, t) => parseCountry(v, t.allowEU),
  method: (v) => parseMethod(v),
  header: (v) => parseHeaderName(v),
  cookie: (v) => parseCookieName(v),
  name: (v) => parseName(v),
  regionRef: (v) => parseName(v),
  host: (v) => parseHost(v),
  pathPrefix: (v) => parsePathPrefix(v),
  status: (v, _t, fromEnv) => {
    const n = fromEnv ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 100 || n > 599) {
      return { ok: false, message: `expected an HTTP status 100..599, got ${describeValue(v)}` };
    }
    return { ok: true, value: n };
  },
  retryOn: (v) => parseRetryTrigger(v),
  workers: (v, t, fromEnv) => {
    if (v === 'auto') return { ok: true, value: v };
    const n = fromEnv && typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= t.max) return { ok: true, value: n };
    return { ok: false, message: `expected auto or an integer 1..${t.max}, got ${describeValue(v)}` };
  },
  quorum: (v, _t, fromEnv) => {
    if (v === 'majority') return { ok: true, value: v };
    const n = fromEnv && typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1) return { ok: true, value: n };
    return { ok: false, message: `expected majority or an integer >= 1, got ${describeValue(v)}` };
  },
};

export function checkScalar(v: unknown, type: ScalarType, fromEnv: boolean): Parsed<unknown> {
  // The table pairs each kind with its own checker; TypeScript cannot see that through the union.
  const check = CHECKERS[type.kind] as (v: unknown, type: ScalarType, fromEnv: boolean) => Parsed<unknown>;
  return check(v, type, fromEnv);
}

function checkNumber(v: unknown, t: Extract<ScalarType, { kind: 'int' | 'number' }>, fromEnv: boolean): Parsed<number> {
  const n = fromEnv && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  const what = t.kind === 'int' ? 'an integer' : 'a number';
  if (typeof n !== 'number' || !Number.isFinite(n) || (t.kind === 'int' && !Number.isInteger(n))) {
    return { ok: false, message: `expected ${what}, got ${describeValue(v)}` };
  }
  if ((t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) {
    return { ok: false, message: `${n} is out of range: ${rangeText(t.min, t.max)}` };
  }
  return { ok: true, value: n };
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must be between ${min} and ${max}`;
  if (min !== undefined) return `must be at least ${min}`;
  return `must be at most ${max ?? ''}`;
}

/** What a value of this kind looks like, for "expected …, got a list" messages. */
export function describeType(t: ValueType): string {
  switch (t.kind) {
    case 'duration':
      return 'a duration such as "2s"';
    case 'listen':
      return 'a "host:port" address';
    case 'url':
      return 'an endpoint URL';
    case 'enum':
      return `one of ${t.values.join(', ')}`;
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'bool':
      return 'true or false';
    case 'cidr':
      return 'a CIDR';
    default:
      return 'a single value';
  }
}
