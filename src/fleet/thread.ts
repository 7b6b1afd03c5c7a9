// FleetThread: this router's fleet member, run on a worker thread (thread-main.ts), as the router's
// thread sees it. Measured on the request path: a process whose own event loop runs the etcd gRPC
// client spends 5-10 % more CPU per proxied request than one without it, even when that client does
// nothing but keep a lease alive and watch a prefix (docs/benchmarks.md, "Where the fleet's cost came
// from"); with the same client on a worker thread the difference is within the noise. So the
// router's thread never loads etcd3: it keeps the latest snapshot (read per request, as before),
// forwards the probe view, counts its primary requests per region, and relays operator actions as
// calls.
//
// Safety, as for cluster workers (member-parts.ts WorkerSync): the member holds its handover
// acknowledgement from posting a snapshot until this thread says it applied it ('applied'). This
// thread says so after its listeners ran, naming every region it has primary requests in flight to
// at that moment: each was admitted under an older snapshot, and under a snapshot that is not
// writable none starts, so from then on the set only shrinks, and each region that goes idle is
// reported. One MessagePort keeps the order. While snapshots stay writable nothing is reported per
// request: the member needs the set only to acknowledge a handover, which waits for an 'applied'.
// The fence itself needs no message: the request path compares the snapshot's `writableUntil`
// against the monotonic clock both threads share.
//
// If the thread dies (a bug; nothing a client sends reaches it), the router refuses primary requests
// at once, cuts the open ones, and starts a new member a second later, which joins like a restart.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../observability/logger.js';
import type { FleetStatus } from './member.js';
import type { RegionView } from './records.js';
import { FleetUnavailableError, type SharedSnapshot, type SharedState } from './shared-state.js';
import type { FleetSink } from './sink.js';
import type { CallName, FromMember, MemberCalls, MemberInit, ToMember } from './thread-protocol.js';

export interface FleetThreadOptions {
  readonly init: MemberInit;
  /** Metrics and log events, posted by the member and reported here. */
  readonly sink: FleetSink;
  readonly logger: Logger;
  /** The member fenced itself (or its thread died): cut the open primary requests. */
  readonly onFenced: () => void;
}

const RESTART_MS = 1000;

/** Before the member's first snapshot, and after its thread died: routes as before, refuses writes. */
function unavailable(last: SharedSnapshot | null): SharedSnapshot {
  return Object.freeze({
    version: 0,
    drains: last?.drains ?? [],
    dials: last?.dials ?? {},
    manualWriteRegion: last?.manualWriteRegion ?? null,
    writeRegion: last?.writeRegion ?? null,
    writable: false,
    writeRefusal: 'fleet-unavailable',
    writableUntil: null,
    readYourWritesKey: last?.readYourWritesKey ?? null,
  });
}

export class FleetThread implements SharedState {
  private worker: Worker;
  /** Set from the thread's 'error'/'exit' until a new member thread is started. */
  private down = false;
  private snap: SharedSnapshot = unavailable(null);
  /** Snapshot versions as this thread numbers them: they only grow, across member restarts too. */
  private version = 0;
  private readonly listeners = new Set<(s: SharedSnapshot) => void>();
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** This thread's primary requests in flight, per region, and the regions the member was last told are busy. */
  private readonly inFlight = new Map<string, number>();
  private reported = new Set<string>();
  private idleCheck = false;
  /** Cluster workers holding (sent a snapshot they have not applied): re-sent to a restarted member. */
  private holds = 0;
  private lastView: Readonly<Record<string, RegionView>> | null = null;
  private started = false;
  private closing = false;

  constructor(private readonly o: FleetThreadOptions) {
    this.worker = this.spawn();
  }

  snapshot(): SharedSnapshot {
    return this.snap;
  }

