// FleetChild: a single-process router's fleet member, run in a child process (child-main.ts), as the
// router process sees it. Why a process (docs/benchmarks.md, "The fleet member out of the router's
// process"): the etcd gRPC client's HTTP/2 streams run through the same Node stream, socket and
// event code as the proxied requests, and with both in one heap about a hundred of those call sites
// see more object shapes than they can cache (megamorphic), so every proxied request pays: +2.7 to
// +3.6 % instructions per write with the member in the router's process, +1.0 % with it in a child
// (as the cluster primary is for its workers). A worker thread did not help (the router's thread
// still paid). So the router process opens no etcd connection (it loads the etcd3 module with the
// rest of the code, which costs nothing per request): it keeps the latest snapshot (read per
// request, as before), forwards its probe view, counts its primary requests per region, and relays
// operator actions as calls.
//
// Safety, as for cluster workers (member-parts.ts WorkerSync): the member holds its handover
// acknowledgement from sending a snapshot until this process says it applied it ('applied'). This
// process says so after its listeners ran, naming every region it has primary requests in flight to
// at that moment: each was admitted under an older snapshot, and under a snapshot that is not
// writable none starts, so from then on the set only shrinks, and each region that goes idle is
// reported. The IPC channel keeps the order. While snapshots stay writable nothing is reported per
// request: the member needs the set only to acknowledge a handover, which waits for an 'applied'.
// The fence needs no message: the request path compares the snapshot's `writableUntil` against the
// monotonic clock both processes share, and this process cuts its open primary requests itself when
// the last writable snapshot's fence passes without a newer one (a stuck member cannot delay that).
//
// If the member process dies (a bug; nothing a client sends reaches it), the router refuses primary
// requests at once, cuts the open ones, and starts a new member a second later, which joins like a
// restart. If the router process dies, the member exits with it (IPC disconnect) without revoking
// its lease: whatever the router had sent may still be applied, so the fleet waits for the lease.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/logger.js';
import { BusyRegions } from './busy-regions.js';
import { monotonicClock } from './fence.js';
import { SnapshotCell } from './member-parts.js';
import type { CallName, FromMember, MemberCalls, MemberInit, ToMember } from './child-protocol.js';
import type { FleetStatus } from './member.js';
import type { RegionView } from './records.js';
import { FleetUnavailableError, type SharedSnapshot, type SharedState } from './shared-state.js';
import type { FleetSink } from './sink.js';

export interface FleetChildOptions {
  readonly init: MemberInit;
  /** Metrics and log events, sent by the member and reported here. */
  readonly sink: FleetSink;
  readonly logger: Logger;
  /** The member fenced itself, its fence passed here, or it died: cut the open primary requests. */
  readonly onFenced: () => void;
}

const RESTART_MS = 1000;
/** How long close() waits for the member to leave (its own wait is bounded by timeouts.request). */
const CLOSE_EXTRA_MS = 5000;

/** Before the member's first snapshot, and after it died: routes as before, refuses writes. */
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

export class FleetChild implements SharedState {
  private child: ChildProcess;
  /** Set from the member's exit until a new member process is started. */
  private down = false;
  /** The snapshot the request path reads; its versions only grow, across member restarts too. */
  private readonly cell = new SnapshotCell(unavailable(null));
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** This process's primary requests in flight, per region, and the regions the member was last told are busy. */
  private readonly busy = new BusyRegions((region) => this.post({ t: 'idle', region }));
  private fenceTimer: NodeJS.Timeout | null = null;
  private lastView: Readonly<Record<string, RegionView>> | null = null;
  private started = false;
  private closing = false;

  constructor(private readonly o: FleetChildOptions) {
    this.child = this.spawn();
  }

  snapshot(): SharedSnapshot {
    return this.cell.get();
  }

  onChange(cb: (s: SharedSnapshot) => void): () => void {
    return this.cell.onChange(cb);
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
   * This process's primary requests (the request path's hooks). They cost no message while nothing
   * waits on them: the member learns which regions are busy with each 'applied', the one moment its
   * handover acknowledgement depends on, and afterwards only that a busy region went idle (at most
   * once per event-loop turn; telling it late only makes it wait longer).
   */
  beginPrimary(region: string): void {
    this.busy.beginPrimary(region);
  }

  endPrimary(region: string): void {
    this.busy.endPrimary(region);
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

  /** Leave the fleet (FleetMember.close: waits for this process's primary requests, revokes the lease), then stop the member. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    const child = this.child;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), this.o.init.requestTimeoutMs + CLOSE_EXTRA_MS);
    try {
      if (!this.down) await this.call('close');
    } catch {
      // the member could not leave cleanly: its lease expires instead
    } finally {
      child.disconnect?.();
      await exited;
      clearTimeout(timer);
    }
  }

  private spawn(): ChildProcess {
    const child = fork(fileURLToPath(new URL('./child-main.js', import.meta.url)), [], {
      // structured clone, as between threads: snapshots keep their shape (null, nested objects)
      serialization: 'advanced',
      // the member needs none of the router's node options (--import, --cpu-prof, inspector flags)
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (m: FromMember) => this.onMessage(m));
    child.on('error', (err) => this.died(child, err));
    child.on('exit', (code, signal) => this.died(child, new Error(`fleet member process exited (${signal ?? `code ${code}`})`)));
    // the options first (the etcd credentials stay off the command line and out of the environment)
    child.send({ t: 'init', init: this.o.init } satisfies ToMember);
    return child;
  }

  private onMessage(m: FromMember): void {
    switch (m.t) {
      case 'snap': {
        this.apply(m.snap);
        this.post({ t: 'applied', seq: m.seq, busy: this.busy.busyNow() });
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
    this.cell.set(snap);
    this.armFence();
  }

  /**
   * When a writable snapshot's fence passes with no newer one, cut the open primary requests here,
   * whether or not the member's own 'fenced' arrives. A snapshot that is not writable clears the
   * timer: in a handover the member waits for the open requests; a member that fenced itself says
   * so ('fenced').
   */
  private armFence(): void {
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.fenceTimer = null;
    const s = this.cell.get();
    const until = s.writable ? s.writableUntil : null;
    if (until === null) return;
    this.fenceTimer = setTimeout(
      () => {
        this.fenceTimer = null;
        // a timer counts from the event loop's cached time, so it can fire a little before `until`
        if (monotonicClock.now() < until) this.armFence();
        else this.o.onFenced();
      },
      Math.max(0, until - monotonicClock.now()),
    );
    this.fenceTimer.unref();
  }

  private died(child: ChildProcess, err: Error): void {
    if (child !== this.child || this.down || this.closing) return;
    this.down = true;
    this.o.logger.error({ event: 'fleet-member-exit', err }, 'the fleet member process died: refusing writes, starting a new member');
    this.apply(unavailable(this.cell.get()));
    this.o.onFenced();
    for (const c of this.calls.values()) c.reject(new FleetUnavailableError('the fleet member restarted'));
    this.calls.clear();
    child.kill('SIGKILL');
    setTimeout(() => this.restart(), RESTART_MS).unref();
  }

  private restart(): void {
    if (this.closing) return;
    this.child = this.spawn();
    this.down = false;
    if (this.lastView !== null) this.post({ t: 'view', regions: this.lastView });
    if (this.started) void this.call('start').catch(() => undefined);
  }

  private post(m: ToMember): void {
    if (!this.down && this.child.connected) this.child.send(m);
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
