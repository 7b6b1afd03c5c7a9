// GET /admin/state's health part: every region and endpoint as the store sees them now.
import type { Snapshot } from '../types.js';
import { penaltyAt } from './damping.js';
import { isEjected } from './ejection.js';
import type { EndpointRec, RegionRec } from './records.js';
import type { WriteInputs, WriteRegionManager } from './writes.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function stateJson(
  snap: Snapshot | null,
  regions: ReadonlyMap<string, RegionRec>,
  endpoints: ReadonlyMap<string, EndpointRec>,
  writes: WriteRegionManager | null,
  inputs: WriteInputs,
  ready: boolean,
  now: number,
): object {
  return {
    ready,
    regions: [...regions.values()].map((r) => ({
      name: r.name,
      status: r.evaluation.status,
      available: r.evaluation.available,
      drained: r.drained,
      suppressed: r.evaluation.suppressed,
      penalty: snap ? Math.round(penaltyAt(snap.health.damping, r.damping, now)) : 0,
      failbackUntil: r.failbackUntil !== null && r.failbackUntil > now ? iso(r.failbackUntil) : null,
      weight: r.evaluation.weight,
      lagMs: r.lagMs,
      lagAt: r.lagAt !== null ? iso(r.lagAt) : null,
      endpoints: r.endpoints.map((url) => endpointJson(url, endpoints.get(url), now)),
    })),
    writeRegion: writes
      ? {
          region: writes.status.region,
          reason: writes.status.reason,
          operator: writes.status.manual,
          since: iso(writes.status.since),
          failover: writes.config.failover,
          failback: writes.config.failback,
          maxLagMs: writes.config.maxLagMs,
          candidates: writes.candidates(inputs),
        }
      : null,
  };
}

function endpointJson(url: string, e: EndpointRec | undefined, now: number): object {
  if (!e) return { url };
  const ejected = isEjected(e.ejection, now);
  return {
    url,
    state: e.probe.status,
    ejected,
    ejectedUntil: ejected ? iso(e.ejection.ejectedUntil) : null,
    ejections: e.ejection.ejections,
    consecutivePasses: e.probe.passes,
    consecutiveFailures: e.probe.fails,
    passiveConsecutiveFailures: e.ejection.consecutive,
    probes: e.probe.probes,
    lastProbe: e.lastProbe ? { ...e.lastProbe, at: iso(e.lastProbe.at) } : null,
    lastPassive: e.lastPassive ? { ...e.lastPassive, at: iso(e.lastPassive.at) } : null,
    lagMs: e.lagMs,
  };
}
