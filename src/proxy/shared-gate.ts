// Where the request path meets the shared state (src/fleet/shared-state.ts): traffic dials become
// decide()'s steering input, and in a fleet the `primary` selector follows the fleet's write region
// instead of this router's own choice. Everything here reads the in-memory SharedSnapshot (one read
// per request); nothing waits on etcd. Objects derived from a snapshot (the steering, the write
// ticket) are made once per snapshot, not per request.
//
// In a fleet a primary request goes only to the write region, never elsewhere (not even as a retry):
//   - not writable (handover, cut off from etcd, no write region) → 503 with that reason;
//   - the write region down as this router's probes see it      → 503 `write-region-down`;
//   - else it gets a ticket: it carries `x-meridian-write-epoch: <epoch>` (the fencing token for the
//     data tier, set by upstreamHeaders, never taken from the client) and its exchange counts it in
//     flight for the region from its start to its close handler (opened / closed: no listener of
//     the gate's own per write), so a handover acknowledgement waits for it; when the member fences
//     itself, the ones still open are stopped (abortPrimary): each exchange cuts its upstream
//     request and answers what it can still say truthfully. Upgrades carry the epoch but are not
//     counted.
//
// The open primary requests are a doubly linked list, not a Set. A long-lived Set with an add and a
// delete per request keeps replacing its hash table; a replaced table that had been promoted to the
// old generation still points at the exchanges it held, and a scavenge treats such old-to-young
// pointers as live without asking whether the old table is. Those exchanges, their requests,
// sockets and buffers, and what those point at, survived every scavenge and were promoted: 8.7 MB
// per scavenge instead of 7 KB, 20 ms pauses and mark-compacts under load (`--trace-gc-nvp`), most
// of the fleet's extra CPU per write (docs/benchmarks.md). An unlinked node drops all its pointers,
// so nothing is left for a dead old object to hold.
import { mayWrite, type SharedSnapshot } from '../fleet/shared-state.js';
import type { Clock } from '../clock.js';
import { changeDecision } from '../routing/decision.js';
import type { Steering } from '../routing/steer.js';
import type { Decision, HealthView, Reason, Snapshot } from '../types.js';
import { SteeringSource } from './steering.js';

/** What the gate needs from the fleet member; absent without a fleet. */
export interface FleetHooks {
  /** The clock mayWrite() compares `writableUntil` against (the member's monotonic clock). */
  readonly fenceClock: Clock;
  beginPrimary(region: string): void;
  endPrimary(region: string): void;
}

export interface SharedSource {
  snapshot(): SharedSnapshot;
}

/** A health view whose write region is the fleet's (every other fact is this router's own). */
class FleetWriteView implements HealthView {
  constructor(
    private readonly base: HealthView,
    readonly writeRegion: string | null,
  ) {}
  isAvailable(region: string): boolean {
    return this.base.isAvailable(region);
  }
  weight(region: string): number {
    return this.base.weight(region);
  }
  lagMs(region: string): number | null {
    return this.base.lagMs(region);
  }
  availableEndpoints(region: string): readonly string[] {
    return this.base.availableEndpoints(region);
  }
}

const REFUSAL_REASON: Readonly<Record<string, Reason>> = {
  'write-handover': 'write-handover',
  'fleet-unavailable': 'fleet-unavailable',
};

export class SharedGate {
  private steerFor: SharedSnapshot | null = null;
  /** Dials and this process's in-flight counts against maxInFlight (exchanges count themselves in). */
  readonly source = new SteeringSource();
  private viewBase: HealthView | null = null;
  private viewShared: SharedSnapshot | null = null;
  private view: HealthView | null = null;
  private ticketFor: SharedSnapshot | null = null;
  private ticketNow: WriteTicket | null = null;
  /** The newest primary request still open (counted in flight); the list runs through `next`. */
  private head: OpenWrite | null = null;
  /** The last decision admit() narrowed to the write region, and the result (decisions are remembered per view). */
  private narrowFrom: Decision | null = null;
  private narrowed: Decision | null = null;

  constructor(
    private readonly shared: SharedSource,
    /** Wall clock: dial ramps are stamped with it. */
    private readonly clock: Clock,
    private readonly fleet: FleetHooks | null,
  ) {}

  snapshot(): SharedSnapshot {
    return this.shared.snapshot();
  }

  /** decide()'s steering input for this snapshot: idle unless some region is dialed below 100 %. */
  steering(s: SharedSnapshot, snap: Snapshot, now: number): Steering {
    if (s !== this.steerFor) {
      this.steerFor = s;
      this.source.setDials(s.dials);
    }
    return this.source.at(snap, now);
  }

