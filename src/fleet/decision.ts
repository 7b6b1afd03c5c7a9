// The leader's write-region decision: pure, the clock is an argument. Same rules as a single router's
// write-region choice, but every "is it up" is a question to the fleet: a region counts as down only
// when `quorum` live members see it down, and as up only when `quorum` live members see it up. One
// router with a broken network path therefore cannot move the fleet's writes, and with no candidate
// that a quorum sees up, the write region does not move.
//
// Rules (current write region R, candidates in `regions` priority order):
// - no write key yet: the first candidate a quorum sees up (epoch 1, created by the first leader).
// - R seen down by a quorum, failover automatic: the candidate a quorum sees up with the lowest
//   reported lag at or below maxLag (unknown lag only with allowUnknownLag, ranked after known lags;
//   ties by priority). failover manual: keep (writes are refused until an operator moves them).
// - failback automatic: a higher-priority candidate that a quorum saw down since R was chosen, and
//   that a quorum has seen up for failbackDelay without a break, with qualifying lag.
// The lag of a region is the highest lag reported by the members that see it up: those reports are
// the same replica read at different times, and the highest one is the safe reading.
import type { Quorum } from './config.js';
import type { WriteKey } from './records.js';

export interface WritePolicy {
  /** Regions allowed to take writes, in priority order. */
  readonly regions: readonly string[];
  readonly failover: 'automatic' | 'manual';
  readonly failback: 'automatic' | 'manual';
  readonly maxLagMs: number;
  readonly allowUnknownLag: boolean;
  readonly failbackDelayMs: number;
}

export interface FleetView {
  /** Live members (those with a membership key), whether or not they published a view yet. */
  readonly liveMembers: number;
  /** Region name → each view's opinion, for the members that published one. */
  readonly views: readonly { readonly regions: Readonly<Record<string, { up: boolean; lagMs: number | null }>> }[];
}

/** What the leader remembers between decisions (it is rebuilt when leadership changes hands). */
export interface LeaderMemory {
  /** The write epoch the memory was built for; regions seen down are tracked per epoch. */
  readonly epoch: number;
  /** Candidates a quorum saw down since the current write region was chosen (failback targets). */
  readonly wentDown: ReadonlySet<string>;
  /** Since when a quorum has seen each region up without a break. */
  readonly upSince: ReadonlyMap<string, number>;
}

export type Decision =
  | { readonly kind: 'keep'; readonly why: string }
  | { readonly kind: 'create'; readonly region: string; readonly why: string }
  | { readonly kind: 'move'; readonly region: string; readonly why: string };

export function quorumSize(q: Quorum, liveMembers: number): number {
  return q === 'majority' ? Math.floor(liveMembers / 2) + 1 : q;
}

interface Tally {
  up: number;
  down: number;
  /** Highest lag among the members that see the region up; null when none reported one. */
  lagMs: number | null;
}

function tally(view: FleetView, region: string): Tally {
  const t: Tally = { up: 0, down: 0, lagMs: null };
  for (const v of view.views) {
    const r = v.regions[region];
    if (!r) continue;
    if (r.up) {
      t.up++;
      if (r.lagMs !== null) t.lagMs = t.lagMs === null ? r.lagMs : Math.max(t.lagMs, r.lagMs);
    } else t.down++;
  }
  return t;
}

export function emptyMemory(): LeaderMemory {
  return { epoch: 0, wentDown: new Set(), upSince: new Map() };
}

export function decideWriteRegion(
  policy: WritePolicy,
  quorum: Quorum,
  view: FleetView,
  current: WriteKey | null,
  memory: LeaderMemory,
  now: number,
): { decision: Decision; memory: LeaderMemory } {
  const need = quorumSize(quorum, view.liveMembers);
  const tallies = new Map(policy.regions.map((r) => [r, tally(view, r)] as const));
  const isUp = (r: string): boolean => (tallies.get(r)?.up ?? 0) >= need;
  const isDown = (r: string): boolean => (tallies.get(r)?.down ?? 0) >= need;
  const lagOk = (r: string): boolean => {
    const lag = tallies.get(r)?.lagMs ?? null;
    return lag === null ? policy.allowUnknownLag : lag <= policy.maxLagMs;
  };

  const upSince = new Map<string, number>();
  for (const r of policy.regions) if (isUp(r)) upSince.set(r, memory.upSince.get(r) ?? now);
  // A new epoch (or a new leader) starts the failback bookkeeping over: only regions that a quorum
  // sees down from now on become failback targets, so a leader change never moves writes by itself.
  const fresh = current !== null && memory.epoch !== current.epoch;
  const wentDown = new Set(fresh ? [] : memory.wentDown);
  for (const r of policy.regions) if (isDown(r)) wentDown.add(r);
  const next: LeaderMemory = { epoch: current?.epoch ?? 0, wentDown, upSince };
  const out = (decision: Decision): { decision: Decision; memory: LeaderMemory } => ({ decision, memory: next });

  if (policy.regions.length === 0) return out({ kind: 'keep', why: 'no write regions configured' });
  if (need > view.liveMembers) return out({ kind: 'keep', why: `quorum ${need} exceeds ${view.liveMembers} live members` });

  if (current === null) {
    const first = policy.regions.find(isUp);
    return out(first ? { kind: 'create', region: first, why: 'initial' } : { kind: 'keep', why: 'no candidate seen up by a quorum' });
  }

  const cur = current.region;
  if (isDown(cur)) {
    if (policy.failover === 'manual') return out({ kind: 'keep', why: `${cur} down, failover manual: waiting for an operator` });
    const best = pickLowestLag(policy.regions, cur, isUp, lagOk, tallies);
    if (best === null) return out({ kind: 'keep', why: `${cur} down, no candidate seen up by a quorum within maxLag` });
    return out({ kind: 'move', region: best, why: `failover: ${cur} seen down by a quorum` });
  }

  if (policy.failback === 'automatic') {
    const idx = policy.regions.indexOf(cur);
    const higher = idx < 0 ? policy.regions : policy.regions.slice(0, idx);
    for (const r of higher) {
      const since = upSince.get(r);
      if (!wentDown.has(r) || since === undefined || now - since < policy.failbackDelayMs || !lagOk(r)) continue;
      return out({ kind: 'move', region: r, why: `failback: ${r} recovered` });
    }
  }
  return out({ kind: 'keep', why: 'write region healthy' });
}

function pickLowestLag(
  regions: readonly string[],
  exclude: string,
  isUp: (r: string) => boolean,
  lagOk: (r: string) => boolean,
  tallies: ReadonlyMap<string, Tally>,
): string | null {
  let best: string | null = null;
  let bestRank = Infinity;
  for (const r of regions) {
    if (r === exclude || !isUp(r) || !lagOk(r)) continue;
    const lag = tallies.get(r)?.lagMs ?? null;
    // unknown lag ranks after every known lag; strict < keeps priority order on ties
    const rank = lag === null ? Number.MAX_VALUE : lag;
    if (best === null || rank < bestRank) {
      best = r;
      bestRank = rank;
    }
  }
  return best;
}
