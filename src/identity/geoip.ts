// GeoIP with a small cache, over whichever data is configured (geo-data.ts: the bundled geoip-lite
// data or a MaxMind database). A lookup costs ~2-6 µs of parsing; traffic repeats IPs, so a bounded
// LRU makes the common case one Map hit.
import type { Geo } from '../types.js';
import type { GeoData, RawRecord } from './geo-types.js';

/** What routing needs from GeoIP; GeoLookup implements it, tests may fake it. */
export interface GeoSource {
  lookup(ip: string | null): Geo | null;
}

const DEFAULT_GEO_CACHE_SIZE = 10_000;

/**
 * Coordinates this close to (0, 0) mean "unknown": geoip-lite stores many IPv6 records as [0, 0],
 * and a database with mis-encoded doubles decodes every location to ~1e-50. Nobody browses from the
 * Gulf of Guinea's null island, so whatever the data says there is treated as no location.
 */
const NULL_ISLAND_DEGREES = 0.01;

function validLatLon(lat: unknown, lon: unknown): boolean {
  if (typeof lat !== 'number' || typeof lon !== 'number' || !Number.isFinite(lat) || !Number.isFinite(lon)) return false;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return false;
  return !(Math.abs(lat) < NULL_ISLAND_DEGREES && Math.abs(lon) < NULL_ISLAND_DEGREES);
}

/** Turn a geoip-lite record into a frozen Geo, or null when it tells us nothing. */
export function toGeo(r: RawRecord | null | undefined): Geo | null {
  if (r === null || r === undefined) return null;
  const country = typeof r.country === 'string' && r.country.length > 0 ? r.country.toUpperCase() : null;
  let lat: number | null = null;
  let lon: number | null = null;
  const ll = r.ll;
  if (ll !== undefined && validLatLon(ll[0], ll[1])) {
    lat = ll[0] as number;
    lon = ll[1] as number;
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
  private data: GeoData;
  /** Insertions and refreshes so far: an entry's age is `stamp - entry.stamp`. */
  private stamp = 0;
  /** Lookups that went to the database (for tests and metrics). */
  misses = 0;

  constructor(data: GeoData, opts: { maxEntries?: number } = {}) {
    this.max = Math.max(1, opts.maxEntries ?? DEFAULT_GEO_CACHE_SIZE);
    this.data = data;
  }

  /** The data answering lookups now. */
  get source(): GeoData {
    return this.data;
  }

  /** Answer from new data (a replaced database file); cached answers of the old data are dropped. */
  setData(data: GeoData): void {
    this.data = data;
    this.cache.clear();
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
      geo = toGeo(this.data.lookup(ip));
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
