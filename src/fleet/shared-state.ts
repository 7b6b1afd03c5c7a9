// The one port between the router and the state that operators and the fleet share: drains, traffic
// dials, the manual write region, the write region with its epoch, whether this router may send
// primary requests now, and the read-your-writes key. Two implementations: LocalSharedState (one
// router on its own, in memory) and FleetMember (etcd). Routing and health only ever see a
// SharedSnapshot: an immutable value read once per request, never an etcd call.
import type { Dial, WriteKey } from './records.js';
import type { WriteRefusal } from './handover.js';

export interface SharedSnapshot {
  /** Grows with every change, so a cluster worker can ignore an older broadcast. */
  readonly version: number;
  /** Drained regions, sorted. */
  readonly drains: readonly string[];
  /** Traffic dials by region; a region without an entry keeps 100 %. */
  readonly dials: Readonly<Record<string, Dial>>;
  /** The write region an operator set last (null: none, or automatic decisions since). */
  readonly manualWriteRegion: string | null;
  readonly writeRegion: WriteKey | null;
  /** May this router start a primary request now (see `until`)? */
  readonly writable: boolean;
  /** Why not, when not writable. */
  readonly writeRefusal: WriteRefusal | null;
  /**
   * While writable: the instant (on the member's clock, see fence.ts monotonicClock) after which the
   * permission lapses unless the snapshot is renewed; null when it does not lapse. The request path
   * checks it with mayWrite(), so a late timer cannot stretch a fence.
   */
  readonly writableUntil: number | null;
  /** The fleet-wide read-your-writes signing key (base64url), when one was agreed. */
  readonly readYourWritesKey: string | null;
}

/** The operator actions; each resolves only once the store accepted the change. */
export interface SharedStateActions {
  drain(region: string): Promise<void>;
  undrain(region: string): Promise<void>;
  /** percent: integer 0-100; 100 removes the dial. */
  setDial(region: string, percent: number): Promise<void>;
  /**
   * Move the region's dial linearly from its current value to `to` over `overMs`: to 0 (the
   * default) is a gradual evacuation, to 100 a gradual return.
   */
  evacuate(region: string, overMs: number, to?: number): Promise<void>;
  setWriteRegion(region: string): Promise<void>;
  /** The agreed read-your-writes key: `candidate` if none existed yet (create-if-absent). */
  ensureReadYourWritesKey(candidate: string): Promise<string>;
}

export interface SharedState extends SharedStateActions {
  snapshot(): SharedSnapshot;
  /** Called after every change of the snapshot; returns an unsubscribe function. */
  onChange(cb: (s: SharedSnapshot) => void): () => void;
}

/** Raised by an operator action the store could not accept in time (admin answer: 503 fleet-unavailable). */
export class FleetUnavailableError extends Error {
  readonly code = 'fleet-unavailable';
  constructor(message: string) {
    super(message);
    this.name = 'FleetUnavailableError';
  }
}

/** The request path's check: one comparison on top of the snapshot read. */
export function mayWrite(s: SharedSnapshot, now: number): boolean {
  return s.writable && (s.writableUntil === null || now < s.writableUntil);
}

/** A dial's effective percent at `now` (linear ramp, clamped, whole percent). */
export function dialPercent(d: Dial | undefined, now: number): number {
  if (d === undefined) return 100;
  const r = d.ramp;
  if (r === null) return d.percent;
  if (r.overMs <= 0 || now >= r.startedAt + r.overMs) return r.to;
  if (now <= r.startedAt) return r.from;
  return Math.round(r.from + ((r.to - r.from) * (now - r.startedAt)) / r.overMs);
}

export function validPercent(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 100;
}

/** The dial an evacuation writes: from where the dial is now, down to `to` (0: empty the region). */
export function evacuationDial(current: Dial | undefined, overMs: number, now: number, to = 0): Dial {
  return { percent: to, ramp: { from: dialPercent(current, now), to, startedAt: now, overMs } };
}
