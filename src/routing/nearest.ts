// The `nearest` preference order and everything decide() computes once per config snapshot.
//
// Per-snapshot work (region names, the unknown-location order) and per-(snapshot, Geo) work (the
// nearest order with distances) is cached in WeakMaps; GeoLookup hands out shared frozen Geo
// objects, so a repeat client costs a WeakMap hit instead of N haversines and a sort.
import type { Candidate, Decision, Geo, HealthView, RouteSpec, Snapshot } from '../types.js';
import { haversineKm } from './geo.js';

export interface NearestInfo {
  readonly order: readonly string[];
  readonly reason: 'country' | 'nearest' | 'unknown-location';
  /** Distance per region name, null when the client location is unknown. */
  readonly dist: ReadonlyMap<string, number | null>;
  /** `order` with distances, shared by every decision that uses this exact list. */
  readonly candidates: readonly Candidate[];
  /** The decision detail for this order (built once, not per request). */
  readonly detail: string;
}

/** route → client location (Geo object, or null) → [read decision, write decision]. */
interface ViewMemo {
  readonly byRoute: Map<RouteSpec, Map<Geo | null, [Decision | undefined, Decision | undefined]>>;
  size: number;
}

export interface Prepared {
  readonly names: readonly string[];
  readonly unknown: NearestInfo;
  readonly byGeo: WeakMap<Geo, NearestInfo>;
  /** Some residency rule binds by home region, so the hashed home must be known. */
  readonly residencyUsesHome: boolean;
  /** Decisions remembered per health view (see decide()). */
  readonly memo: WeakMap<HealthView, ViewMemo>;
}

const preparedBySnapshot = new WeakMap<Snapshot, Prepared>();

export function prepare(snap: Snapshot): Prepared {
  let p = preparedBySnapshot.get(snap);
  if (p === undefined) {
    p = {
      names: Object.freeze(snap.regions.map((r) => r.name)),
      unknown: computeNearest(snap, null),
      byGeo: new WeakMap(),
      residencyUsesHome: snap.residency.some((r) => r.homeRegions.size > 0),
      memo: new WeakMap(),
    };
    preparedBySnapshot.set(snap, p);
  }
  return p;
}

/**
 * Nearest order: regions listing the client's country first, then by great-circle distance
 * (ties: config order). Without coordinates: country regions first (config order), then
 * `unknownLocation`, then the rest in config order.
 */
function computeNearest(snap: Snapshot, geo: Geo | null): NearestInfo {
  const lat = geo?.lat ?? null;
  const lon = geo?.lon ?? null;
  const located = lat !== null && lon !== null;
  const country = geo?.country ?? null;
  const dist = new Map<string, number | null>();
  for (const r of snap.regions) dist.set(r.name, located ? haversineKm(lat, lon, r.lat, r.lon) : null);

  const pinned = country === null ? [] : snap.regions.filter((r) => r.countries.has(country));
  let rest = snap.regions.filter((r) => !pinned.includes(r));
  if (located) {
    const byDistance = (a: (typeof snap.regions)[number], b: (typeof snap.regions)[number]): number =>
      (dist.get(a.name) ?? 0) - (dist.get(b.name) ?? 0) || a.index - b.index;
    pinned.sort(byDistance);
    rest.sort(byDistance);
  } else {
    const fallback = snap.regions.find((r) => r.name === snap.unknownLocation);
    if (fallback !== undefined && !pinned.includes(fallback)) {
      rest = [fallback, ...rest.filter((r) => r !== fallback)];
    }
  }
  const order = Object.freeze([...pinned, ...rest].map((r) => r.name));
  const reason = pinned.length > 0 ? 'country' : located ? 'nearest' : 'unknown-location';
  const candidates = Object.freeze(order.map((region) => Object.freeze({ region, distanceKm: dist.get(region) ?? null })));
  return { order, reason, dist, candidates, detail: nearestDetail(order, reason, dist, country) };
}

export function nearestFor(p: Prepared, snap: Snapshot, geo: Geo | null): NearestInfo {
  if (geo === null || (geo.country === null && (geo.lat === null || geo.lon === null))) return p.unknown;
  let n = p.byGeo.get(geo);
  if (n === undefined) {
    n = computeNearest(snap, geo);
    p.byGeo.set(geo, n);
  }
  return n;
}

export function withDistances(regions: readonly string[], near: NearestInfo): Candidate[] {
  return regions.map((region) => ({ region, distanceKm: near.dist.get(region) ?? null }));
}

function nearestDetail(
  order: readonly string[],
  reason: NearestInfo['reason'],
  dist: ReadonlyMap<string, number | null>,
  country: string | null,
): string {
  const first = order[0] ?? 'none';
  switch (reason) {
    case 'country':
      return `${first} serves clients from ${country ?? '?'}`;
    case 'nearest': {
      const d = dist.get(first);
      return `${first} is nearest${d === null || d === undefined ? '' : ` (${Math.round(d)} km)`}`;
    }
    case 'unknown-location':
      return `client location unknown; ${first} is the unknownLocation region`;
  }
}
