// GeoIP with a small cache. geoip-lite 1.4.10 (2024 data, declares Node >= 10) is the pinned
// version: 2.x declares Node >= 24 and we run on Node 20 (PITFALLS.md). Its database loads
// synchronously when this module is first imported (~140 ms, ~150 MB RSS) — importing this file is
// the moment that cost is paid, so modules that only need the types import them with `import type`.
// A lookup costs ~6 µs of string parsing; traffic repeats IPs, so a bounded LRU makes the common
// case one Map hit.
import geoip from 'geoip-lite';
import type { Geo } from '../types.js';

/** What routing needs from GeoIP; GeoLookup implements it, tests may fake it. */
export interface GeoSource {
  lookup(ip: string | null): Geo | null;
}

/** geoip-lite's record shape, loosened: the data has empty countries and null coordinates. */
interface RawRecord {
  readonly country?: string;
  readonly eu?: string;
  readonly ll?: readonly (number | null)[];
}

export type RawLookup = (ip: string) => RawRecord | null;

export const DEFAULT_GEO_CACHE_SIZE = 10_000;

/** Turn a geoip-lite record into a frozen Geo, or null when it tells us nothing. */
export function toGeo(r: RawRecord | null | undefined): Geo | null {
  if (r === null || r === undefined) return null;
  const country = typeof r.country === 'string' && r.country.length > 0 ? r.country.toUpperCase() : null;
  let lat: number | null = null;
  let lon: number | null = null;
  const ll = r.ll;
  if (ll !== undefined) {
    const a = ll[0];
    const b = ll[1];
    // [0, 0] is geoip-lite's "unknown" for many IPv6 records, not a client in the Gulf of Guinea.
    if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b) && !(a === 0 && b === 0)) {
      lat = a;
      lon = b;
    }
  }
  if (country === null && lat === null) return null;
  return Object.freeze({ country, eu: r.eu === '1', lat, lon });
}

/**
 * Cached GeoIP lookups. The cache is an LRU over Map insertion order: a hit re-inserts the entry
 * once it has aged past half the cache (so a hot entry sits in the newer half and is never the one
 * evicted, while most hits are a single Map lookup), a miss evicts the oldest entry when full.
 * Unknown and private addresses cache `null` too, so a flood from one unresolvable address is as
 * cheap as any other.
 * Returned Geo objects are frozen and shared: routing caches per-Geo work by object identity.
 */
export class GeoLookup implements GeoSource {
  private readonly cache = new Map<string, { readonly geo: Geo | null; stamp: number }>();
  private readonly max: number;
  private readonly raw: RawLookup;
  /** Insertions and refreshes so far: an entry's age is `stamp - entry.stamp`. */
  private stamp = 0;
  /** Lookups that went to the database (for tests and metrics). */
  misses = 0;

  constructor(opts: { maxEntries?: number; lookup?: RawLookup } = {}) {
    this.max = Math.max(1, opts.maxEntries ?? DEFAULT_GEO_CACHE_SIZE);
    this.raw = opts.lookup ?? ((ip: string) => geoip.lookup(ip));
  }

  get size(): number {
    return this.cache.size;
  }

  lookup(ip: string | null): Geo | null {
    if (ip === null || ip.length === 0) return null;
    const hit = this.cache.get(ip);
    if (hit !== undefined) {
      if (this.stamp - hit.stamp >= this.max >> 1) {
        // Old enough to be in the older half: move it to the newest end.
        this.cache.delete(ip);
        hit.stamp = ++this.stamp;
        this.cache.set(ip, hit);
      }
      return hit.geo;
    }
    this.misses++;
    let geo: Geo | null;
    try {
      geo = toGeo(this.raw(ip));
    } catch {
      geo = null;
    }
    if (this.cache.size >= this.max) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(ip, { geo, stamp: ++this.stamp });
    return geo;
  }

  clear(): void {
    this.cache.clear();
  }
}
