// The shared-state port for a router on its own: operator state in memory (it survives reloads, not
// restarts), the write region as the router's own write-region manager decides it. Epochs follow the
// fleet's rule so the write-epoch header means the same with and without a fleet: 1 for the first
// write region, +1 on every change of region. There is no handover: one process switches at once.
import type { Clock } from '../clock.js';
import type { Dial, WriteKey } from './records.js';
import { evacuationDial, validPercent, type SharedSnapshot, type SharedState } from './shared-state.js';

export class LocalSharedState implements SharedState {
  private drains = new Set<string>();
  private dials = new Map<string, Dial>();
  private manual: string | null = null;
  private write: WriteKey | null = null;
  private lastEpoch = 0;
  private rywKey: string | null = null;
  private version = 0;
  private snap: SharedSnapshot;
  private readonly listeners = new Set<(s: SharedSnapshot) => void>();

  constructor(private readonly clock: Clock) {
    this.snap = this.build();
  }

  snapshot(): SharedSnapshot {
    return this.snap;
  }

  onChange(cb: (s: SharedSnapshot) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  drain(region: string): Promise<void> {
    if (!this.drains.has(region)) {
      this.drains.add(region);
      this.changed();
    }
    return Promise.resolve();
  }

  undrain(region: string): Promise<void> {
    if (this.drains.delete(region)) this.changed();
    return Promise.resolve();
  }

  setDial(region: string, percent: number): Promise<void> {
    if (!validPercent(percent)) return Promise.reject(new RangeError(`dial percent must be an integer 0-100, got ${percent}`));
    if (percent === 100) this.dials.delete(region);
    else this.dials.set(region, { percent, ramp: null });
    this.changed();
    return Promise.resolve();
  }

  evacuate(region: string, overMs: number, to = 0): Promise<void> {
    if (!validPercent(to)) return Promise.reject(new RangeError(`dial percent must be an integer 0-100, got ${to}`));
    this.dials.set(region, evacuationDial(this.dials.get(region), overMs, this.clock.now(), to));
    this.changed();
    return Promise.resolve();
  }

  /** An operator's choice; the admin layer has already checked that the region may take writes. */
  setWriteRegion(region: string): Promise<void> {
    this.manual = region;
    this.moveWrites(region);
    this.changed();
    return Promise.resolve();
  }

  /** The router's own write-region manager decided (failover, failback, or no region at all). */
  followLocalDecision(region: string | null): void {
    if (region === (this.write?.region ?? null)) return;
    if (region !== this.manual) this.manual = null;
    if (region === null) this.write = null;
    else this.moveWrites(region);
    this.changed();
  }

  ensureReadYourWritesKey(candidate: string): Promise<string> {
    if (this.rywKey === null) {
      this.rywKey = candidate;
      this.changed();
    }
    return Promise.resolve(this.rywKey);
  }

  private moveWrites(region: string): void {
    if (this.write?.region === region) return;
    // the epoch keeps growing across a spell without a write region, so it never repeats
    const epoch = ++this.lastEpoch;
    this.write = { region, epoch, state: 'active' };
  }

  private changed(): void {
    this.version++;
    this.snap = this.build();
    for (const cb of this.listeners) cb(this.snap);
  }

  private build(): SharedSnapshot {
    return Object.freeze({
      version: this.version,
      drains: Object.freeze([...this.drains].sort()),
      dials: Object.freeze(Object.fromEntries(this.dials)),
      manualWriteRegion: this.manual,
      writeRegion: this.write,
      writable: this.write !== null,
      writeRefusal: this.write === null ? 'no-write-region' : null,
      writableUntil: null,
      readYourWritesKey: this.rywKey,
    });
  }
}
