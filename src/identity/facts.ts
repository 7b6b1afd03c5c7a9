// Request → RequestFacts: everything decide() needs, read once from the request. Per-snapshot work
// (lower-cased header names, the largest read-your-writes window, region lookups) is done once
// and cached by snapshot identity, so the request path only reads headers and parses the cookie
// header when a configured cookie could be in it.
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseCookie } from 'cookie';
import type { RequestFacts, Snapshot, WriteMark } from '../types.js';
import { clientIp, isTrustedProxy, normalizeIp, type ClientIpMemo, type TrustedProxies } from './client-ip.js';
import type { GeoSource } from './geoip.js';
import type { WriteMarkCodec } from './write-mark.js';

export interface FactsDeps {
  /** GeoIP (a GeoLookup in production). */
  readonly geo: GeoSource;
  readonly trusted: TrustedProxies;
  /** Remembered client-IP walks for `trusted` (the request path passes one; tests may not). */
  readonly ips?: ClientIpMemo;
  /** Read-your-writes codec, or null when no route uses read-your-writes / no secret. */
  readonly marks: WriteMarkCodec | null;
  /** Epoch ms of the request. */
  readonly now: number;
  /** Uniform random in [0, 1) for slow start. */
  readonly rand: number;
}

export interface RequestInput {
  readonly method: string;
  /** The request target as received (`req.url`): origin-form or absolute-form. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Socket peer address (`req.socket.remoteAddress`). */
  readonly peer: string | undefined;
}

export interface ExplainParams {
  /** Taken as the client IP as is (no X-Forwarded-For logic). */
  readonly ip?: string;
  readonly method?: string;
  /** Path, may carry a query (ignored). */
  readonly path?: string;
  readonly host?: string;
  readonly userKey?: string;
  readonly homeRegion?: string;
  /** Extra request headers (any case), e.g. the user-key header or `cookie`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type ExplainDeps = Omit<FactsDeps, 'trusted' | 'rand'> & { readonly rand?: number };

interface Prepared {
  readonly userKeyHeader: string | null;
  readonly userKeyCookie: string | null;
  readonly homeHeader: string | null;
  readonly homeCookie: string | null;
  /** Cookie carrying the write mark, or null when no route has readYourWrites. */
  readonly markCookie: string | null;
  readonly maxWindowMs: number;
  readonly needCookies: boolean;
  /** Region names by lower-case name, so `X-Home-Region: EU-West` still finds `eu-west`. */
  readonly regionByLower: ReadonlyMap<string, string>;
}

const prepared = new WeakMap<Snapshot, Prepared>();

function prepare(snap: Snapshot): Prepared {
  let p = prepared.get(snap);
  if (p !== undefined) return p;
  let maxWindowMs = 0;
  for (const r of snap.routes) if (r.readYourWritesMs > maxWindowMs) maxWindowMs = r.readYourWritesMs;
  const lower = (s: string | null): string | null => (s === null || s.length === 0 ? null : s.toLowerCase());
  const nonEmpty = (s: string | null): string | null => (s === null || s.length === 0 ? null : s);
  const userKeyCookie = nonEmpty(snap.affinity.userKey.cookie);
  const homeCookie = nonEmpty(snap.affinity.homeRegion.cookie);
  const markCookie = maxWindowMs > 0 ? nonEmpty(snap.readYourWrites.cookie) : null;
  const regionByLower = new Map<string, string>();
  for (const r of snap.regions) regionByLower.set(r.name.toLowerCase(), r.name);
  p = {
    userKeyHeader: lower(snap.affinity.userKey.header),
    userKeyCookie,
    homeHeader: lower(snap.affinity.homeRegion.header),
    homeCookie,
    markCookie,
    maxWindowMs,
    needCookies: userKeyCookie !== null || homeCookie !== null || markCookie !== null,
    regionByLower,
  };
  prepared.set(snap, p);
  return p;
}

/** The largest `readYourWrites` window of any route in the snapshot (0 when none). */
export function maxReadYourWritesMs(snap: Snapshot): number {
  return prepare(snap).maxWindowMs;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v[0];
}

type Cookies = Record<string, string | undefined>;
const NO_COOKIES: Cookies = Object.freeze(Object.create(null) as Cookies);

function cookies(headers: IncomingHttpHeaders): Cookies {
  const raw = headers.cookie;
  if (raw === undefined || raw.length === 0) return NO_COOKIES;
  try {
    return parseCookie(raw);
  } catch {
    return NO_COOKIES;
  }
}

function nonEmptyTrimmed(v: string | undefined): string | null {
  if (v === undefined) return null;
  const t = v.trim();
  return t.length === 0 ? null : t;
}

function findChar2(s: string, from: number, a: number, b: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === a || c === b) return i;
  }
  return s.length;
}

const Q = 63; // ?
const HASH = 35; // #
const SLASH = 47; // /

/**
 * Split a request target into its path (no query/fragment) and, for absolute-form, its authority.
 * Paths are matched raw, without percent-decoding, like the backend receives them. Other forms
 * (`*` of `OPTIONS *`, authority-form of CONNECT) are returned as is and match no `/` prefix.
 */
