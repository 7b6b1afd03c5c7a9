// FleetMember: this router as a member of the fleet, and the etcd implementation of the shared-state
// port. It wires the pieces together and owns every timer; the decisions are in the pure modules:
//   session.ts   lease + keep-alives        → renewals feed the self-fence clock (fence.ts)
//   mirror.ts    list + watch of the prefix → fleet-state.ts reads it, fleet-events.ts logs changes
//   handover.ts  may this member write, when does it acknowledge
//   leader.ts    campaign, failover/failback (decision.ts), handover completion
//   ops.ts       every write to etcd
// The request path never calls into this: it reads snapshot(), a frozen value rebuilt on change.
import type { Etcd3 } from 'etcd3';
import { systemClock, type Clock } from '../clock.js';
import type { FleetConfig } from './config.js';
import type { WritePolicy } from './decision.js';
import { createEtcdClient } from './etcd-client.js';
import { fenceAt, keepAliveIntervalMs, monotonicClock, withinLease } from './fence.js';
import { fleetEvents } from './fleet-events.js';
import { readFleetState, type FleetState } from './fleet-state.js';
import * as hv from './handover.js';
import { LeaderDuty, type LeaderInputs } from './leader.js';
import { PrefixMirror } from './mirror.js';
import { FleetOps } from './ops.js';
import { EtcdOperatorActions } from './operator.js';
import { KEYS, type MemberRecord, type RegionView, type WriteKey } from './records.js';
import { PrimaryInFlight, SnapshotCell, ViewPublisher, WorkerSync } from './member-parts.js';
import { LeaseSession } from './session.js';
import type { SharedSnapshot, SharedState } from './shared-state.js';
import type { FleetSink } from './sink.js';

export interface FleetMemberOptions {
  readonly config: FleetConfig;
  readonly policy: WritePolicy;
  /** timeouts.request: a member acknowledges a handover after this even with requests in flight. */
  readonly requestTimeoutMs: number;
  /** Meridian's version, shown in membership. */
  readonly version: string;
  readonly sink: FleetSink;
  /** Measures the fence and every interval; default: monotonic. */
  readonly clock?: Clock;
  /** Timestamps stored in etcd (start time, dial ramps); default: the wall clock. */
  readonly wallClock?: Clock;
  /**
   * Called when the member fences itself (writesWithoutEtcd: stop): the router must abort its
   * in-flight primary requests now, because the fleet may move writes once the lease expires.
   */
  readonly onFenced?: () => void;
}

export interface FleetStatus {
  readonly id: string;
  readonly connected: boolean;
  readonly leader: string | null;
  readonly members: readonly MemberRecord[];
  readonly writeRegion: WriteKey | null;
}

const EMPTY: FleetState = readFleetState({ get: () => undefined, under: () => [] });
/** Deadline of each etcd call made in the background (registration, reads, acks, leader writes). */
const CALL_MS = 1500;

export class FleetMember implements SharedState {
  private readonly client: Etcd3;
  private readonly ops: FleetOps;
  private readonly operator: EtcdOperatorActions;
  private readonly session: LeaseSession;
  private readonly mirror: PrefixMirror;
  private readonly leaderDuty: LeaderDuty;
  private readonly clock: Clock;
  private readonly record: MemberRecord;
  private ws: hv.MemberWriteState = hv.initialMemberState;
  private fleet: FleetState = EMPTY;
  private readonly snap: SnapshotCell;
  /** Bumped whenever contact is lost, so a read that began before the loss cannot count as caught up. */
  private contactGen = 0;
  private registeredLease: string | null = null;
  private resyncing = false;
  private resyncAgain = false;
  private readonly view: ViewPublisher;
  private ackBusy = false;
  private readonly inFlight = new PrimaryInFlight();
  private readonly workers = new WorkerSync();
  private wasConnected = false;
  private fenceTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly whys = new Map<number, string>();
  private synced: (() => void) | null = null;
  /** Leaving: no new primary requests from here on. */
  private closing = false;
  private closed = false;

  constructor(private readonly o: FleetMemberOptions) {
    const client = createEtcdClient(o.config.etcd);
    const wall = o.wallClock ?? systemClock;
    const ops = new FleetOps(client, o.config.etcd.prefix);
    this.client = client;
    this.ops = ops;
    this.operator = new EtcdOperatorActions({
      ops,
      wallClock: wall,
      writeRegions: o.policy.regions,
      currentDial: (region) => this.fleet.dials[region],
      announce: (epoch, why) => this.whys.set(epoch, why),
      caughtUpTo: (rev) => this.waitForRevision(rev),
    });
    this.clock = o.clock ?? monotonicClock;
    this.record = { id: o.config.id, site: o.config.site, version: o.version, startedAt: wall.now() };
    this.session = new LeaseSession(client, o.config.leaseMs, this.clock, {
      leaseGranted: (_id, sentAt) => this.onLeaseGranted(sentAt),
      renewed: (sentAt) => this.onRenewed(sentAt),
      leaseLost: () => this.onContactLost('lease lost'),
      failed: () => undefined, // the fence clock decides what a failure means
    });
    this.mirror = new PrefixMirror(client, o.config.etcd.prefix, {
      changed: () => this.onMirror(),
      broken: () => this.resync(),
    });
    this.leaderDuty = new LeaderDuty(ops, {
      policy: o.policy,
      quorum: o.config.quorum,
      clock: this.clock,
      sink: o.sink,
      callMs: CALL_MS,
      announce: (epoch, why) => this.whys.set(epoch, why),
    });
    this.view = new ViewPublisher(ops, o.config.id, CALL_MS);
    this.snap = new SnapshotCell(this.build());
  }

