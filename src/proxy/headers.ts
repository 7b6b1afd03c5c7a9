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

export interface ForwardedFacts {
  /** The socket peer. */
  peer: string;
  /** Whether the peer is a trusted proxy whose X-Forwarded-* may be kept. */
  peerTrusted: boolean;
  country: string | null;
  upgrade: boolean;
}

/**
 * Rewrite the incoming headers once, before the first attempt, so a retry does not append to
 * X-Forwarded-For a second time (http-proxy's `xfwd` mutates req.headers on every call).
 * - X-Forwarded-For: the received chain plus the peer (as nginx's $proxy_add_x_forwarded_for).
 * - X-Forwarded-Proto / -Host: kept from a trusted proxy, otherwise set from this hop.
 * - x-meridian-client-country: always ours; a client-supplied value is dropped, never trusted.
 * - Hop-by-hop fields and Expect go (Node's server already answered 100-continue).
 */
export function prepareUpstreamHeaders(headers: IncomingHttpHeaders, f: ForwardedFacts): void {
  const connection = headers.connection;
  if (typeof connection === 'string' && !f.upgrade) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && name !== 'upgrade') delete headers[name];
    }
  }
  // One pass over the fields the request has (a handful) rather than a delete per hop-by-hop name.
  for (const name in headers) {
    if (!HOP_BY_HOP.has(name) && name !== 'expect') continue;
    if (f.upgrade && (name === 'connection' || name === 'upgrade')) continue;
    if (name === 'transfer-encoding') continue; // http-proxy streams the body with the client's framing
    delete headers[name];
  }
  const prior = headers['x-forwarded-for'];
  const chain = Array.isArray(prior) ? prior.join(', ') : prior;
  headers['x-forwarded-for'] = chain ? `${chain}, ${f.peer}` : f.peer;
  if (!f.peerTrusted || !headers['x-forwarded-proto']) headers['x-forwarded-proto'] = 'http';
  if (!f.peerTrusted || !headers['x-forwarded-host']) {
    if (headers.host) headers['x-forwarded-host'] = headers.host;
    else delete headers['x-forwarded-host'];
  }
  if (f.country) headers['x-meridian-client-country'] = f.country;
  else delete headers['x-meridian-client-country'];
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
