// Client IP: the socket peer, or — when the peer is a trusted proxy — the right-most untrusted
// address of X-Forwarded-For. Walking from the right matters: the
// left part of XFF is whatever the client typed, only the hops appended by our own proxies are
// believable, so a client cannot pick its GeoIP location (and with it a residency rule) by
// sending a forged header.
import net from 'node:net';

/** Compiled `clientIp.trustedProxies`. `has` takes an address already passed through normalizeIp. */
export interface TrustedProxies {
  /** The CIDRs as given (for display). */
  readonly cidrs: readonly string[];
  has(ip: string): boolean;
}

export interface ClientIpResult {
  /** Normalised client IP, or null when unknown (malformed XFF, no peer). */
  readonly ip: string | null;
  /** X-Forwarded-For from a trusted peer held an entry that is not an IP address. */
  readonly malformed: boolean;
}

const PORT_RE = /^\d{1,5}$/;

/**
 * Normalise an IP literal: trims, strips `[...]` brackets and an IPv6 zone (`%eth0`), lower-cases
 * IPv6 and turns IPv4-mapped IPv6 (`::ffff:1.2.3.4`, `::ffff:102:304`) into plain IPv4 so that one
 * client has one key for trust checks, GeoIP and logs. Anything else → null.
 */
export function normalizeIp(s: string | null | undefined): string | null {
  if (typeof s !== 'string') return null;
  let v = s.trim();
  if (v.length === 0 || v.length > 100) return null;
  if (v.charCodeAt(0) === 91 /* [ */) {
    if (v.charCodeAt(v.length - 1) !== 93 /* ] */) return null;
    v = v.slice(1, -1);
  }
  const kind = net.isIP(v);
  if (kind === 4) return v;
  if (kind !== 6) {
    // net.isIP accepts zones on some Node versions and not others; handle them ourselves.
    const pct = v.indexOf('%');
    if (pct <= 0) return null;
    v = v.slice(0, pct);
    if (net.isIP(v) !== 6) return null;
  } else {
    const pct = v.indexOf('%');
    if (pct > 0) v = v.slice(0, pct);
  }
  v = v.toLowerCase();
  if (v.includes('ffff')) {
    const mapped = mappedIpv4(v);
    if (mapped !== null) return mapped;
  }
  return v;
}