  /** The view decide() sees: in a fleet, with the fleet's write region. */
  healthView(base: HealthView, s: SharedSnapshot): HealthView {
    if (this.fleet === null) return base;
    if (base !== this.viewBase || s !== this.viewShared) {
      this.viewBase = base;
      this.viewShared = s;
      this.view = new FleetWriteView(base, s.writeRegion?.region ?? null);
    }
    return this.view!;
  }

  /**
   * A decision about to be carried out: in a fleet, applies the write rules above to a `primary`
   * decision. What it lets through is exactly the primary decisions left with a region: every
   * other outcome of the rules is a refusal (region null), so ticket() can tell them apart.
   */
  admit(d: Decision, s: SharedSnapshot, base: HealthView): Decision {
    const fleet = this.fleet;
    if (fleet === null || d.selector !== 'primary' || d.status === 404) return d;
    const key = s.writeRegion;
    if (key === null || !mayWrite(s, fleet.fenceClock.now())) {
      const why = s.writeRefusal === null ? 'fleet-unavailable' : (REFUSAL_REASON[s.writeRefusal] ?? null);
      if (why === null) return d.region === null ? d : refuse(d, 'all-down', 'the fleet has no write region yet');
      const detail =
        why === 'write-handover' ? `write region moving to ${key?.region ?? '?'} (epoch ${key?.epoch ?? 0})` : 'fleet unavailable';
      return refuse(d, why, detail);
    }
    if (!base.isAvailable(key.region)) return refuse(d, 'write-region-down', `write region ${key.region} is down as this router sees it`);
    if (d.region === null || d.region !== key.region || d.candidates.length === 1) return d;
    // only the write region, never a failover candidate: made once per remembered decision, not per write
    if (d !== this.narrowFrom) {
      this.narrowFrom = d;
      this.narrowed = changeDecision(d, { candidates: [d.region] });
    }
    return this.narrowed!;
  }

  /**
   * For a decision admit() let through in a fleet: the write region it is counted to and the epoch
   * it carries upstream (one object per snapshot); null for anything else.
   */
  ticket(d: Decision, s: SharedSnapshot): WriteTicket | null {
    if (this.fleet === null || d.selector !== 'primary' || d.region === null || s.writeRegion === null) return null;
    if (s !== this.ticketFor) {
      this.ticketFor = s;
      this.ticketNow = { region: s.writeRegion.region, epoch: String(s.writeRegion.epoch) };
    }
    return this.ticketNow;
  }

  /** A primary request with a ticket starts: it counts in flight until closed() with what this returns. */
  opened(x: Fenceable, t: WriteTicket): OpenWrite {
    this.fleet!.beginPrimary(t.region);
    const w: OpenWrite = { x, region: t.region, prev: null, next: this.head };
    if (this.head !== null) this.head.prev = w;
    this.head = w;
    return w;
  }

  /** ...and ends (its response closed, whatever the outcome); a second call does nothing. */
  closed(w: OpenWrite): void {
    if (w.x === null) return;
    if (w.prev !== null) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next !== null) w.next.prev = w.prev;
    w.x = w.prev = w.next = null;
    this.fleet!.endPrimary(w.region);
  }

  /** How many primary requests are open (for tests). */
  openCount(): number {
    let n = 0;
    for (let w = this.head; w !== null; w = w.next) n++;
    return n;
  }

  /**
   * The member fenced itself: stop every primary request still open (the fleet may move writes
   * soon). Each stays counted until its response closes: a handover acknowledgement waits for it.
   */
  abortPrimary(): void {
    const open: Fenceable[] = [];
    for (let w = this.head; w !== null; w = w.next) open.push(w.x!);
    for (const x of open) x.stopFenced();
  }
}

/** One open primary request in the gate's list; every field is cleared when it closes. */
export interface OpenWrite {
  x: Fenceable | null;
  readonly region: string;
  prev: OpenWrite | null;
  next: OpenWrite | null;
}

/** What a primary request admitted in a fleet carries: the write region and its epoch (header text). */
export interface WriteTicket {
  readonly region: string;
  readonly epoch: string;
}

/** An exchange the gate can stop when the member fences itself (Exchange.stopFenced). */
export interface Fenceable {
  stopFenced(): void;
}

function refuse(d: Decision, reason: Reason, detail: string): Decision {
  return changeDecision(d, { region: null, candidates: [], reason, status: 503, detail });
}
