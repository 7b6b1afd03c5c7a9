// Per-endpoint probe state machine (the health thresholds). Pure: no clock, no I/O.
//
// UNKNOWN  not probed yet, or probed without a decision. One passing probe makes it UP at once, so a
//          fresh router serves as soon as the first probe round is in (/readyz). `unhealthyThreshold`
//          consecutive failures make it DOWN (the same evidence a live endpoint needs to go DOWN).
// UP       `unhealthyThreshold` CONSECUTIVE failures → DOWN.
// DOWN     `healthyThreshold` CONSECUTIVE passes → UP.
// A result of the opposite kind resets the other counter, so 2 fails, 1 pass, 2 fails never reaches
// a threshold of 3: the thresholds count truly consecutive results.

export type EndpointStatus = 'unknown' | 'up' | 'down';

export interface EndpointState {
  readonly status: EndpointStatus;
  /** Consecutive passing probes (reset by a failure and by a transition). */
  readonly passes: number;
  /** Consecutive failing probes (reset by a pass and by a transition). */
  readonly fails: number;
  /** Probes seen in total (readiness: ≥ 1). */
  readonly probes: number;
}

export interface Thresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface EndpointTransition {
  readonly from: EndpointStatus;
  readonly to: EndpointStatus;
}

export interface ProbeApplied {
  readonly state: EndpointState;
  readonly transition: EndpointTransition | null;
}

export const initialEndpointState: EndpointState = Object.freeze({ status: 'unknown', passes: 0, fails: 0, probes: 0 });

/** Feed one probe result into the state machine. Thresholds below 1 are treated as 1. */
export function applyProbe(s: EndpointState, ok: boolean, t: Thresholds): ProbeApplied {
  const healthy = Math.max(1, t.healthyThreshold);
  const unhealthy = Math.max(1, t.unhealthyThreshold);
  const probes = s.probes + 1;
  const passes = ok ? s.passes + 1 : 0;
  const fails = ok ? 0 : s.fails + 1;
  let to: EndpointStatus = s.status;
  if (ok) {
    if (s.status === 'unknown' || (s.status === 'down' && passes >= healthy)) to = 'up';
  } else if (s.status !== 'down' && fails >= unhealthy) {
    to = 'down';
  }
  if (to !== s.status) {
    return { state: { status: to, passes: 0, fails: 0, probes }, transition: { from: s.status, to } };
  }
  return { state: { status: s.status, passes, fails, probes }, transition: null };
}
