// Flap damping (anti-flap hysteresis), after BGP route-flap damping (RFC 2439):
// every DOWN transition of a region adds `penalty`; the penalty decays exponentially with
// `halfLifeMs`; once it exceeds `suppressLimit` the region is suppressed and stays so until the
// penalty has decayed below `reuseLimit` (hysteresis: reuseLimit < suppressLimit). `maxPenalty`
// caps the penalty so a suppression always ends within halfLife × log2(maxPenalty / reuseLimit).
// Pure functions of (config, state, now).

import type { DampingConfig } from '../types.js';

export interface DampingState {
  /** Penalty as of `at`. */
  readonly penalty: number;
  /** Epoch ms at which `penalty` was computed. */
  readonly at: number;
  /** Set when the penalty crossed suppressLimit; it ends when the decayed penalty drops below reuseLimit. */
  readonly suppressed: boolean;
}

export function initialDamping(now: number): DampingState {
  return { penalty: 0, at: now, suppressed: false };
}

/** Penalty decayed to `now`. A half-life ≤ 0 means "no memory": the penalty vanishes at once. */
export function penaltyAt(cfg: DampingConfig, s: DampingState, now: number): number {
  if (s.penalty <= 0) return 0;
  const dt = Math.max(0, now - s.at);
  if (dt === 0) return s.penalty;
  if (cfg.halfLifeMs <= 0) return 0;
  return s.penalty * Math.pow(2, -dt / cfg.halfLifeMs);
}

/** Is the region suppressed at `now`? */
export function isSuppressed(cfg: DampingConfig, s: DampingState, now: number): boolean {
  return s.suppressed && penaltyAt(cfg, s, now) >= reuseLimit(cfg);
}

/** A reuse limit ≤ 0 could never be reached by exponential decay; treat it as 1 penalty unit. */
function reuseLimit(cfg: DampingConfig): number {
  return cfg.reuseLimit > 0 ? cfg.reuseLimit : 1;
}

/** Epoch ms at which a suppression ends (penalty decays below reuseLimit), or null if not suppressed. */
export function reuseAt(cfg: DampingConfig, s: DampingState): number | null {
  if (!s.suppressed) return null;
  const reuse = reuseLimit(cfg);
  if (s.penalty < reuse) return s.at;
  if (cfg.halfLifeMs <= 0) return s.at + 1;
  // penalty · 2^(-dt/h) = reuse  ⇔  dt = h · log2(penalty / reuse); +1 ms so that at the returned
  // instant the decayed penalty is strictly below the limit (the predicate is "≥ reuse → suppressed").
  return s.at + Math.floor(cfg.halfLifeMs * Math.log2(s.penalty / reuse)) + 1;
}

/** Record one DOWN transition at `now`. A penalty of 0 disables damping. */
export function addPenalty(cfg: DampingConfig, s: DampingState, now: number): DampingState {
  if (cfg.penalty <= 0) return normalise(cfg, s, now);
  const stillSuppressed = isSuppressed(cfg, s, now);
  const penalty = Math.min(cfg.maxPenalty > 0 ? cfg.maxPenalty : Infinity, penaltyAt(cfg, s, now) + cfg.penalty);
  return { penalty, at: now, suppressed: stillSuppressed || penalty > cfg.suppressLimit };
}

/** Decay the state to `now` (keeps numbers small and makes `suppressed` current). */
export function normalise(cfg: DampingConfig, s: DampingState, now: number): DampingState {
  const penalty = penaltyAt(cfg, s, now);
  return { penalty, at: now, suppressed: s.suppressed && penalty >= reuseLimit(cfg) };
}
