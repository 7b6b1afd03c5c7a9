// One region re-evaluated at `now` from its endpoint records: its evaluation (status, availability,
// slow-start weight, next deadline), the endpoints that may serve, and the events of what changed.
// And the frozen HealthView built from every region's answer.
import type { HealthView, Snapshot } from '../types.js';
import { penaltyAt } from './damping.js';
import { isEjected } from './ejection.js';
import type { HealthEvents } from './events.js';
import type { EndpointRec, RegionRec } from './records.js';
import { evaluateRegion, type RegionStatus } from './region-state.js';

export interface RegionInfo {
  readonly available: boolean;
  readonly weight: number;
  readonly lagMs: number | null;
  /** Endpoints that may take traffic, in config order. */
  readonly endpoints: readonly string[];
}

export const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Re-evaluate `r`; events go to `queue` (emitted by the store once its state is consistent).
 * `prevServing` is the previous view's endpoint list, kept as the same object when unchanged.
 */
export function reevaluateRegion(
  r: RegionRec,
  endpoints: ReadonlyMap<string, EndpointRec>,
  snap: Snapshot,
  now: number,
  cause: string,
  prevServing: readonly string[],
  events: HealthEvents,
  queue: (() => void)[],
): { info: RegionInfo; changed: boolean } {
  let anyProbed = false;
  let anyUp = false;
  let nextEjectionEnd: number | null = null;
  const serving: string[] = [];
  for (const url of r.endpoints) {
    const e = endpoints.get(url);
    if (!e) continue;
    if (e.probe.probes > 0) anyProbed = true;
    const ejected = isEjected(e.ejection, now);
    if (ejected) {
      if (nextEjectionEnd === null || e.ejection.ejectedUntil < nextEjectionEnd) nextEjectionEnd = e.ejection.ejectedUntil;
    } else if (e.ejectedReported) {
      // ejection time is up: the endpoint returns on its own
      e.ejectedReported = false;
      const to = e.probe.status;
      queue.push(() => events.endpointTransition({ endpoint: e.url, region: e.region, from: 'ejected', to, cause: 'passive' }));
    }
    if (e.probe.status === 'up') {
      anyUp = true;
      if (!ejected) serving.push(url);
    }
  }
  const ev = evaluateRegion(
    snap.health,
    {
      drained: r.drained,
      anyProbed,
      anyUp,
      anyServing: serving.length > 0,
      nextEjectionEnd,
      failbackUntil: r.failbackUntil,
      damping: r.damping,
    },
    now,
  );
  const prev = r.evaluation;
  let changed = prev.status !== ev.status || prev.weight !== ev.weight;
  if (prev.status !== ev.status) {
    const from: RegionStatus = prev.status;
    const to = ev.status;
    queue.push(() => events.regionTransition({ region: r.name, from, to, cause }));
  }
  if (ev.suppressed !== r.suppressedReported) {
    r.suppressedReported = ev.suppressed;
    const suppressed = ev.suppressed;
    const penalty = Math.round(penaltyAt(snap.health.damping, r.damping, now));
    queue.push(() => events.suppression({ region: r.name, suppressed, penalty }));
  }
  r.evaluation = ev;
  const kept = sameList(prevServing, serving) ? prevServing : Object.freeze(serving);
  if (kept !== prevServing) changed = true;
  return { info: { available: ev.available, weight: ev.weight, lagMs: r.lagMs, endpoints: kept }, changed };
}

/** The immutable view the request path reads until something in it changes. */
export function buildView(info: ReadonlyMap<string, RegionInfo>, writeRegion: string | null): HealthView {
  return Object.freeze({
    isAvailable: (region: string) => info.get(region)?.available ?? false,
    weight: (region: string) => info.get(region)?.weight ?? 0,
    lagMs: (region: string) => info.get(region)?.lagMs ?? null,
    writeRegion,
    availableEndpoints: (region: string) => info.get(region)?.endpoints ?? EMPTY,
  });
}

export const emptyView: HealthView = buildView(new Map(), null);

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
