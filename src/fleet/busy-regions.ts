// The primary requests a router process has in flight, per region, as its fleet member needs to
// know them: a cluster worker for its primary (src/cluster/worker.ts), a single-process router for
// its member process (child.ts).
//
// To acknowledge a handover honestly the member must know which regions this process has primary
// requests in flight to that were admitted under a snapshot from before the handover began. Nothing
// crosses the process boundary per request (a message at every none-to-some change made each write
// dearer): the busy regions go with each acknowledgement of a snapshot (busyNow), sent once that
// snapshot is in effect. Under a snapshot that is not writable no primary request starts, so from
// then on the set only shrinks, and a region named busy is reported idle once its last request
// ends (at most once per event-loop turn). While snapshots stay writable the member's picture may
// lag behind; nothing needs it then, and a handover begins with a new snapshot.
import { monotonicClock } from './fence.js';

export class BusyRegions {
  /** The clock the request path checks a snapshot's fence (`writableUntil`) against. */
  readonly fenceClock = monotonicClock;
  private readonly counts = new Map<string, number>();
  /** Regions named busy in the last acknowledgement and not reported idle since. */
  private reported = new Set<string>();
  private idleCheck = false;

  /** idle: tell the member that a region named busy has no primary request in flight any more. */
  constructor(private readonly idle: (region: string) => void) {}

  beginPrimary(region: string): void {
    this.counts.set(region, (this.counts.get(region) ?? 0) + 1);
  }

  endPrimary(region: string): void {
    const n = (this.counts.get(region) ?? 0) - 1;
    if (n > 0) return void this.counts.set(region, n);
    this.counts.delete(region);
    if (!this.reported.has(region) || this.idleCheck) return;
    this.idleCheck = true;
    setImmediate(() => {
      this.idleCheck = false;
      for (const r of this.reported)
        if (!this.counts.has(r)) {
          this.reported.delete(r);
          this.idle(r);
        }
    });
  }

  /** The regions busy now, for the acknowledgement of a snapshot just applied. */
  busyNow(): string[] {
    const busy = [...this.counts.keys()];
    this.reported = new Set(busy);
    return busy;
  }
}
