// decide(): the one place routing policy lives. Pure: no I/O, no clock, no randomness of its own —
// the caller passes `now`, the health view and `facts.rand`.
//
// The decision for one request:
//   match route → read/write → selector → preference list → residency filter →
//   read-your-writes override → health filter (+ slow start) → candidates, or the all-down answer
//   → traffic steering (dials, spillover: steer.ts).
import type { Decision, Geo, HealthView, Reason, RequestFacts, ResidencyRule, RouteSpec, Snapshot } from '../types.js';
import { makeDecision } from './decision.js';
import { matchRoute } from './match.js';
import { nearestFor, prepare, withDistances, type NearestInfo, type Prepared } from './nearest.js';
import { rendezvousOrder, rendezvousTop } from './rendezvous.js';
import { NO_STEERING, steer, type Steering } from './steer.js';
import { list, nothingAvailable, unavailable, type Base } from './unavailable.js';

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** 'read' for GET, HEAD, OPTIONS; everything else is a write. */
export function requestKind(method: string): 'read' | 'write' {
  return READ_METHODS.has(method) ? 'read' : 'write';
}

/** Distinct (route, location) pairs remembered per health view: bounded against address floods. */
const MEMO_MAX = 4096;

/** The routing decision for one request. Pure; see the file comment for the pipeline. */
export function decide(snap: Snapshot, facts: RequestFacts, health: HealthView, now: number, steering: Steering = NO_STEERING): Decision {
  const d = unsteered(snap, facts, health, now);
  return steering.idle || readingOwnWrite(d, facts, now) ? d : steer(d, facts, steering);
}

/**
 * A read inside its route's read-your-writes window after a write: steering leaves it where it is
 * (at the region that took the write, or at a local region that has caught up with it).
 */
function readingOwnWrite(d: Decision, facts: RequestFacts, now: number): boolean {
  const mark = facts.writeMark;
  const window = d.route?.readYourWritesMs ?? 0;
  return d.kind === 'read' && mark !== null && window > 0 && now - mark.at <= window;
}

