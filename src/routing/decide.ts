// decide(): the one place routing policy lives (STYLE habit 1). Pure: no I/O, no clock, no
// randomness of its own — the caller passes `now`, the health view and `facts.rand`.
//
// Pipeline (SPEC §1 "The decision for one request"):
//   match route → read/write → selector → preference list → residency filter →
//   read-your-writes override → health filter (+ slow start) → candidates, or the all-down answer.
//
// Per-snapshot work (region names, the unknown-location order) and per-(snapshot, Geo) work (the
// nearest order with distances) is cached in WeakMaps; GeoLookup hands out shared frozen Geo
// objects, so a repeat client costs a WeakMap hit instead of N haversines and a sort.
import type { Candidate, Decision, Geo, HealthView, Reason, RequestFacts, ResidencyRule, RouteSpec, Selector, Snapshot } from '../types.js';
import { haversineKm } from './geo.js';
import { matchRoute } from './match.js';
import { rendezvousOrder, rendezvousTop } from './rendezvous.js';

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** 'read' for GET, HEAD, OPTIONS; everything else is a write (SPEC §1 "Route"). */
export function requestKind(method: string): 'read' | 'write' {
  return READ_METHODS.has(method) ? 'read' : 'write';
}

interface NearestInfo {
  readonly order: readonly string[];
  readonly reason: 'country' | 'nearest' | 'unknown-location';
  /** Distance per region name, null when the client location is unknown. */
  readonly dist: ReadonlyMap<string, number | null>;
  /** `order` with distances, shared by every decision that uses this exact list. */
  readonly candidates: readonly Candidate[];
  /** The decision detail for this order (built once, not per request). */
  readonly detail: string;
}

interface Prepared {
  readonly names: readonly string[];
  readonly unknown: NearestInfo;
  readonly byGeo: WeakMap<Geo, NearestInfo>;
  /** Some residency rule binds by home region, so the hashed home must be known. */
  readonly residencyUsesHome: boolean;
  /** Decisions remembered per health view (see decide()). */
  readonly memo: WeakMap<HealthView, ViewMemo>;
}

/** route → client location (Geo object, or null) → [read decision, write decision]. */
interface ViewMemo {
  readonly byRoute: Map<RouteSpec, Map<Geo | null, [Decision | undefined, Decision | undefined]>>;
  size: number;
}

/** Distinct (route, location) pairs remembered per health view: bounded against address floods. */
const MEMO_MAX = 4096;

const preparedBySnapshot = new WeakMap<Snapshot, Prepared>();

