// Scalar parsers for config values. Each returns either the normalised value or a message that
// names what was expected, so the loader can attach `file:line:col path` and keep going.
// Pure functions: reused by the loader and by anything else that takes the same syntax (CLI flags).
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { compileTrustedProxies } from '../identity/client-ip.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const DURATION_WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/**
 * `500ms`, `2s`, `1.5s`, `1m`, `1h`, and sums such as `1m30s` → integer milliseconds.
 * A bare number is refused on purpose: `timeout: 2` could mean seconds or milliseconds, and a
 * silent factor-1000 mistake in a timeout is the kind of bug that only shows during an outage.
 */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    return fail(`expected a duration with a unit, got the bare number ${input}; write "${input}s" or "${input}ms"`);
  }
  if (typeof input !== 'string') return fail(`expected a duration such as "2s" or "500ms", got ${describeValue(input)}`);
  const s = input.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) {
    return fail(`expected a duration with a unit, got the bare number ${s}; write "${s}s" or "${s}ms"`);
  }
  if (!DURATION_WHOLE.test(s)) {
    return fail(`expected a duration such as "500ms", "2s", "1m" or "1h", got "${input}"`);
  }
  let ms = 0;
  for (const m of s.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  return ok(Math.round(ms));
}

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, `[v6]:port`. Port 0 means "any free port" (used by tests). */
export function parseListen(input: unknown): Parsed<Listen> {
  if (typeof input !== 'string') {
    return fail(`expected a listen address "host:port" such as "0.0.0.0:8080", got ${describeValue(input)}`);
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(input);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2] ?? '';
    if (!isIPv6(host)) return fail(`"${host}" in "${input}" is not an IPv6 address`);
  } else {
    const i = input.lastIndexOf(':');
    if (i < 0) return fail(`expected "host:port" such as "0.0.0.0:8080", got "${input}" (no port)`);
    host = input.slice(0, i);
    portText = input.slice(i + 1);
    if (host.includes(':')) return fail(`IPv6 listen addresses need brackets: "[${host}]:${portText}"`);
    if (host === '') return fail(`missing host in "${input}"; use "0.0.0.0:${portText}" for all interfaces`);
    if (!isIPv4(host) && !isHostname(host)) return fail(`"${host}" in "${input}" is neither an IP address nor a host name`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return fail(`port "${portText}" in "${input}" must be an integer 0..65535`);
  }
  return ok({ host, port: Number(portText) });
}

/**
 * Endpoint base URL: http(s) only, no query, fragment or credentials (they would leak into logs
 * and be glued onto every forwarded path). Normalised to origin + base path without trailing slash.
 */
export function parseEndpointUrl(input: unknown): Parsed<string> {
  if (typeof input !== 'string') return fail(`expected an endpoint URL such as "http://10.0.0.1:8080", got ${describeValue(input)}`);
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return fail(`"${input}" is not a valid URL (expected e.g. "http://10.0.0.1:8080")`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return fail(`endpoint URL "${input}" must use http: or https:, not ${u.protocol}`);
  }
  if (input.includes('?') || input.includes('#')) return fail(`endpoint URL "${input}" must not have a query or fragment`);
  if (u.username !== '' || u.password !== '') return fail(`endpoint URL "${input}" must not carry credentials`);
  const path = u.pathname.replace(/\/+$/, '');
  return ok(u.origin + path);
}

/**
 * IPv4/IPv6 CIDR, or a bare address meaning a single host (/32 or /128). Returned in canonical
 * `addr/len` form so consumers parse one shape. Host bits are allowed (`10.1.2.3/8` = `10.0.0.0/8`).
 */
export function parseCidr(input: unknown): Parsed<string> {
  if (typeof input !== 'string') return fail(`expected a CIDR such as "10.0.0.0/8" or "::1/128", got ${describeValue(input)}`);
  const s = input.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) {
    return fail(slash < 0 ? `"${input}" is not an IP address or CIDR` : `"${addr}" in "${input}" is not an IPv4 or IPv6 address`);
  }
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return ok(`${addr}/${max}`);
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    return fail(`prefix length "/${lenText}" in "${input}" must be 0..${max} for an IPv${family} address`);
  }
  const canonical = `${addr}/${Number(lenText)}`;
  // Compile it exactly as the router will, so `validate` never passes what `serve` rejects
  // (e.g. an IPv4-mapped IPv6 prefix shorter than /96).
  try {
    compileTrustedProxies([canonical]);
  } catch (err) {
    return fail(`"${input}": ${(err as Error).message}`);
  }
  return ok(canonical);
}