/** `::ffff:a.b.c.d` in any spelling → `a.b.c.d`; other IPv6 → null. Input: valid lower-case IPv6. */
function mappedIpv4(v6: string): string | null {
  const g = expandIpv6(v6);
  if (g === null) return null;
  if (g[0] !== 0 || g[1] !== 0 || g[2] !== 0 || g[3] !== 0 || g[4] !== 0 || g[5] !== 0xffff) return null;
  const hi = g[6] ?? 0;
  const lo = g[7] ?? 0;
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Eight 16-bit groups of a valid IPv6 literal (no zone), or null. */
function expandIpv6(v6: string): number[] | null {
  let s = v6;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 in the last 32 bits: rewrite it as two hex groups.
    const p = last.split('.').map(Number);
    if (p.length !== 4) return null;
    const hi = ((p[0] ?? 0) << 8) | (p[1] ?? 0);
    const lo = ((p[2] ?? 0) << 8) | (p[3] ?? 0);
    s = `${s.slice(0, lastColon + 1)}${hi.toString(16)}:${lo.toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const dbl = s.indexOf('::');
  let groups: number[];
  if (dbl >= 0) {
    const head = parse(s.slice(0, dbl));
    const rest = parse(s.slice(dbl + 2));
    const fill = 8 - head.length - rest.length;
    if (fill < 0) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = parse(s);
  }
  return groups.length === 8 ? groups : null;
}

/** Dotted-quad IPv4 → unsigned 32-bit integer, or -1. */
function ipv4ToInt(s: string): number {
  let acc = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part > 255) return -1;
      acc = acc * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return acc * 256 + part;
}

/** An address as 32-bit words: 1 for IPv4, 4 for IPv6; null if not an address. */
function toWords(ip: string): number[] | null {
  if (!ip.includes(':')) {
    const v = ipv4ToInt(ip);
    return v < 0 ? null : [v];
  }
  const g = expandIpv6(ip);
  if (g === null) return null;
  const w: number[] = [];
  for (let i = 0; i < 8; i += 2) w.push((((g[i] ?? 0) << 16) | (g[i + 1] ?? 0)) >>> 0);
  return w;
}

interface Subnet {
  readonly words: readonly number[];
  readonly prefix: number;
}

function inSubnet(words: readonly number[], net: Subnet): boolean {
  let bits = net.prefix;
  for (let i = 0; i < words.length && bits > 0; i++, bits -= 32) {
    const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if (((words[i] ?? 0) & mask) >>> 0 !== ((net.words[i] ?? 0) & mask) >>> 0) return false;
  }
  return true;
}

/**
 * Compile CIDRs (bare addresses mean /32 or /128) into a matcher. IPv4-mapped IPv6 subnets
 * (`::ffff:10.0.0.0/104`) are stored as their IPv4 equivalent, since peers and hops are normalised
 * to IPv4 before the check. Throws on an invalid entry (config validates first).
 *
 * Why not node:net BlockList: its check() cost ~2.8 µs per call here (it builds SocketAddress
 * objects), and the request path checks the peer plus every XFF hop. Plain 32-bit word compares
 * cost tens of ns; the unit test cross-checks this matcher against BlockList.
 */
export function compileTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const v4: Subnet[] = [];
  const v6: Subnet[] = [];
  for (const raw of cidrs) {
    const slash = raw.indexOf('/');
    const addrPart = slash >= 0 ? raw.slice(0, slash) : raw;
    const addr = normalizeIp(addrPart);
    if (addr === null) throw new Error(`invalid trusted proxy "${raw}": not an IP address or CIDR`);
    const isV4 = net.isIP(addr) === 4;
    const wasV6 = addrPart.includes(':');
    let prefix: number;
    if (slash >= 0) {
      const p = raw.slice(slash + 1).trim();
      if (!/^\d{1,3}$/.test(p)) throw new Error(`invalid trusted proxy "${raw}": bad prefix length`);
      prefix = Number(p);
      if (isV4 && wasV6) prefix -= 96; // ::ffff:a.b.c.d/N → a.b.c.d/(N-96)
      if (prefix < 0 || prefix > (isV4 ? 32 : 128)) {
        throw new Error(`invalid trusted proxy "${raw}": prefix length out of range`);
      }
    } else {
      prefix = isV4 ? 32 : 128;
    }
    const words = toWords(addr);
    if (words === null) throw new Error(`invalid trusted proxy "${raw}"`);
    (isV4 ? v4 : v6).push({ words, prefix });
  }
  const frozen = Object.freeze([...cidrs]);
  if (cidrs.length === 0) return { cidrs: frozen, has: () => false };
  return {
    cidrs: frozen,
    has(ip: string): boolean {
      const words = toWords(ip);
      if (words === null) return false;
      const nets = words.length === 1 ? v4 : v6;
      for (const n of nets) if (inSubnet(words, n)) return true;
      return false;
    },
  };
}

/** Whether `ip` (any spelling, normalised here) is a trusted proxy. */
export function isTrustedProxy(trusted: TrustedProxies, ip: string | null | undefined): boolean {
  const n = normalizeIp(ip);
  return n !== null && trusted.has(n);
}

/**
 * One X-Forwarded-For hop → normalised IP, '' for an empty hop (skipped), or null if malformed.
 * Tolerates whitespace, `1.2.3.4:5678` and `[v6]` / `[v6]:port`, which some proxies emit.
 */
function parseHop(raw: string): string | null {
  const s = raw.trim();
  if (s.length === 0) return '';
  if (s.charCodeAt(0) === 91 /* [ */) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    const rest = s.slice(end + 1);
    if (rest.length > 0 && !(rest.charCodeAt(0) === 58 && PORT_RE.test(rest.slice(1)))) return null;
    return normalizeIp(s.slice(1, end));
  }
  const first = s.indexOf(':');
  if (first >= 0 && first === s.lastIndexOf(':')) {
    // A single colon is never IPv6: IPv4 with a port.
    const host = s.slice(0, first);
    if (net.isIP(host) !== 4 || !PORT_RE.test(s.slice(first + 1))) return null;
    return host;
  }
  return normalizeIp(s);
}

/**
 * The client IP for a request. Untrusted peer → the peer (its XFF is ignored). Trusted peer with
 * XFF → walk from the right skipping trusted hops; the first untrusted hop is the client; if every
 * hop is trusted, the left-most one. A malformed hop met on the walk makes the location unknown
 * (`ip: null, malformed: true`) rather than guessing. Never throws.
 */
export function clientIp(peer: string | undefined, xff: string | string[] | undefined, trusted: TrustedProxies): ClientIpResult {
  const peerIp = normalizeIp(peer);
  if (peerIp === null) return { ip: null, malformed: false };
  if (xff === undefined || !trusted.has(peerIp)) return { ip: peerIp, malformed: false };
  const joined = typeof xff === 'string' ? xff : xff.join(',');
  if (joined.length === 0) return { ip: peerIp, malformed: false };
  const hops = joined.split(',');
  let leftMost: string | null = null;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseHop(hops[i] ?? '');
    if (hop === null) return { ip: null, malformed: true };
    if (hop === '') continue;
    if (!trusted.has(hop)) return { ip: hop, malformed: false };
    leftMost = hop;
  }
  return { ip: leftMost ?? peerIp, malformed: false };
}

/**
 * clientIp() remembered per (peer, X-Forwarded-For) for one trusted-proxy set. A keep-alive
 * connection sends the same peer and usually the same X-Forwarded-For on every request, and the
 * walk (IP syntax checks and CIDR compares per hop) was ~1 % of the request path's CPU
 * (docs/profile.md). Results are immutable and shared. Bounded: the whole memo is dropped when it
 * reaches `maxEntries`, so a client rotating forged headers costs what an uncached walk costs.
 * A new trusted-proxy set (reload) needs a new memo.
 */
export class ClientIpMemo {
  private readonly byPeer = new Map<string, Map<string, ClientIpResult>>();
  private entries = 0;
  private readonly peers = new Map<string, boolean>();

  constructor(
    readonly trusted: TrustedProxies,
    private readonly maxEntries = 10_000,
  ) {}

  get(peer: string | undefined, xff: string | string[] | undefined): ClientIpResult {
    // Node joins repeated X-Forwarded-For lines into one string; an array only comes from callers
    // that build headers by hand, and is not worth a key.
    if (peer === undefined || Array.isArray(xff)) return clientIp(peer, xff, this.trusted);
    const key = xff ?? ''; // no header and an empty header mean the same (the peer)
    let forPeer = this.byPeer.get(peer);
    const hit = forPeer?.get(key);
    if (hit !== undefined) return hit;
    const result = Object.freeze(clientIp(peer, key, this.trusted));
    if (this.entries >= this.maxEntries) {
      this.byPeer.clear();
      this.entries = 0;
      forPeer = undefined;
    }
    if (forPeer === undefined) {
      forPeer = new Map();
      this.byPeer.set(peer, forPeer);
    }
    forPeer.set(key, result);
    this.entries++;
    return result;
  }

  /** isTrustedProxy(trusted, peer), remembered per peer address (same bound as above). */
  isTrustedPeer(peer: string | undefined): boolean {
    if (peer === undefined) return false;
    let t = this.peers.get(peer);
    if (t === undefined) {
      if (this.peers.size >= this.maxEntries) this.peers.clear();
      t = isTrustedProxy(this.trusted, peer);
      this.peers.set(peer, t);
    }
    return t;
  }
}
