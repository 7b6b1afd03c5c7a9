// Region availability: pure evaluation of one region at one instant.
//
// A region is available when it is not drained, at least one endpoint is UP and not ejected, it is
// not suppressed by flap damping, and it is not inside its failback delay.
//
// Failback delay: when a region that has served before (everUp) loses its last UP endpoint and later
// regains one, `failbackUntil = recovery + failbackDelayMs`; any endpoint DOWN during the wait
// restarts it (the store does that), so only CONTINUOUS health ends the wait. At start-up
// (the region was never UP) there is no delay: the first passing probe makes it available.
// After a failback, traffic ramps linearly from SLOW_START_FLOOR to 1 over `slowStartMs`, starting
// when the region actually became available again (end of the failback delay, or end of a
// suppression if that came later).

import type { HealthConfig } from '../types.js';
import { type DampingState, isSuppressed, reuseAt } from './damping.js';

export type RegionStatus = 'unknown' | 'unavailable' | 'ejected' | 'suppressed' | 'failback-wait' | 'drained' | 'available';

/** Weight at the start of a slow-start ramp (the issue: "from ~10% to 100%"). */
const SLOW_START_FLOOR = 0.1;
/** The view is rebuilt at least this often during a ramp, so the weight moves in ≤ 5% steps. */
const RAMP_STEPS = 20;
const MIN_RAMP_STEP_MS = 50;

export interface RegionFacts {
  readonly drained: boolean;
  /** Some endpoint has been probed at least once. */
  readonly anyProbed: boolean;
  /** Some endpoint is UP by probes. */
  readonly anyUp: boolean;
  /** Some endpoint is UP and not ejected. */
  readonly anyServing: boolean;
  /** Earliest future end of an ejection among this region's endpoints, or null. */
  readonly nextEjectionEnd: number | null;
  /** End of the failback delay of the current recovery, or null (start-up, never recovered). */
  readonly failbackUntil: number | null;
  readonly damping: DampingState;
}

export interface RegionEval {
  readonly status: RegionStatus;
  readonly available: boolean;
  /**
   * Available as far as the probes and operators are concerned, ejections aside: what the write
   * region follows, so a few clients' failures (passive ejection) never move writes.
   */
  readonly writable: boolean;
  readonly suppressed: boolean;
  /** Slow-start share in (0, 1]; 1 when not ramping (meaningful only when available). */
  readonly weight: number;
  /** Until when this evaluation stays valid if no new fact arrives (Infinity = until a fact changes). */
  readonly validUntil: number;
}

export function evaluateRegion(cfg: HealthConfig, f: RegionFacts, now: number): RegionEval {
  const suppressed = isSuppressed(cfg.damping, f.damping, now);
  let validUntil = Infinity;
  const until = (t: number | null): void => {
    if (t !== null && t > now && t < validUntil) validUntil = t;
  };
  if (suppressed) until(reuseAt(cfg.damping, f.damping));
  until(f.nextEjectionEnd);
  if (f.failbackUntil !== null) until(f.failbackUntil);

  let status: RegionStatus;
  if (f.drained) status = 'drained';
  else if (!f.anyUp) status = f.anyProbed ? 'unavailable' : 'unknown';
  else if (!f.anyServing) status = 'ejected';
  else if (suppressed) status = 'suppressed';
  else if (f.failbackUntil !== null && now < f.failbackUntil) status = 'failback-wait';
  else status = 'available';

  let weight = 1;
  if (status === 'available' && f.failbackUntil !== null && cfg.slowStartMs > 0) {
    const suppressionEnd = reuseAt(cfg.damping, f.damping);
    const start = Math.max(f.failbackUntil, suppressionEnd ?? -Infinity);
    const end = start + cfg.slowStartMs;
    if (now < end) {
      weight = slowStartWeight(now - start, cfg.slowStartMs);
      until(Math.min(end, now + Math.max(MIN_RAMP_STEP_MS, cfg.slowStartMs / RAMP_STEPS)));
    }
  }
  const writable = status === 'available' || (status === 'ejected' && !suppressed && (f.failbackUntil === null || now >= f.failbackUntil));
  return { status, available: status === 'available', writable, suppressed, weight, validUntil };
}

/** Linear ramp from SLOW_START_FLOOR (elapsed 0) to 1 (elapsed ≥ slowStartMs). */
export function slowStartWeight(elapsedMs: number, slowStartMs: number): number {
  if (slowStartMs <= 0 || elapsedMs >= slowStartMs) return 1;
  if (elapsedMs <= 0) return SLOW_START_FLOOR;
  return SLOW_START_FLOOR + (1 - SLOW_START_FLOOR) * (elapsedMs / slowStartMs);
}