/** decide() before steering: what is remembered per health view depends on nothing per client. */
function unsteered(snap: Snapshot, facts: RequestFacts, health: HealthView, now: number): Decision {
  const p = prepare(snap);
  const kind = requestKind(facts.method);
  const route = matchRoute(snap, facts.method, facts.path, facts.host);
  if (route === null) {
    return makeDecision(
      { route: null, kind, selector: null },
      {
        region: null,
        candidates: [],
        preference: [],
        reason: 'no-route',
        residencyRule: null,
        status: 404,
        detail: `no route matches ${facts.method} ${facts.path}`,
      },
    );
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
  const d = decideRoute(snap, p, facts, health, now, { route, kind, selector: kind === 'read' ? route.reads : route.writes });
  if (rememberable && !d.usedRand) remember(p, health, route, facts.geo, kind, d.decision);
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

/** The decision being built, stage by stage. */
interface Draft {
  /** The selector's preference list (with the read-your-writes region moved first). */
  pref: readonly string[];
  /** `pref` without the regions a residency rule forbids. */
  allowed: readonly string[];
  reason: Reason;
  detail: string;
  rule: ResidencyRule | null;
  /** Primary selector without a write region under allDown 'try': skip the health filter. */
  failOpenWrites: boolean;
}

/** decide() for a matched route; `usedRand` says whether the slow-start draw shaped the answer. */
function decideRoute(
  snap: Snapshot,
  p: Prepared,
  facts: RequestFacts,
  health: HealthView,
  now: number,
  base: Base,
): { decision: Decision; usedRand: boolean } {
  const near = nearestFor(p, snap, facts.geo);
  // The rendezvous ranking is needed by `home` and by residency rules keyed on home regions.
  let hashed: readonly string[] | null = null;
  const hashedOrder = (key: string): readonly string[] => (hashed ??= rendezvousOrder(key, p.names));

  const draft = selectorPreference(snap, facts, health, base, near, hashedOrder);
  if (!('pref' in draft)) return { decision: draft, usedRand: false };
  applyResidency(snap, p, facts, draft, () => hashed);
  applyReadYourWrites(facts, health, now, base, draft);

  const preference = draft.pref === near.order ? near.candidates : withDistances(draft.pref, near);
  const candidates = draft.failOpenWrites ? [] : draft.allowed.filter((r) => health.isAvailable(r));
  const first = candidates[0];
  if (first === undefined) {
    const d = nothingAvailable(base, snap, health, preference, draft.pref, draft.allowed, draft.rule, draft.failOpenWrites);
    return { decision: d, usedRand: false };
  }
  if (first !== draft.allowed[0]) {
    draft.reason = 'failover';
    draft.detail = `${draft.allowed[0] ?? 'preferred region'} unavailable; failing over to ${first}`;
  }
  const usedRand = applySlowStart(facts, health, candidates, draft);
  const decision = makeDecision(base, {
    region: candidates[0] ?? null,
    candidates,
    preference,
    reason: draft.reason,
    residencyRule: draft.rule?.name ?? null,
    status: null,
    detail: draft.detail,
  });
  return { decision, usedRand };
}

/** Stage 1: the selector's preference list, or the answer when there is nothing to prefer. */
function selectorPreference(
  snap: Snapshot,
  facts: RequestFacts,
  health: HealthView,
  base: Base,
  near: NearestInfo,
  hashedOrder: (key: string) => readonly string[],
): Draft | Decision {
  const draft = (pref: readonly string[], reason: Reason, detail: string, failOpenWrites = false): Draft => ({
    pref,
    allowed: pref,
    reason,
    detail,
    rule: null,
    failOpenWrites,
  });
  switch (base.selector) {
    case 'nearest':
      return draft(near.order, near.reason, near.detail);
    case 'home': {
      const home = facts.homeRegion;
      if (home !== null && snap.regionByName.has(home)) {
        return draft([home, ...near.order.filter((r) => r !== home)], 'home-explicit', `explicit home region ${home}`);
      }
      if (facts.userKey !== null) {
        const pref = hashedOrder(facts.userKey);
        return draft(pref, 'home-hash', `home region of the user key by rendezvous hashing is ${pref[0] ?? 'none'}`);
      }
      return draft(near.order, near.reason, `no user key; ${near.detail}`);
    }
    case 'primary': {
      const wr = health.writeRegion;
      if (wr === null) {
        const first = snap.writes.regions[0];
        // allDown: try never moves writes: with no write region (lost under manual failover, or no
        // candidate within maxLag) a write fails open nowhere — that is the write-region manager's
        // or the operator's call. Reads fail open to the write candidates.
        if (snap.allDown !== 'try' || first === undefined || base.kind === 'write') {
          return unavailable(base, near, [], 'all-down', null, 'no write region available');
        }
        return draft(snap.writes.regions, 'write-primary', 'no write region available', true);
      }
      if (base.kind === 'write') {
        // Writes go to the one write region and nowhere else, not even as a retry: moving writes is
        // the write-region manager's call (automatic failover once the region is lost, lag-checked,
        // or an operator's), so two regions never take writes at the same time.
        const manual = snap.writes.failover === 'manual' ? ' (manual failover)' : '';
        return draft([wr], 'write-primary', `write region ${wr}${manual}`);
      }
      return draft([wr, ...snap.writes.regions.filter((r) => r !== wr)], 'write-primary', `write region ${wr}`);
    }
  }
}

/** Stage 2: the first residency rule that binds the client keeps only its regions. */
function applyResidency(snap: Snapshot, p: Prepared, facts: RequestFacts, draft: Draft, hashed: () => readonly string[] | null): void {
  if (snap.residency.length === 0) return;
  // A client's own claim of a home region may steer it, but never out of a residency rule.
  let home = facts.homeTrusted === true ? facts.homeRegion : null;
  if (home === null && p.residencyUsesHome && facts.userKey !== null) {
    const h = hashed();
    home = h !== null ? (h[0] ?? null) : rendezvousTop(facts.userKey, p.names);
  }
  const rule = snap.residency.find((r) => ruleMatches(r, facts.geo, home)) ?? null;
  if (rule === null) return;
  draft.rule = rule;
  const only = rule.regions;
  draft.allowed = draft.pref.filter((r) => only.has(r));
  if (draft.allowed.length > 0 && draft.allowed[0] !== draft.pref[0]) {
    draft.reason = 'residency';
    draft.detail = `residency rule ${rule.name} allows only ${list([...only])}; ${draft.pref[0] ?? 'none'} skipped`;
  }
}

function ruleMatches(rule: ResidencyRule, geo: Geo | null, home: string | null): boolean {
  if (geo !== null) {
    if (geo.country !== null && rule.countries.has(geo.country)) return true;
    if (geo.eu && rule.countries.has('EU')) return true;
  }
  return home !== null && rule.homeRegions.has(home);
}

/**
 * Stage 3: within the route's window after a write, reads go to the region that took it — unless
 * the local region's lag is already below the time since the write, so a local read sees it.
 */
function applyReadYourWrites(facts: RequestFacts, health: HealthView, now: number, base: Base, draft: Draft): void {
  const mark = facts.writeMark;
  if (base.kind !== 'read' || base.route.readYourWritesMs <= 0 || mark === null || draft.failOpenWrites) return;
  const elapsed = Math.max(0, now - mark.at);
  if (elapsed > base.route.readYourWritesMs || !health.isAvailable(mark.region)) return;
  if (draft.rule !== null && !draft.rule.regions.has(mark.region)) return;
  const local = draft.allowed.find((r) => health.isAvailable(r));
  const localLag = local === undefined ? null : health.lagMs(local);
  if (local === mark.region || (localLag !== null && localLag <= elapsed)) return;
  draft.pref = [mark.region, ...draft.pref.filter((r) => r !== mark.region)];
  draft.allowed = [mark.region, ...draft.allowed.filter((r) => r !== mark.region)];
  draft.reason = 'read-your-writes';
  draft.detail =
    `wrote to ${mark.region} ${fmtMs(elapsed)} ago; ` +
    (local === undefined ? 'no local region available' : `${local} lag ${localLag === null ? 'unknown' : fmtMs(localLag)}`);
}

/**
 * Stage 4b: a region in slow start takes only its weight's share of the requests that prefer it;
 * the rest go to the next candidate. Returns whether the random draw was consulted.
 */
function applySlowStart(facts: RequestFacts, health: HealthView, candidates: string[], draft: Draft): boolean {
  const first = candidates[0];
  const second = candidates[1];
  if (first === undefined || second === undefined) return false;
  const w = health.weight(first);
  if (w >= 1) return false;
  if (facts.rand >= w) {
    candidates[0] = second;
    candidates[1] = first;
    draft.reason = 'failover';
    draft.detail = `${first} is in slow start (weight ${w.toFixed(2)}); this request goes to ${second}`;
  }
  return true;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s` : `${Math.round(ms)}ms`;
}