function prepare(snap: Snapshot): Prepared {
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

function nearestFor(p: Prepared, snap: Snapshot, geo: Geo | null): NearestInfo {
  if (geo === null || (geo.country === null && (geo.lat === null || geo.lon === null))) return p.unknown;
  let n = p.byGeo.get(geo);
  if (n === undefined) {
    n = computeNearest(snap, geo);
    p.byGeo.set(geo, n);
  }
  return n;
}

function ruleMatches(rule: ResidencyRule, geo: Geo | null, home: string | null): boolean {
  if (geo !== null) {
    if (geo.country !== null && rule.countries.has(geo.country)) return true;
    if (geo.eu && rule.countries.has('EU')) return true;
  }
  return home !== null && rule.homeRegions.has(home);
}

function list(regions: readonly string[]): string {
  return regions.length === 0 ? 'none' : regions.join(', ');
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s` : `${Math.round(ms)}ms`;
}

interface Base {
  readonly route: RouteSpec;
  readonly kind: 'read' | 'write';
  readonly selector: Selector;
}

/** The routing decision for one request. Pure; see the file comment for the pipeline. */
export function decide(snap: Snapshot, facts: RequestFacts, health: HealthView, now: number): Decision {
  const p = prepare(snap);
  const kind = requestKind(facts.method);
  const route = matchRoute(snap, facts.method, facts.path, facts.host);
  if (route === null) {
    return {
      route: null,
      kind,
      selector: null,
      region: null,
      candidates: [],
      preference: [],
      reason: 'no-route',
      residencyRule: null,
      status: 404,
      detail: `no route matches ${facts.method} ${facts.path}`,
    };
  }
  // Without a user key, an explicit home region or a write mark, the decision depends only on the
  // health view, the route, the request kind and the client location (and on `rand` only while a
  // region is in slow start, which is never remembered): remember it for as long as the view lives.
  // The view is an immutable object replaced on every change, so a remembered decision is exactly
  // what computing it again would return.
  const rememberable = facts.userKey === null && facts.homeRegion === null && facts.writeMark === null;
  if (rememberable) {
    const hit = p.memo.get(health)?.byRoute.get(route)?.get(facts.geo)?.[kind === 'read' ? 0 : 1];
    if (hit !== undefined) return hit;
  }
  const d = decideRoute(snap, p, facts, health, now, route, kind);
  if (rememberable && d.rand === false) remember(p, health, route, facts.geo, kind, d.decision);
  return d.decision;
}

function remember(p: Prepared, view: HealthView, route: RouteSpec, geo: Geo | null, kind: 'read' | 'write', d: Decision): void {
  let m = p.memo.get(view);
  if (m === undefined) p.memo.set(view, (m = { byRoute: new Map(), size: 0 }));
  let byGeo = m.byRoute.get(route);
  if (byGeo === undefined) m.byRoute.set(route, (byGeo = new Map<Geo | null, [Decision | undefined, Decision | undefined]>()));
  let pair = byGeo.get(geo);
  if (pair === undefined) {
    if (m.size >= MEMO_MAX) return;
    m.size++;
    byGeo.set(geo, (pair = [undefined, undefined]));
  }
  Object.freeze(d.candidates);
  pair[kind === 'read' ? 0 : 1] = Object.freeze(d);
}

/** decide() for a matched route; `rand` says whether the slow-start draw shaped the answer. */
function decideRoute(
  snap: Snapshot,
  p: Prepared,
  facts: RequestFacts,
  health: HealthView,
  now: number,
  route: RouteSpec,
  kind: 'read' | 'write',
): { decision: Decision; rand: boolean } {
  let usedRand = false;
  const selector = kind === 'read' ? route.reads : route.writes;
  const base: Base = { route, kind, selector };
  const near = nearestFor(p, snap, facts.geo);

  // The rendezvous ranking is needed by `home` and by residency rules keyed on home regions.
  let hashed: readonly string[] | null = null;
  const hashedOrder = (key: string): readonly string[] => (hashed ??= rendezvousOrder(key, p.names));

  // ---- 1. selector → preference list ------------------------------------------------------
  let pref: readonly string[];
  let reason: Reason;
  let detail: string;
  /** Primary selector without a write region under allDown 'try': skip the health filter. */
  let failOpenWrites = false;

  switch (selector) {
    case 'nearest':
      pref = near.order;
      reason = near.reason;
      detail = near.detail;
      break;
    case 'home': {
      const home = facts.homeRegion;
      if (home !== null && snap.regionByName.has(home)) {
        pref = [home, ...near.order.filter((r) => r !== home)];
        reason = 'home-explicit';
        detail = `explicit home region ${home}`;
      } else if (facts.userKey !== null) {
        pref = hashedOrder(facts.userKey);
        reason = 'home-hash';
        detail = `home region of the user key by rendezvous hashing is ${pref[0] ?? 'none'}`;
      } else {
        pref = near.order;
        reason = near.reason;
        detail = `no user key; ${near.detail}`;
      }
      break;
    }
    case 'primary': {
      const wr = health.writeRegion;
      reason = 'write-primary';
      if (wr === null) {
        const first = snap.writes.regions[0];
        // allDown: try never moves writes: with no write region (lost under manual failover, or no
        // candidate within maxLag) a write fails open nowhere — that is the write-region manager's
        // or the operator's call. Reads fail open to the write candidates.
        if (snap.allDown !== 'try' || first === undefined || kind === 'write') {
          return { decision: unavailable(base, near, [], 'all-down', null, 'no write region available'), rand: false };
        }
        pref = snap.writes.regions;
        failOpenWrites = true;
        detail = 'no write region available';
      } else if (kind === 'write') {
        // Writes go to the one write region and nowhere else, not even as a retry: moving writes is
        // the write-region manager's call (automatic failover once the region is lost, lag-checked,
        // or an operator's), so two regions never take writes at the same time.
        pref = [wr];
        detail = `write region ${wr}${snap.writes.failover === 'manual' ? ' (manual failover)' : ''}`;
      } else {
        pref = [wr, ...snap.writes.regions.filter((r) => r !== wr)];
        detail = `write region ${wr}`;
      }
      break;
    }
  }

  // ---- 2. residency -------------------------------------------------------------------------
  let rule: ResidencyRule | null = null;
  if (snap.residency.length > 0) {
    let home = facts.homeRegion;
    if (home === null && p.residencyUsesHome && facts.userKey !== null) {
      home = hashed !== null ? (hashed[0] ?? null) : rendezvousTop(facts.userKey, p.names);
    }
    for (const r of snap.residency) {
      if (ruleMatches(r, facts.geo, home)) {
        rule = r;
        break;
      }
    }
  }
  let allowed: readonly string[] = pref;
  if (rule !== null) {
    const only = rule.regions;
    allowed = pref.filter((r) => only.has(r));
    if (allowed.length > 0 && allowed[0] !== pref[0]) {
      reason = 'residency';
      detail = `residency rule ${rule.name} allows only ${list([...only])}; ${pref[0] ?? 'none'} skipped`;
    }
  }

  // ---- 3. read-your-writes ------------------------------------------------------------------
  const mark = facts.writeMark;
  if (kind === 'read' && route.readYourWritesMs > 0 && mark !== null && !failOpenWrites) {
    const elapsed = Math.max(0, now - mark.at);
    if (elapsed <= route.readYourWritesMs && health.isAvailable(mark.region) && (rule === null || rule.regions.has(mark.region))) {
      const local = allowed.find((r) => health.isAvailable(r));
      const localLag = local === undefined ? null : health.lagMs(local);
      if (local !== mark.region && (localLag === null || localLag > elapsed)) {
        pref = [mark.region, ...pref.filter((r) => r !== mark.region)];
        allowed = [mark.region, ...allowed.filter((r) => r !== mark.region)];
        reason = 'read-your-writes';
        detail =
          `wrote to ${mark.region} ${fmtMs(elapsed)} ago; ` +
          (local === undefined ? 'no local region available' : `${local} lag ${localLag === null ? 'unknown' : fmtMs(localLag)}`);
      }
    }
  }

  const preference = pref === near.order ? near.candidates : withDistances(pref, near);

  // ---- 4. health ----------------------------------------------------------------------------
  const candidates = failOpenWrites ? [] : allowed.filter((r) => health.isAvailable(r));
  const first = candidates[0];
  if (first === undefined) {
    return { decision: nothingAvailable(base, snap, health, preference, pref, allowed, rule, failOpenWrites), rand: false };
  }
  if (first !== allowed[0]) {
    reason = 'failover';
    detail = `${allowed[0] ?? 'preferred region'} unavailable; failing over to ${first}`;
  }
  const second = candidates[1];
  if (second !== undefined) {
    const w = health.weight(first);
    if (w < 1) usedRand = true;
    if (w < 1 && facts.rand >= w) {
      candidates[0] = second;
      candidates[1] = first;
      reason = 'failover';
      detail = `${first} is in slow start (weight ${w.toFixed(2)}); this request goes to ${second}`;
    }
  }

  const decision: Decision = {
    route,
    kind,
    selector,
    region: candidates[0] ?? null,
    candidates,
    preference,
    reason,
    residencyRule: rule?.name ?? null,
    status: null,
    detail,
  };
  return { decision, rand: usedRand };
}

function withDistances(regions: readonly string[], near: NearestInfo): Candidate[] {
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

function unavailable(
  base: Base,
  near: NearestInfo,
  preference: readonly string[],
  reason: 'all-down' | 'residency',
  rule: ResidencyRule | null,
  detail: string,
): Decision {
  return {
    ...base,
    region: null,
    candidates: [],
    preference: withDistances(preference, near),
    reason,
    residencyRule: rule?.name ?? null,
    status: 503,
    detail,
  };
}

/**
 * No allowed region is available.
 * - A residency rule applies and it is what stands between the client and an available region
 *   (some region it excludes is up): 503 'residency' — failover never crosses residency, not even
 *   with allDown 'try'.
 * - Otherwise it is a genuine all-down: 'reject' → 503 'all-down'; 'try' → fail open to the first
 *   residency-allowed preference (the rest as retry candidates). With no allowed region at all the
 *   answer is 503 'residency' when a rule emptied the list, else 503 'all-down'.
 */
function nothingAvailable(
  base: Base,
  snap: Snapshot,
  health: HealthView,
  preference: readonly Candidate[],
  pref: readonly string[],
  allowed: readonly string[],
  rule: ResidencyRule | null,
  noWriteRegion: boolean,
): Decision {
  const pref503 = (reason: 'all-down' | 'residency', detail: string): Decision => ({
    ...base,
    region: null,
    candidates: [],
    preference,
    reason,
    residencyRule: rule?.name ?? null,
    status: 503,
    detail,
  });
  if (rule !== null) {
    const only = list([...rule.regions]);
    const blockedUp = snap.regions.some((r) => !rule.regions.has(r.name) && health.isAvailable(r.name));
    if (blockedUp || allowed.length === 0) {
      return pref503('residency', `residency rule ${rule.name} allows only ${only}; none of them is available`);
    }
  }
  if (snap.allDown === 'reject' || allowed.length === 0) {
    return pref503('all-down', noWriteRegion ? 'no write region available' : `no region available (${list(pref)} all unavailable)`);
  }
  const first = allowed[0] ?? null;
  return {
    ...base,
    region: first,
    candidates: allowed,
    preference,
    reason: 'all-down',
    residencyRule: rule?.name ?? null,
    status: null,
    detail: noWriteRegion
      ? `no write region available; allDown: try sends to ${first ?? 'none'}`
      : `no region available; allDown: try sends to ${first ?? 'none'} anyway`,
  };
}