export function splitTarget(url: string): { path: string; authority: string | null } {
  if (url.charCodeAt(0) === SLASH) return { path: url.slice(0, findChar2(url, 0, Q, HASH)), authority: null };
  const scheme = url.indexOf('://');
  if (scheme > 0) {
    const start = scheme + 3;
    let end = start;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === SLASH || c === Q || c === HASH) break;
      end++;
    }
    let authority = url.slice(start, end);
    const at = authority.lastIndexOf('@');
    if (at >= 0) authority = authority.slice(at + 1);
    const path = url.charCodeAt(end) === SLASH ? url.slice(end, findChar2(url, end, Q, HASH)) : '/';
    return { path, authority: authority.length > 0 ? authority : null };
  }
  return { path: url.length > 0 ? url : '/', authority: null };
}

/**
 * Host header value → lower-case host without port and without a trailing dot. IPv6 literals keep
 * their brackets (`[::1]`), as WHATWG URL's `hostname` does; route matching accepts both spellings.
 */
export function parseHost(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null;
  let s = raw.trim().toLowerCase();
  if (s.length === 0) return null;
  if (s.charCodeAt(0) === 91 /* [ */) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    s = s.slice(0, end + 1);
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0) s = s.slice(0, colon);
    if (s.endsWith('.')) s = s.slice(0, -1);
  }
  return s.length > 0 ? s : null;
}

function resolveRegion(p: Prepared, snap: Snapshot, v: string | null): string | null {
  if (v === null) return null;
  if (snap.regionByName.has(v)) return v;
  return p.regionByLower.get(v.toLowerCase()) ?? null;
}

/** Shared tail of buildFacts/factsFromExplain: user key, home region, write mark. */
function identityParts(
  p: Prepared,
  snap: Snapshot,
  headers: IncomingHttpHeaders,
  marks: WriteMarkCodec | null,
  now: number,
): { userKey: string | null; homeRegion: string | null; writeMark: WriteMark | null } {
  let jar: Cookies | null = null;
  const cookie = (name: string | null): string | undefined => {
    if (name === null) return undefined;
    if (jar === null) jar = p.needCookies ? cookies(headers) : NO_COOKIES;
    return jar[name];
  };

  let userKey = p.userKeyHeader !== null ? nonEmptyTrimmed(header(headers, p.userKeyHeader)) : null;
  if (userKey === null) userKey = nonEmptyTrimmed(cookie(p.userKeyCookie));

  let homeRegion = p.homeHeader !== null ? resolveRegion(p, snap, nonEmptyTrimmed(header(headers, p.homeHeader))) : null;
  if (homeRegion === null) homeRegion = resolveRegion(p, snap, nonEmptyTrimmed(cookie(p.homeCookie)));

  let writeMark: WriteMark | null = null;
  const window = p.maxWindowMs;
  if (marks !== null && p.markCookie !== null && window > 0) {
    const raw = cookie(p.markCookie);
    if (raw !== undefined) {
      const m = marks.verify(raw, now, window);
      // A mark naming a region that is no longer configured (reload) is ignored.
      if (m !== null && snap.regionByName.has(m.region)) writeMark = m;
    }
  }
  return { userKey, homeRegion, writeMark };
}

/** Build the facts of a live request. Never throws on hostile input. */
export function buildFacts(input: RequestInput, snap: Snapshot, deps: FactsDeps): RequestFacts {
  const p = prepare(snap);
  const headers = input.headers;
  const xff = headers['x-forwarded-for'];
  const { ip } =
    deps.ips !== undefined && deps.ips.trusted === deps.trusted ? deps.ips.get(input.peer, xff) : clientIp(input.peer, xff, deps.trusted);
  const target = splitTarget(input.url);
  // RFC 9112 §3.2.2: with an absolute-form target the Host header is ignored in favour of the URI.
  const host = parseHost(target.authority ?? headers.host);
  const parts = identityParts(p, snap, headers, deps.marks, deps.now);
  return {
    method: input.method.toUpperCase(),
    path: target.path,
    host,
    ip,
    geo: deps.geo.lookup(ip),
    userKey: parts.userKey,
    homeRegion: parts.homeRegion,
    homeTrusted: parts.homeRegion !== null && isTrustedProxy(deps.trusted, input.peer),
    writeMark: parts.writeMark,
    rand: deps.rand,
  };
}

/**
 * Facts for `meridian explain` and `GET /admin/explain`: the IP is the client IP as given
 * (invalid → unknown location), method defaults to GET, path to `/`. `userKey` / `homeRegion`
 * win over the same information in `headers`. `rand` defaults to 0 (no slow-start diversion).
 */
export function factsFromExplain(params: ExplainParams, snap: Snapshot, deps: ExplainDeps): RequestFacts {
  const p = prepare(snap);
  const headers: IncomingHttpHeaders = {};
  if (params.headers !== undefined) {
    for (const [k, v] of Object.entries(params.headers)) headers[k.toLowerCase()] = v;
  }
  const ip = normalizeIp(params.ip);
  const target = splitTarget(params.path !== undefined && params.path.length > 0 ? params.path : '/');
  const host = parseHost(params.host ?? target.authority ?? headers.host);
  const parts = identityParts(p, snap, headers, deps.marks, deps.now);
  const userKey = nonEmptyTrimmed(params.userKey) ?? parts.userKey;
  const homeRegion = resolveRegion(p, snap, nonEmptyTrimmed(params.homeRegion)) ?? parts.homeRegion;
  return {
    method: (params.method ?? 'GET').toUpperCase(),
    path: target.path,
    host,
    ip,
    geo: deps.geo.lookup(ip),
    userKey,
    homeRegion,
    // An operator asking "what if this user's home were X" speaks for a trusted proxy.
    homeTrusted: homeRegion !== null,
    writeMark: parts.writeMark,
    rand: deps.rand ?? 0,
  };
}
