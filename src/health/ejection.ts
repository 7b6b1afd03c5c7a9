// Passive ejection (outlier detection). Pure functions of (config, state, now).
//
// Detection: `consecutiveFailures` failed live requests in a row (connect failure, timeout, 5xx as
// reported by the proxy) eject the endpoint at once; any success resets the count. Failures reported
// while the endpoint is ejected (requests that were already in flight) are ignored.
//
// Backoff: the n-th ejection in a row lasts ejectForMs × min(2^(n-1), maxEjectMultiplier).
// RESET RULE: the count of ejections in a row goes back to zero once the endpoint has stayed clean —
// not ejected — for resetAfterMs(cfg) = 2 × ejectForMs × maxEjectMultiplier after its last ejection
// ended (twice the longest possible ejection, so an endpoint failing every few minutes keeps a long
// ejection, but one that failed once yesterday starts again at ejectFor).
//
// Acting (kept separate from detecting, like Envoy): see maxEjectable / mayEject below.

import type { PassiveConfig } from '../types.js';

export interface EjectionState {
  /** Consecutive failed live requests since the last success / ejection. */
  readonly consecutive: number;
  /** Ejections in a row (drives the doubling). */
  readonly ejections: number;
  /** Epoch ms the current ejection ends; ≤ now when not ejected (0 = never ejected). */
  readonly ejectedUntil: number;
}

export const initialEjection: EjectionState = Object.freeze({ consecutive: 0, ejections: 0, ejectedUntil: 0 });

export function isEjected(s: EjectionState, now: number): boolean {
  return s.ejectedUntil > now;
}

function multiplierCap(cfg: PassiveConfig): number {
  return Math.max(1, cfg.maxEjectMultiplier);
}

/** How long an endpoint must stay un-ejected after its last ejection for the doubling to reset. */
export function resetAfterMs(cfg: PassiveConfig): number {
  return 2 * cfg.ejectForMs * multiplierCap(cfg);
}

export type Outcome =
  | { readonly state: EjectionState; readonly eject: null; readonly wanted: boolean }
  | { readonly state: EjectionState; readonly eject: { readonly forMs: number; readonly multiplier: number }; readonly wanted: true };

/**
 * Record one live request outcome. `allowed()` is asked only when the failure count reaches the
 * threshold; when it says no, the endpoint stays in and `wanted` tells the caller an ejection was
 * refused (the next failure asks again). `consecutiveFailures` ≤ 0 disables passive ejection.
 */
export function recordOutcome(cfg: PassiveConfig, s: EjectionState, ok: boolean, now: number, allowed: () => boolean): Outcome {
  if (isEjected(s, now)) return { state: s, eject: null, wanted: false };
  if (ok) return { state: s.consecutive === 0 ? s : { ...s, consecutive: 0 }, eject: null, wanted: false };
  if (cfg.consecutiveFailures <= 0 || cfg.ejectForMs <= 0) return { state: s, eject: null, wanted: false };
  const consecutive = s.consecutive + 1;
  if (consecutive < cfg.consecutiveFailures) return { state: { ...s, consecutive }, eject: null, wanted: false };
  if (!allowed()) return { state: { ...s, consecutive }, eject: null, wanted: true };
  const clean = s.ejections > 0 && now - s.ejectedUntil >= resetAfterMs(cfg);
  const prior = clean ? 0 : s.ejections;
  const multiplier = Math.min(2 ** prior, multiplierCap(cfg));
  const forMs = cfg.ejectForMs * multiplier;
  return {
    state: { consecutive: 0, ejections: prior + 1, ejectedUntil: now + forMs },
    eject: { forMs, multiplier },
    wanted: true,
  };
}

/**
 * THE CAP RULE (Envoy's max_ejection_percent, whose point is to keep something serving):
 *   at most max(1, floor(total × maxEjectedShare)) endpoints — counted over ALL endpoints of all
 *   regions — may be ejected at once, AND an ejection is refused when it would leave no endpoint
 *   serving anywhere (no other endpoint UP and not ejected).
 * Consequences: with a single endpoint in total, passive ejection never happens (ejecting it would
 * only turn every request into a 503; the active probes still take it DOWN when it is really dead).
 * With ≥ 2 endpoints one can always be ejected even when the share rounds down to 0 (as Envoy does),
 * so "live 502s eject a region before the next probe" works with 3 one-endpoint regions.
 */
export function maxEjectable(total: number, share: number): number {
  if (total <= 1) return 0;
  const byShare = Math.floor(total * Math.max(0, Math.min(1, share)) + 1e-9);
  return Math.min(total - 1, Math.max(1, byShare));
}

export function mayEject(total: number, share: number, ejectedNow: number, servingOthers: number): boolean {
  return ejectedNow < maxEjectable(total, share) && servingOthers >= 1;
}
