// Small state holders of a FleetMember, kept apart so member.ts stays about wiring.
import type { FleetOps } from './ops.js';
import type { HealthViewRecord, RegionView } from './records.js';
import type { SharedSnapshot } from './shared-state.js';

/** Primary requests this router has in flight, per region (the handover acknowledgement waits for them). */
export class PrimaryInFlight {
  private readonly byRegion = new Map<string, number>();
  private n = 0;

  begin(region: string): void {
    this.byRegion.set(region, (this.byRegion.get(region) ?? 0) + 1);
    this.n++;
  }

  end(region: string): void {
    const left = (this.byRegion.get(region) ?? 0) - 1;
    if (left < 0) return; // an end without a begin: ignore rather than go negative
    if (left > 0) this.byRegion.set(region, left);
    else this.byRegion.delete(region);
    this.n--;
  }

  get total(): number {
    return this.n;
  }
}

/**
 * Cluster mode: worker processes apply the member's snapshots over IPC, so for a moment a worker may
 * still hold one from before a handover began and admit a write under it. While any worker has not
 * acknowledged the latest snapshot, the handover acknowledgement waits — for the worker, or until
 * every writable snapshot ever sent has expired (its `writableUntil`, the lease fence) and a request
 * admitted just before that has timed out (`timeouts.request`): a worker reports the regions it has
 * primary requests in flight to only when it acknowledges a snapshot, so of one that has not, the
 * member knows nothing. Without a fence (`writesWithoutEtcd: continue`) it waits for the worker.
 */
export class WorkerSync {
  private unsynced = 0;
  private lastWritableUntil: number | null = null;

  hold(): void {
    this.unsynced++;
  }

  release(): void {
    if (this.unsynced > 0) this.unsynced--;
  }

  /** A snapshot was built: remember how long a writable one lets its holder write. */
  built(s: SharedSnapshot): SharedSnapshot {
    if (s.writable) this.lastWritableUntil = s.writableUntil;
    return s;
  }

  /** `requestTimeoutMs`: timeouts.request, how long a request admitted under a snapshot may stay open. */
  mayAck(now: number, requestTimeoutMs: number): boolean {
    return this.unsynced === 0 || (this.lastWritableUntil !== null && now >= this.lastWritableUntil + requestTimeoutMs);
  }
}

/** The current snapshot and who wants to hear about a new one; a rebuild with the same content is no change. */
export class SnapshotCell {
  private version = 0;
  private readonly listeners = new Set<(s: SharedSnapshot) => void>();

  constructor(private snap: SharedSnapshot) {}

  get(): SharedSnapshot {
    return this.snap;
  }

  set(next: SharedSnapshot): void {
    // snapshots are small and this runs on changes, not per request
    if (JSON.stringify({ ...next, version: 0 }) === JSON.stringify({ ...this.snap, version: 0 })) return;
    this.snap = Object.freeze({ ...next, version: ++this.version });
    for (const cb of this.listeners) cb(this.snap);
  }

  onChange(cb: (s: SharedSnapshot) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

/** This router's probe view: kept, and written to etcd when it changed (one write at a time). */
export class ViewPublisher {
  private view: HealthViewRecord | null = null;
  private dirty = false;
  private busy = false;

  constructor(
    private readonly ops: FleetOps,
    private readonly id: string,
    private readonly callMs: number,
  ) {}

  get current(): HealthViewRecord | null {
    return this.view;
  }

  /** Returns whether the view changed. */
  set(regions: Readonly<Record<string, RegionView>>, at: number): boolean {
    if (this.view && sameView(this.view.regions, regions)) return false;
    this.view = { at, regions: { ...regions } };
    this.dirty = true;
    return true;
  }

  /** The view went out with the registration under a new lease. */
  registered(): void {
    this.dirty = false;
  }

  flush(lease: string | null): void {
    const view = this.view;
    if (!this.dirty || this.busy || view === null || lease === null) return;
    this.busy = true;
    this.dirty = false;
    this.ops
      .putView(lease, this.id, view, this.callMs)
      .catch(() => (this.dirty = true))
      .finally(() => (this.busy = false));
  }
}

function sameView(a: Readonly<Record<string, RegionView>>, b: Readonly<Record<string, RegionView>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k]?.up === b[k]?.up && a[k]?.lagMs === b[k]?.lagMs);
}
