// decide()'s answers when no allowed region is available: a 503 (all-down or residency), or under
// `allDown: try` the first allowed preference anyway.
import type { Candidate, Decision, HealthView, ResidencyRule, RouteSpec, Selector, Snapshot } from '../types.js';
import { makeDecision } from './decision.js';
import { withDistances, type NearestInfo } from './nearest.js';

/** What every decision of a matched route carries. */
export interface Base {
  readonly route: RouteSpec;
  readonly kind: 'read' | 'write';
  readonly selector: Selector;
}

export function list(regions: readonly string[]): string {
  return regions.length === 0 ? 'none' : regions.join(', ');
}

export function unavailable(
  base: Base,
  near: NearestInfo,
  preference: readonly string[],
  reason: 'all-down' | 'residency',
  rule: ResidencyRule | null,
  detail: string,
): Decision {
  return makeDecision(base, {
    region: null,
    candidates: [],
    preference: withDistances(preference, near),
    reason,
    residencyRule: rule?.name ?? null,
    status: 503,
    detail,
  });
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
export function nothingAvailable(
  base: Base,
  snap: Snapshot,
  health: HealthView,
  preference: readonly Candidate[],
  pref: readonly string[],
  allowed: readonly string[],
  rule: ResidencyRule | null,
  noWriteRegion: boolean,
): Decision {
  const pref503 = (reason: 'all-down' | 'residency', detail: string): Decision =>
    makeDecision(base, {
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
  return makeDecision(base, {
    region: first,
    candidates: allowed,
    preference,
    reason: 'all-down',
    residencyRule: rule?.name ?? null,
    status: null,
    detail: noWriteRegion
      ? `no write region available; allDown: try sends to ${first ?? 'none'}`
      : `no region available; allDown: try sends to ${first ?? 'none'} anyway`,
  });
}
