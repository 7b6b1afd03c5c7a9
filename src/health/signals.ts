// The two signals that move endpoint state: a probe result and a passive outcome from live
// traffic. Each updates the records and queues the events it causes; the store decides when the
// view is rebuilt and the events are emitted.
import type { Snapshot } from '../types.js';
import { addPenalty, normalise } from './damping.js';
import { isEjected, mayEject, maxEjectable, recordOutcome } from './ejection.js';
import { applyProbe, type EndpointTransition } from './endpoint-state.js';
import type { HealthEvents } from './events.js';
import type { ProbeResult } from './prober.js';
import type { EndpointRec, RegionRec } from './records.js';

type Queue = (() => void)[];

/** Record a probe result; returns the endpoint's transition, and whether the view may have changed. */
export function applyProbeResult(
  rec: EndpointRec,
  region: RegionRec | undefined,
  r: ProbeResult,
  snap: Snapshot,
  now: number,
  events: HealthEvents,
  queue: Queue,
): { transition: EndpointTransition | null; changed: boolean } {
  rec.lastProbe = { at: now, ok: r.ok, durationMs: r.durationMs };
  if (r.status !== undefined) rec.lastProbe.status = r.status;
  if (r.error !== undefined) rec.lastProbe.error = r.error;
  queue.push(() =>
    events.probe({
      endpoint: rec.url,
      region: rec.region,
      ok: r.ok,
      durationMs: r.durationMs,
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.lagMs !== undefined ? { lagMs: r.lagMs } : {}),
    }),
  );
  if (r.lagMs !== undefined) {
    rec.lagMs = r.lagMs;
    const lagMs = r.lagMs;
    if (region) {
      region.lagMs = lagMs;
      region.lagAt = now;
    }
    queue.push(() => events.lag({ region: rec.region, endpoint: rec.url, lagMs }));
  }
  const wasProbed = rec.probe.probes > 0;
  const { state, transition } = applyProbe(rec.probe, r.ok, snap.health);
  rec.probe = state;
  if (transition) {
    const t = transition;
    // probe transitions report probe states; ejection has its own transitions (cause 'passive')
    queue.push(() => events.endpointTransition({ endpoint: rec.url, region: rec.region, from: t.from, to: t.to, cause: 'probe' }));
  }
  // Lag (for write selection), readiness and transitions all may change the view.
  return { transition, changed: transition !== null || !wasProbed || r.lagMs !== undefined };
}

/**
 * Record a passive outcome (ok=false: a connect failure, a timeout or a 5xx of live traffic):
 * 'ejected' when it ejects the endpoint now (the view changes), 'refused' when it would have but
 * the ejection cap forbids it (reported once per streak), else 'none'.
 */
export function applyPassiveOutcome(
  rec: EndpointRec,
  endpoints: ReadonlyMap<string, EndpointRec>,
  snap: Snapshot,
  ok: boolean,
  kind: string | undefined,
  now: number,
  events: HealthEvents,
  queue: Queue,
): 'ejected' | 'refused' | 'none' {
  rec.lastPassive = kind === undefined ? { at: now, ok } : { at: now, ok, kind };
  const out = recordOutcome(snap.passive, rec.ejection, ok, now, () => ejectionAllowed(rec, endpoints, snap, now));
  rec.ejection = out.state;
  if (ok) rec.refusedReported = false;
  if (out.eject) {
    const { forMs, multiplier } = out.eject;
    rec.ejectedReported = true;
    rec.refusedReported = false;
    const from = rec.probe.status;
    queue.push(() => events.ejected({ endpoint: rec.url, region: rec.region, forMs, multiplier }));
    queue.push(() => events.endpointTransition({ endpoint: rec.url, region: rec.region, from, to: 'ejected', cause: 'passive' }));
    return 'ejected';
  }
  if (out.wanted && !rec.refusedReported) {
    rec.refusedReported = true;
    const total = endpoints.size;
    const reason =
      total <= 1
        ? 'only endpoint: never ejected'
        : `cap: at most ${maxEjectable(total, snap.passive.maxEjectedShare)} of ${total} endpoints ejected and at least one serving`;
    queue.push(() => events.ejectionRefused({ endpoint: rec.url, region: rec.region, reason }));
    return 'refused';
  }
  return 'none';
}

function ejectionAllowed(rec: EndpointRec, endpoints: ReadonlyMap<string, EndpointRec>, snap: Snapshot, now: number): boolean {
  let ejected = 0;
  let servingOthers = 0;
  for (const e of endpoints.values()) {
    if (isEjected(e.ejection, now)) ejected++;
    else if (e !== rec && e.probe.status === 'up') servingOthers++;
  }
  return mayEject(endpoints.size, snap.passive.maxEjectedShare, ejected, servingOthers);
}

/**
 * Region health bookkeeping after an endpoint transition (t) or a reload (t = null).
 * - last UP endpoint gone → region DOWN: damping penalty (only when `penalize`, i.e. real probes);
 * - first UP endpoint back → recovery: failback delay starts, unless the region never was UP;
 * - any endpoint DOWN during the failback wait restarts the wait (continuous health required).
 */
export function trackRegionHealth(
  r: RegionRec,
  endpoints: ReadonlyMap<string, EndpointRec>,
  snap: Snapshot,
  now: number,
  t: EndpointTransition | null,
  penalize: boolean,
): void {
  const anyUp = r.endpoints.some((u) => endpoints.get(u)?.probe.status === 'up');
  const delay = Math.max(0, snap.health.failbackDelayMs);
  if (anyUp && !r.healthUp) {
    r.healthUp = true;
    r.failbackUntil = r.everUp ? now + delay : null;
    r.everUp = true;
  } else if (!anyUp && r.healthUp) {
    r.healthUp = false;
    if (penalize) r.damping = addPenalty(snap.health.damping, r.damping, now);
  } else if (anyUp && t?.to === 'down' && r.failbackUntil !== null && now < r.failbackUntil) {
    r.failbackUntil = now + delay;
  } else {
    r.damping = normalise(snap.health.damping, r.damping, now);
  }
}