  onChange(cb: (s: SharedSnapshot) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Join the fleet (FleetMember.start). */
  start(): Promise<{ synced: boolean }> {
    this.started = true;
    return this.call('start');
  }

  status(): Promise<FleetStatus> {
    return this.call('status');
  }

  publishView(regions: Readonly<Record<string, RegionView>>): void {
    this.lastView = regions;
    this.post({ t: 'view', regions });
  }

  /**
   * This thread's own primary requests (the request path's hooks). They cost no message while
   * nothing waits on them: the member learns which regions are busy with each 'applied', the one
   * moment its handover acknowledgement depends on (a request admitted under an older snapshot
   * started before that snapshot was replaced), and afterwards only that a busy region went idle
   * (at most once per event-loop turn; telling it late only makes it wait longer).
   */
  beginLocal(region: string): void {
    this.inFlight.set(region, (this.inFlight.get(region) ?? 0) + 1);
  }

  endLocal(region: string): void {
    const n = (this.inFlight.get(region) ?? 0) - 1;
    if (n < 0) return;
    if (n > 0) {
      this.inFlight.set(region, n);
      return;
    }
    this.inFlight.delete(region);
    if (!this.reported.has(region) || this.idleCheck) return;
    this.idleCheck = true;
    setImmediate(() => {
      this.idleCheck = false;
      for (const r of this.reported)
        if (!this.inFlight.has(r)) {
          this.reported.delete(r);
          this.post({ t: 'idle', region: r });
        }
    });
  }

  /** Cluster mode: a worker's primary requests to `region` went from none to some or back (told at once). */
  beginPrimary(region: string): void {
    this.post({ t: 'primary', region, busy: true });
  }

  endPrimary(region: string): void {
    this.post({ t: 'primary', region, busy: false });
  }

  workerSync(hold: boolean): void {
    if (hold) this.holds++;
    else if (this.holds > 0) this.holds--;
    else return;
    this.post({ t: 'sync', hold });
  }

  drain(region: string): Promise<void> {
    return this.call('drain', region);
  }
  undrain(region: string): Promise<void> {
    return this.call('undrain', region);
  }
  setDial(region: string, percent: number): Promise<void> {
    return this.call('setDial', region, percent);
  }
  evacuate(region: string, overMs: number, to = 0): Promise<void> {
    return this.call('evacuate', region, overMs, to);
  }
  setWriteRegion(region: string): Promise<void> {
    return this.call('setWriteRegion', region);
  }
  ensureReadYourWritesKey(candidate: string): Promise<string> {
    return this.call('ensureReadYourWritesKey', candidate);
  }

  /** Leave the fleet (FleetMember.close), then stop the thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.call('close');
    } finally {
      await this.worker.terminate();
    }
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./thread-main.js', import.meta.url), {
      workerData: this.o.init,
      // the member needs none of the router's node options (--import, --cpu-prof, inspector flags)
      execArgv: [],
      name: 'meridian-fleet',
    });
    w.on('message', (m: FromMember) => this.onMessage(m));
    w.on('error', (err) => this.died(w, err));
    w.on('exit', (code) => this.died(w, new Error(`fleet member thread exited with code ${code}`)));
    return w;
  }

  private onMessage(m: FromMember): void {
    switch (m.t) {
      case 'snap': {
        this.apply(m.snap);
        const busy = [...this.inFlight.keys()];
        this.reported = new Set(busy);
        this.post({ t: 'applied', seq: m.seq, busy });
        return;
      }
      case 'result': {
        const c = this.calls.get(m.id);
        if (!c) return;
        this.calls.delete(m.id);
        if (m.ok) c.resolve(m.value);
        else c.reject(m.name === 'FleetUnavailableError' ? new FleetUnavailableError(m.message) : new Error(m.message));
        return;
      }
      case 'gauge':
        this.o.sink.gauge(m.name, m.value);
        return;
      case 'handover':
        this.o.sink.handoverSeconds(m.seconds);
        return;
      case 'event':
        this.o.sink.event(m.e);
        return;
      case 'fenced':
        this.o.onFenced();
        return;
    }
  }

  private apply(snap: SharedSnapshot): void {
    this.snap = Object.freeze({ ...snap, version: ++this.version });
    for (const cb of this.listeners) cb(this.snap);
  }

  private died(w: Worker, err: Error): void {
    if (w !== this.worker || this.down || this.closing) return;
    this.down = true;
    this.o.logger.error({ event: 'fleet-thread-exit', err }, 'the fleet member thread died: refusing writes, starting a new member');
    this.apply(unavailable(this.snap));
    this.o.onFenced();
    for (const c of this.calls.values()) c.reject(new FleetUnavailableError('the fleet member restarted'));
    this.calls.clear();
    void w.terminate();
    setTimeout(() => this.restart(), RESTART_MS).unref();
  }

  private restart(): void {
    if (this.closing) return;
    this.worker = this.spawn();
    this.down = false;
    if (this.lastView !== null) this.post({ t: 'view', regions: this.lastView });
    for (let i = 0; i < this.holds; i++) this.post({ t: 'sync', hold: true });
    if (this.started) void this.call('start').catch(() => undefined);
  }

  private post(m: ToMember): void {
    if (!this.down) this.worker.postMessage(m);
  }

  private call<N extends CallName>(name: N, ...args: Parameters<MemberCalls[N]>): Promise<Awaited<ReturnType<MemberCalls[N]>>> {
    const id = this.nextId++;
    if (this.down) return Promise.reject(new FleetUnavailableError('the fleet member is restarting'));
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ t: 'call', id, name, args });
    });
  }
}
