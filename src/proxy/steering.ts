// The inputs of traffic steering for decide(): the operator's dials (from the shared state: local,
// or the fleet's) and this process's in-flight requests per region against `regions[].maxInFlight`.
// Read once per request; with no dial below 100 % and no capacity configured it hands out the
// constant NO_STEERING, so steering costs one check when unused.
import type { Dial } from '../fleet/records.js';
import { dialPercent } from '../fleet/shared-state.js';
import { NO_STEERING, type Steering } from '../routing/steer.js';
import type { Snapshot } from '../types.js';

export class SteeringSource implements Steering {
  readonly idle = false;
  private dials: Readonly<Record<string, Dial>> = {};
  private dialed = false;
  private readonly inFlight = new Map<string, number>();
  private capacityOf: Snapshot | null = null;
  private capacity = new Map<string, number>();
  /** The instant of the request being decided (decide() is synchronous: one request at a time). */
  private now = 0;

  /** The shared state changed: its dials apply from the next request on. */
  setDials(dials: Readonly<Record<string, Dial>>): void {
    this.dials = dials;
    // A dial set back to 100 % without a ramp keeps everything: as good as none.
    this.dialed = Object.values(dials).some((d) => d.percent < 100 || d.ramp !== null);
  }

  /** The Steering for one request at `now` under `snap`. */
  at(snap: Snapshot, now: number): Steering {
    if (this.capacityOf !== snap) this.compileCapacity(snap);
    if (!this.dialed && this.capacity.size === 0) return NO_STEERING;
    this.now = now;
    return this;
  }

  dialPercent(region: string): number {
    return dialPercent(this.dials[region], this.now);
  }

  full(region: string): boolean {
    const max = this.capacity.get(region);
    return max !== undefined && (this.inFlight.get(region) ?? 0) >= max;
  }

  /**
   * A request (or its retry) to `region` started. Counted only for a region with a maxInFlight
   * (the rest cost nothing); true when counted, and then `end` must follow.
   */
  begin(region: string): boolean {
    if (!this.capacity.has(region)) return false;
    this.inFlight.set(region, (this.inFlight.get(region) ?? 0) + 1);
    return true;
  }

  /** A request to `region` ended (or moved to another region to retry). */
  end(region: string): void {
    const n = this.inFlight.get(region) ?? 0;
    if (n <= 1) this.inFlight.delete(region);
    else this.inFlight.set(region, n - 1);
  }

  /** Requests in flight now per region that has a maxInFlight (for /admin/state). */
  inFlightNow(): Record<string, number> {
    return Object.fromEntries(this.inFlight);
  }

  private compileCapacity(snap: Snapshot): void {
    this.capacityOf = snap;
    this.capacity = new Map(snap.regions.flatMap((r) => (r.maxInFlight === null ? [] : [[r.name, r.maxInFlight] as const])));
  }
}
