// What the HealthStore keeps per endpoint and per region between changes. Keyed by endpoint URL and
// region name, so state survives a reload for everything the reload did not change.
import type { HealthConfig } from '../types.js';
import { initialDamping, type DampingState } from './damping.js';
import { initialEjection, type EjectionState } from './ejection.js';
import { initialEndpointState, type EndpointState } from './endpoint-state.js';
import type { EndpointProber, ProbeOptions } from './prober.js';
import type { RegionEval } from './region-state.js';

export interface EndpointRec {
  readonly url: string;
  region: string;
  probe: EndpointState;
  ejection: EjectionState;
  /** We reported this endpoint as ejected and have not yet reported its return. */
  ejectedReported: boolean;
  /** An ejectionRefused event was emitted for the current failure streak. */
  refusedReported: boolean;
  lastProbe: { at: number; ok: boolean; durationMs: number; status?: number; error?: string } | null;
  lastPassive: { at: number; ok: boolean; kind?: string } | null;
  lagMs: number | null;
  prober: EndpointProber | null;
}

export interface RegionRec {
  readonly name: string;
  endpoints: readonly string[];
  drained: boolean;
  /** Some endpoint UP by probes (drives damping and failback, not ejection). */
  healthUp: boolean;
  /** Has been health-up before: a later recovery waits for the failback delay. */
  everUp: boolean;
  failbackUntil: number | null;
  damping: DampingState;
  /** Latest lag reported by ANY endpoint of the region (the data tier's lag is a regional fact; the
   *  freshest reading wins). A probe without the header keeps the previous value. */
  lagMs: number | null;
  lagAt: number | null;
  evaluation: RegionEval;
  /** Last suppression state reported through events. */
  suppressedReported: boolean;
}

const INITIAL_EVAL: RegionEval = Object.freeze({
  status: 'unknown',
  available: false,
  writable: false,
  suppressed: false,
  weight: 1,
  validUntil: Infinity,
});

export function newEndpointRec(url: string, region: string): EndpointRec {
  return {
    url,
    region,
    probe: initialEndpointState,
    ejection: initialEjection,
    ejectedReported: false,
    refusedReported: false,
    lastProbe: null,
    lastPassive: null,
    lagMs: null,
    prober: null,
  };
}

export function newRegionRec(name: string, endpoints: readonly string[], now: number): RegionRec {
  return {
    name,
    endpoints,
    drained: false,
    healthUp: false,
    everUp: false,
    failbackUntil: null,
    damping: initialDamping(now),
    lagMs: null,
    lagAt: null,
    evaluation: INITIAL_EVAL,
    suppressedReported: false,
  };
}

export function probeOptions(h: HealthConfig): ProbeOptions {
  return { path: h.path, timeoutMs: h.timeoutMs, expectedStatuses: h.expectedStatuses, lagHeader: h.lagHeader };
}

/** Probers restart only when what they do changed. */
export function sameProbeConfig(a: HealthConfig, b: HealthConfig): boolean {
  return (
    a.path === b.path &&
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    a.jitterMs === b.jitterMs &&
    a.lagHeader === b.lagHeader &&
    a.expectedStatuses.size === b.expectedStatuses.size &&
    [...a.expectedStatuses].every((s) => b.expectedStatuses.has(s))
  );
}
