// What the health layer tells the outside world. The glue (observability/) maps each call to one pino
// event and the matching prom-client change. Only transitions are reported, plus one probe() (and one
// lag() when a lag header was read) per probe.

import type { LocalFailureKind } from '../failure.js';
import type { EndpointStatus } from './endpoint-state.js';
import type { RegionStatus } from './region-state.js';

/** Probe-driven states plus 'ejected' (passive). */
type EndpointPhase = EndpointStatus | 'ejected';

interface ProbeEvent {
  readonly endpoint: string;
  readonly region: string;
  readonly ok: boolean;
  readonly durationMs: number;
  /** HTTP status when a response arrived. */
  readonly status?: number;
  /** 'timeout' | 'refused' | 'reset' | 'status' | other error code, when failed. */
  readonly error?: string;
  /** Lag read from the response, ms. */
  readonly lagMs?: number;
}

export interface HealthEvents {
  probe(e: ProbeEvent): void;
  endpointTransition(e: {
    endpoint: string;
    region: string;
    from: EndpointPhase;
    to: EndpointPhase;
    cause: 'probe' | 'passive' | 'reload';
  }): void;
  /** Region status changes ('available' is the only serving status). cause: what triggered the re-evaluation. */
  regionTransition(e: { region: string; from: RegionStatus; to: RegionStatus; cause: string }): void;
  ejected(e: { endpoint: string; region: string; forMs: number; multiplier: number }): void;
  /** Passive ejection wanted but refused by the cap rule (once per failure streak). */
  ejectionRefused(e: { endpoint: string; region: string; reason: string }): void;
  lag(e: { region: string; endpoint: string; lagMs: number }): void;
  writeRegionChanged(e: { from: string | null; to: string | null; reason: string }): void;
  suppression(e: { region: string; suppressed: boolean; penalty: number }): void;
  drain(e: { region: string; drained: boolean }): void;
  /** A probe that could not be made for a reason of this host's own; not counted for or against the endpoint. */
  localError(e: { endpoint: string; region: string; kind: Exclude<LocalFailureKind, 'client_gone'>; detail: string }): void;
}

const noop = (): void => {};

export const noopHealthEvents: HealthEvents = Object.freeze({
  probe: noop,
  endpointTransition: noop,
  regionTransition: noop,
  ejected: noop,
  ejectionRefused: noop,
  lag: noop,
  writeRegionChanged: noop,
  suppression: noop,
  drain: noop,
  localError: noop,
});