  /**
   * Join the fleet. Resolves `{ synced: true }` once the fleet state has been read, or `{ synced: false }`
   * after one lease if etcd cannot be reached (the member keeps trying; writes stay refused).
   */
  start(): Promise<{ synced: boolean }> {
    this.session.start();
    this.tickTimer = setInterval(() => this.duties(), keepAliveIntervalMs(this.o.config.leaseMs));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.synced = null;
        resolve({ synced: false });
      }, this.o.config.leaseMs);
      this.synced = () => {
        clearTimeout(timer);
        this.synced = null;
        resolve({ synced: true });
      };
    });
  }

  snapshot(): SharedSnapshot {
    return this.snap.get();
  }

  onChange(cb: (s: SharedSnapshot) => void): () => void {
    return this.snap.onChange(cb);
  }

  /** This router's own probe view of every region (written to etcd when it changed). */
  publishView(regions: Readonly<Record<string, RegionView>>): void {
    if (this.view.set(regions, (this.o.wallClock ?? systemClock).now())) this.view.flush(this.registeredLease);
  }

  /** Cluster mode: a worker was sent a snapshot (hold) or applied the latest one (release); see WorkerSync. */
  workerSync(hold: boolean): void {
    if (hold) this.workers.hold();
    else this.workers.release();
    if (!hold && this.ws.key?.state === 'handover') this.maybeAck();
  }

  /** A primary request to `region` starts (call once per request, before forwarding). */
  beginPrimary(region: string): void {
    this.inFlight.begin(region);
  }

  /** ...and ends (response finished, failed or aborted). */
  endPrimary(region: string): void {
    this.inFlight.end(region);
    if (this.ws.key?.state === 'handover') this.maybeAck();
  }

  status(): FleetStatus {
    return {
      id: this.o.config.id,
      connected: this.isConnected(),
      leader: this.fleet.leader,
      members: [...this.fleet.members.values()].sort((a, b) => a.id.localeCompare(b.id)),
      writeRegion: this.fleet.writeKey,
    };
  }

  /**
   * Leave the fleet: refuse primary requests at once, wait (at most timeouts.request) for those in
   * flight (cluster workers name theirs when they acknowledge that refusal), abort what is left,
   * then revoke the lease, so membership, view and leadership go at once and a handover need not
   * wait for this member's lease to expire.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.refresh('leaving');
    const until = this.clock.now() + this.o.requestTimeoutMs;
    const open = (): boolean => this.inFlight.total > 0 || !this.workers.mayAck(this.clock.now(), this.o.requestTimeoutMs);
    while (open() && this.clock.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (this.inFlight.total > 0) this.o.onFenced?.();
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    await this.mirror.close(500);
    await this.session.close(true);
    this.client.close();
  }

  // ---- operator actions (shared-state port) ----

  drain(region: string): Promise<void> {
    return this.operator.drain(region);
  }
  undrain(region: string): Promise<void> {
    return this.operator.undrain(region);
  }
  setDial(region: string, percent: number): Promise<void> {
    return this.operator.setDial(region, percent);
  }
  evacuate(region: string, overMs: number, to = 0): Promise<void> {
    return this.operator.evacuate(region, overMs, to);
  }
  setWriteRegion(region: string): Promise<void> {
    return this.operator.setWriteRegion(region);
  }
  ensureReadYourWritesKey(candidate: string): Promise<string> {
    return this.operator.ensureReadYourWritesKey(candidate);
  }

  // ---- session events ----

  private onLeaseGranted(sentAt: number): void {
    this.ws = hv.leaseReplaced(this.ws, sentAt);
    this.contactGen++;
    this.registeredLease = null;
    this.armFence();
    this.resync();
  }

  private onRenewed(sentAt: number): void {
    this.ws = hv.renewed(this.ws, sentAt);
    this.armFence();
    if (!this.ws.caughtUp || this.registeredLease !== this.session.lease) this.resync();
    this.refresh();
  }

  private onContactLost(reason: string): void {
    this.ws = hv.lostContact(this.ws);
    this.contactGen++;
    if (reason === 'lease lost') this.registeredLease = null;
    if (this.o.config.writesWithoutEtcd === 'stop') this.o.onFenced?.();
    this.refresh(reason);
  }

  private armFence(): void {
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    const last = this.ws.lastRenewalSentAt;
    if (last === null || this.closed) return;
    const at = fenceAt(last, this.o.config.leaseMs);
    this.fenceTimer = setTimeout(
      () => {
        this.fenceTimer = null;
        if (!withinLease(this.ws.lastRenewalSentAt, this.o.config.leaseMs, this.clock.now()))
          this.onContactLost('no keep-alive answered within 2/3 of the lease');
        else this.armFence();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  // ---- reading the fleet ----

  /** Register under the current lease if needed, then read everything; single-flight. */
  private resync(): void {
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    this.resyncing = true;
    void this.doResync().finally(() => {
      this.resyncing = false;
      if (this.resyncAgain && !this.closed) {
        this.resyncAgain = false;
        this.resync();
      }
    });
  }

  private async doResync(): Promise<void> {
    const lease = this.session.lease;
    if (lease === null || this.closed) return;
    const gen = this.contactGen;
    try {
      if (this.registeredLease !== lease) {
        await this.ops.register(lease, this.record, this.view.current, CALL_MS);
        this.registeredLease = lease;
        this.view.registered();
      }
      const rev = await this.mirror.resync(CALL_MS);
      if (gen !== this.contactGen || this.session.lease !== lease || this.closed) return;
      this.ws = hv.resynced(this.ws, this.fleet.writeKey, rev, this.clock.now());
      this.refresh();
      this.synced?.();
      this.duties();
    } catch {
      // the next renewal (or failed one) brings us back here
    }
  }

  private onMirror(): void {
    const prev = this.fleet;
    this.fleet = readFleetState(this.mirror);
    this.ws = hv.observeKey(this.ws, this.fleet.writeKey, this.mirror.revision, this.clock.now());
    for (const e of fleetEvents(prev, this.fleet, this.o.config.id, (ep) => this.whys.get(ep) ?? null)) this.o.sink.event(e);
    for (const ep of this.whys.keys()) if (ep <= (this.fleet.writeKey?.epoch ?? 0)) this.whys.delete(ep);
    this.refresh();
    this.duties();
  }

  // ---- duties: acknowledge, publish, lead ----

  private duties(): void {
    if (this.closed) return;
    this.refresh();
    this.maybeAck();
    this.view.flush(this.registeredLease);
    if (this.isConnected()) void this.leaderDuty.step(() => this.leaderInputs());
  }

  private leaderInputs(): LeaderInputs {
    const lease = this.registeredLease === this.session.lease ? this.session.lease : null;
    return { id: this.o.config.id, lease, fleet: this.fleet, leaderEntry: this.mirror.get(KEYS.leader) };
  }

  private maybeAck(): void {
    const key = this.ws.key;
    const lease = this.registeredLease;
    if (key === null || lease === null || this.ackBusy || lease !== this.session.lease) return;
    const epoch = hv.ackDue(this.ws, this.inFlight.total, this.o.requestTimeoutMs, this.clock.now());
    if (epoch === null || !this.workers.mayAck(this.clock.now(), this.o.requestTimeoutMs)) return;
    this.ackBusy = true;
    this.ops
      .ack(lease, this.o.config.id, epoch, (this.o.wallClock ?? systemClock).now(), CALL_MS)
      .then(() => {
        if (this.session.lease === lease) this.ws = hv.acknowledged(this.ws, epoch);
      })
      .catch(() => undefined)
      .finally(() => (this.ackBusy = false));
  }

  private isConnected(): boolean {
    return this.ws.caughtUp && withinLease(this.ws.lastRenewalSentAt, this.o.config.leaseMs, this.clock.now());
  }

  private refresh(reason = 'etcd unreachable'): void {
    const connected = this.isConnected();
    if (connected !== this.wasConnected) {
      this.wasConnected = connected;
      this.o.sink.event(connected ? { event: 'fleet-connected', revision: this.mirror.revision } : { event: 'fleet-disconnected', reason });
    }
    const s = this.o.sink;
    s.gauge('meridian_fleet_connected', connected ? 1 : 0);
    s.gauge('meridian_fleet_members', this.fleet.members.size);
    s.gauge('meridian_fleet_leader', LeaderDuty.heldRevision(this.leaderInputs()) !== null ? 1 : 0);
    s.gauge('meridian_write_epoch', this.ws.key?.epoch ?? 0);
    this.snap.set(this.workers.built(this.build()));
  }

  private build(): SharedSnapshot {
    const f = this.fleet;
    const perm = this.closing
      ? { writable: false, refusal: 'fleet-unavailable' as const, until: null }
      : hv.writePermission(this.ws, this.o.config, this.clock.now());
    return Object.freeze({
      version: 0,
      drains: f.drains,
      dials: f.dials,
      manualWriteRegion: f.manualWriteRegion,
      writeRegion: this.ws.key,
      writable: perm.writable,
      writeRefusal: perm.refusal,
      writableUntil: perm.until,
      readYourWritesKey: f.readYourWritesKey,
    });
  }

  private waitForRevision(rev: number): Promise<void> {
    // an operator sees its own change in snapshot() when the action resolves (bounded: the change is
    // accepted either way, and the watch delivers it to everyone)
    const deadline = this.clock.now() + 500;
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.mirror.revision >= rev || this.clock.now() > deadline || this.closed) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
  }
}
