import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

// RFC 9110 §7.6.1: connection-specific fields are not forwarded by a proxy.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/**
 * Turn the request target into origin-form (path + query). An absolute-form target
 * (`GET http://elsewhere/x`) must never pick the upstream: the upstream is always the chosen
 * region's endpoint, so only its path and query survive. `*` (OPTIONS *) and malformed targets
 * become `/`.
 */
export function originForm(target: string | undefined): string {
  if (!target) return '/';
  if (target.charCodeAt(0) === 47 /* '/' */) return target;
  try {
    const u = new URL(target);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}

/**
 * The authority of an absolute-form target (`GET http://host:port/x`), lower-cased, or null for the
 * usual origin form. The request is routed by it (RFC 9112 §3.2.2: Host is then ignored), so the
 * upstream must see it as Host too, or a route's match.host could be passed by one name and the
 * backend served another.
 */
export function absoluteAuthority(target: string | undefined): string | null {
  if (!target || target.charCodeAt(0) === 47 /* '/' */ || target === '*') return null;
  try {
    const host = new URL(target).host;
    return host === '' ? null : host;
  } catch {
    return null;
  }
}

const FRAMING_IN_CONNECTION = {
  code: 'bad_request',
  message: 'the Connection header names a framing field (content-length, transfer-encoding or host)',
} as const;

/**
 * A Connection header naming a field that frames the message (content-length, transfer-encoding,
 * host): a proxy honouring it would drop that field, and the backend would read the body, or the
 * bytes after a handshake, differently from the router. The answer is a 400; null when the header
 * is fine.
 */
export function framingRefusal(connection: string | undefined): typeof FRAMING_IN_CONNECTION | null {
  if (connection === undefined) return null;
  const v = connection.toLowerCase();
  const names = v.includes('content-length') || v.includes('transfer-encoding') || /(^|[\s,])host([\s,]|$)/.test(v);
  return names ? FRAMING_IN_CONNECTION : null;
}

export interface ForwardedFacts {
  /** The socket peer. */
  peer: string;
  /** Whether the peer is a trusted proxy whose X-Forwarded-* may be kept. */
  peerTrusted: boolean;
  country: string | null;
  upgrade: boolean;
  /** An absolute-form target's authority: it becomes the Host sent upstream. */
  authority: string | null;
  /** The protocol of this hop (the public listener's). */
  proto: 'http' | 'https';
  /** In a fleet, the write epoch a primary request carries (SharedGate.ticket); else null. */
  writeEpoch: string | null;
}

/**
 * The header fields to send upstream, computed once before the first attempt, so a retry does not
 * append to X-Forwarded-For a second time (http-proxy's `xfwd` mutates req.headers on every call).
 * - X-Forwarded-For: from a trusted proxy, the received chain plus the peer (as nginx's
 *   $proxy_add_x_forwarded_for); from anyone else, the peer alone (a client's own chain is a claim).
 * - X-Forwarded-Proto / -Host: kept from a trusted proxy, otherwise set from this hop.
 * - Forwarded, X-Real-IP: kept from a trusted proxy only; the router sets only X-Forwarded-*.
 * - x-meridian-*: always ours; whatever a client sends under that prefix is dropped, never trusted.
 *   In a fleet a primary request gets x-meridian-write-epoch, the fencing token (shared-gate.ts):
 *   only the router may speak for the fleet, a client's own epoch would poison the data tier's fence.
 * - Hop-by-hop fields, those the Connection field names, and Expect go (Node's server already
 *   answered 100-continue). An upgrade keeps Connection and Upgrade; Transfer-Encoding stays because
 *   http-proxy streams the body with the client's framing.
 *
 * A new object rather than deletes on req.headers: a deleted property turns an object into a
 * hash-table ("dictionary mode") object, and http-proxy copies the headers per attempt and Node
 * walks the copy again; both are several times slower on such an object.
 */
export function upstreamHeaders(headers: IncomingHttpHeaders, f: ForwardedFacts): IncomingHttpHeaders {
  let listed: string[] | null = null;
  const connection = headers.connection;
  if (typeof connection === 'string' && !f.upgrade) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && name !== 'upgrade' && !HOP_BY_HOP.has(name)) (listed ??= []).push(name);
    }
  }
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name === 'expect') {
      const kept = name === 'transfer-encoding' || (f.upgrade && (name === 'connection' || name === 'upgrade'));
      if (!kept) continue;
    } else if (listed !== null && listed.includes(name)) {
      continue;
    } else if (name.startsWith('x-meridian-')) {
      continue;
    } else if (name === 'x-forwarded-proto' || name === 'x-forwarded-host') {
      if (!f.peerTrusted || !headers[name]) continue;
    } else if (name === 'x-forwarded-for' || name === 'forwarded' || name === 'x-real-ip') {
      if (!f.peerTrusted) continue;
    }
    out[name] = headers[name];
  }
  if (f.authority !== null) out.host = f.authority;
  const prior = out['x-forwarded-for'];
  const chain = Array.isArray(prior) ? prior.join(', ') : prior;
  out['x-forwarded-for'] = chain ? `${chain}, ${f.peer}` : f.peer;
  out['x-forwarded-proto'] ??= f.proto;
  if (out['x-forwarded-host'] === undefined && out.host) out['x-forwarded-host'] = out.host;
  if (f.country) out['x-meridian-client-country'] = f.country;
  if (f.writeEpoch !== null) out['x-meridian-write-epoch'] = f.writeEpoch;
  return out;
}

/** GET, HEAD, OPTIONS, PUT, DELETE, TRACE: safe to send twice (RFC 9110 §9.2.2). */
export function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE' || method === 'TRACE';
}

/** Whether the request carries a body, from its framing headers. */
export function bodyLength(req: IncomingMessage): number | 'chunked' {
  if (req.headers['transfer-encoding'] !== undefined) return 'chunked';
  const cl = req.headers['content-length'];
  if (cl === undefined) return 0;
  const n = Number(cl);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