/** RFC 9110 token characters: HTTP methods and header names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseMethod(input: unknown): Parsed<string> {
  if (typeof input !== 'string' || !TOKEN.test(input))
    return fail(`expected an HTTP method such as GET or POST, got ${describeValue(input)}`);
  return ok(input.toUpperCase());
}

export function parseHeaderName(input: unknown): Parsed<string> {
  if (typeof input !== 'string' || !TOKEN.test(input))
    return fail(`expected an HTTP header name such as "x-user-id", got ${describeValue(input)}`);
  return ok(input.toLowerCase());
}

/** Cookie names are tokens too (RFC 6265 §4.1.1). */
export function parseCookieName(input: unknown): Parsed<string> {
  if (typeof input !== 'string' || !TOKEN.test(input)) return fail(`expected a cookie name such as "uid", got ${describeValue(input)}`);
  return ok(input);
}

/** ISO 3166-1 alpha-2, upper-cased. `EU` (the GeoIP EU flag) only where allowed. */
export function parseCountry(input: unknown, allowEU: boolean): Parsed<string> {
  if (typeof input !== 'string' || !/^[A-Za-z]{2}$/.test(input)) {
    return fail(`expected a two-letter ISO 3166-1 country code such as "US"${allowEU ? ' or "EU"' : ''}, got ${describeValue(input)}`);
  }
  const c = input.toUpperCase();
  if (c === 'EU' && !allowEU) return fail('"EU" is only meaningful in residency rules; list the countries here');
  return ok(c);
}

/** Names of regions, routes and rules: they show in headers, metrics labels and admin URLs. */
const MAX_NAME_LENGTH = 64;

export function parseName(input: unknown): Parsed<string> {
  if (typeof input !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(input)) {
    return fail(`expected a name of letters, digits, ".", "_" or "-" (such as "eu-west"), got ${describeValue(input)}`);
  }
  // Names end up in headers, metric labels, log lines and admin URLs: keep them short.
  if (input.length > MAX_NAME_LENGTH)
    return fail(`"${input.slice(0, 16)}…" is ${input.length} characters long: must be at most 64 characters`);
  return ok(input);
}

export function parseHost(input: unknown): Parsed<string> {
  if (typeof input !== 'string') return fail(`expected a host name such as "api.example.com", got ${describeValue(input)}`);
  const h = input.toLowerCase().replace(/\.$/, '');
  if (isIP(h) === 0 && !isHostname(h)) {
    return fail(`"${input}" is not a host name (write the host without scheme, port or path)`);
  }
  return ok(h);
}

export function parsePathPrefix(input: unknown): Parsed<string> {
  if (typeof input !== 'string' || !input.startsWith('/')) return fail(`expected a path starting with "/", got ${describeValue(input)}`);
  if (/[?#\s]/.test(input)) return fail(`path "${input}" must not contain a query, fragment or whitespace`);
  return ok(input);
}

/** What triggers a retry: a failed connection, no response headers in time, or one of these statuses. */
export type RetryTrigger = 'connect' | 'timeout' | number;

/** `connect`, `timeout`, or a status 400..599 (a quoted "503" counts too). */
export function parseRetryTrigger(input: unknown): Parsed<RetryTrigger> {
  if (input === 'connect' || input === 'timeout') return ok(input);
  const n = typeof input === 'string' && /^\d+$/.test(input) ? Number(input) : input;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599) return ok(n);
  return fail(`expected connect, timeout or a status 400..599, got ${describeValue(input)}`);
}

function isHostname(h: string): boolean {
  return h.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h);
}

/** Short rendering of a value for messages: strings quoted, maps/lists by kind. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'a map';
}
