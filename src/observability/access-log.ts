import { lineOutputOf, type LineFormat, type LineOutput, type Logger } from './logger.js';

/** One finished request, as the access log records it. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly route: string;
  readonly region: string;
  readonly reason: string;
  readonly attempts: number;
  readonly upstreamMs: number;
  readonly totalMs: number;
  readonly clientCountry: string | null;
  readonly clientIp: string | null;
  /** Error code when the router answered itself (errors.ts). */
  readonly error: string | null;
  /** The client went away before the answer was complete. */
  readonly aborted: boolean;
}

const INFO = 30;

/**
 * The access log: one line per request, `msg: "request"`, at info level.
 *
 * For a logger made by createLogger the entry goes to the logger's output as it is, and is
 * serialised when its batch is written (LineBatch), in exactly the bytes pino would write for
 * `logger.info({method, …}, 'request')` (a unit test compares the two). pino's general serialiser
 * walks the object and checks serializers and formatters per key; for this one fixed shape that
 * cost several times the rest of the line's work (docs/profile.md, "Second pass").
 * Any other pino logger (the drill's capture logger, tests) gets the same fields through
 * `logger.info`.
 */
export class AccessLog {
  private readonly out: LineOutput | null;
  private readonly format: LineFormat<RequestRecord>;

  constructor(private readonly logger: Logger) {
    this.out = lineOutputOf(logger);
    const bindings = this.out?.bindings ?? '';
    this.format = (r, time) => formatLine(r, time, bindings);
  }

  /** `at`: performance.now() when the request ended, if the caller has it (it is the line's time). */
  write(r: RequestRecord, at?: number): void {
    const logger = this.logger;
    if (logger.levelVal > INFO) return;
    if (this.out === null) logger.info(toObject(r), 'request');
    else this.out.writeDeferred(this.format, r, at);
  }
}

/**
 * The line pino writes for `logger.info(toObject(r), 'request')` with the logger's base bindings:
 * level, time, bindings, the fields in order, msg.
 */
export function formatLine(r: RequestRecord, time: string, bindings: string): string {
  return `{"level":30${time}${bindings},"method":${str(r.method)},"path":${str(r.path)},"status":${num(r.status)},"route":${name(r.route)},"region":${name(r.region)},"reason":${name(r.reason)},"attempts":${num(r.attempts)},"upstreamMs":${ms(r.upstreamMs)},"totalMs":${ms(r.totalMs)},"clientCountry":${nullable(r.clientCountry)},"clientIp":${nullable(r.clientIp)}${r.error !== null ? `,"error":${str(r.error)}` : ''}${r.aborted ? ',"aborted":true' : ''},"msg":"request"}\n`;
}

/** The same fields as an object, in the same order (pino keeps insertion order). */
export function toObject(r: RequestRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {
    method: r.method,
    path: r.path,
    status: r.status,
    route: r.route,
    region: r.region,
    reason: r.reason,
    attempts: r.attempts,
    upstreamMs: r.upstreamMs,
    totalMs: r.totalMs,
    clientCountry: r.clientCountry,
    clientIp: r.clientIp,
  };
  if (r.error !== null) o.error = r.error;
  if (r.aborted) o.aborted = true;
  return o;
}

/** Characters that JSON needs escaped ("\\, control characters) or that pino escapes as JSON.stringify does. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal, as pino's asString writes one (JSON.stringify rules). */
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function nullable(s: string | null): string {
  return s === null ? 'null' : str(s);
}

/** pino writes non-finite numbers as null. */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

const names = new Map<string, string>();

/**
 * str() for the few strings that repeat on every line (route, region and reason names from the
 * config and the reason list), remembered; bounded in case a caller passes something unbounded.
 */
function name(s: string): string {
  let q = names.get(s);
  if (q === undefined) {
    q = str(s);
    if (names.size < 1024) names.set(s, q);
  }
  return q;
}

/**
 * String(n) for a duration rounded to hundredths (the router's round()): the same digits, built from
 * integers instead of the shortest-round-trip double conversion. The shortest representation of
 * the double nearest to h/100 is h/100's own decimal digits without trailing zeros, because no other
 * decimal of at most as many digits lies that close; anything else takes the general path.
 */
export function ms(n: number): string {
  const h = Math.round(n * 100);
  if (!(Math.abs(h) < 1e15) || h / 100 !== n) return num(n);
  const a = h < 0 ? -h : h;
  const whole = Math.floor(a / 100);
  const frac = a - whole * 100;
  let s = String(whole);
  if (frac !== 0) s += frac % 10 === 0 ? `.${frac / 10}` : frac < 10 ? `.0${frac}` : `.${frac}`;
  return h < 0 ? `-${s}` : s;
}
