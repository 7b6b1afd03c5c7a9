// A simulated fleet for the model check: an etcd (revisions, leases that expire, compare-and-swap on
// the write key, a leader key, acks bound to leases, a watch whose events reach each member whenever
// the schedule says so) and N members that run the REAL handover functions (src/fleet/handover.ts)
// the way src/fleet/member.ts and leader.ts do: renewals feed the fence clock, the fence timer makes
// a member lose contact and abort its in-flight primary requests, a member reads everything again
// after losing contact, acknowledges when ackDue() says so, and the leader activates only through
// activationReady() on one read, guarded by compare-and-swap.
//
// Time: one true clock; each member sees it through its own clock with a rate error (drift), and all
// its deadlines (fence, request timeout, handover ack timeout) run on that local clock.
//
// The invariant checked after every step and at every timed event:
//   1. at no instant do two regions receive writes: a region receives writes while some member may
//      start a primary request to it (writePermission().writable) or has one in flight there;
//   2. no member may write, or has a write in flight, at an epoch older than an ACTIVE write key;
//   3. epochs only grow (etcd's key, and every member's view of it).
import fc from 'fast-check';
import { keepAliveIntervalMs, withinLease } from '../../src/fleet/fence.js';
import * as real from '../../src/fleet/handover.js';
import type { WriteKey } from '../../src/fleet/records.js';
import type { WritesWithoutEtcd } from '../../src/fleet/config.js';

export type Core = Pick<
  typeof real,
  | 'observeKey'
  | 'resynced'
  | 'renewed'
  | 'lostContact'
  | 'leaseReplaced'
  | 'acknowledged'
  | 'writePermission'
  | 'ackDue'
  | 'nextWriteKey'
  | 'activationReady'
>;
export const realCore: Core = real;

export type Action =
  | { k: 'advance'; ms: number }
  | { k: 'keepAlive'; m: number; answerLost: boolean }
  | { k: 'sync'; m: number }
  | { k: 'deliver'; m: number; n: number }
  | { k: 'begin'; m: number }
  | { k: 'end'; m: number; i: number }
  | { k: 'ack'; m: number }
  | { k: 'partition'; m: number }
  | { k: 'heal'; m: number }
  | { k: 'etcdDown' }
  | { k: 'etcdUp' }
  | { k: 'campaign'; m: number }
  /** A duty of whichever member holds the leader key now (if any). */
  | { k: 'lead'; duty: 'move' | 'plan' | 'activate'; region: number }
  | { k: 'move'; m: number; region: number; operator: boolean }
  | { k: 'plan'; m: number }
  | { k: 'activate'; m: number }
  | { k: 'crash'; m: number }
  | { k: 'leave'; m: number };

export interface SimOptions {
  readonly members: number;
  readonly regions: readonly string[];
  /** etcd's lease TTL. */
  readonly leaseMs: number;
  /** The lease the members fence by (equal to leaseMs unless a test breaks it on purpose). */
  readonly memberLeaseMs: number;
  readonly requestTimeoutMs: number;
  /** Rate error of each member's clock, e.g. [-0.1, 0.05, 0.1]. */
  readonly drift: readonly number[];
  readonly writesWithoutEtcd: WritesWithoutEtcd;
}

interface Write {
  region: string;
  epoch: number;
  /** Local start time (the proxy aborts at start + timeouts.request). */
  startedAt: number;
}

interface Member {
  id: string;
  rate: number;
  ws: real.MemberWriteState;
  lease: number | null;
  registered: number | null;
  partitioned: boolean;
  inFlight: Write[];
  /** Index into the store's history of write-key changes: what the watch delivered so far. */
  cursor: number;
  /** Mod revision of the write key as this member last saw it (its CAS compare). */
  keyRev: number;
  leaderRev: number | null;
  plan: { key: WriteKey; keyRev: number; members: string[]; acks: Set<string> } | null;
  /** The renewal the last fence event was for (the fence fires once per renewal). */
  fencedFor: number | null;
  /** Highest epoch this member has seen (its view must never go back). */
  seenEpoch: number;
  /** Local time of the session's next scheduled keep-alive (every lease/6, as session.ts). */
  nextKeepAlive: number;
}

export class Violation extends Error {}

export class FleetSim {
  t = 0;
  private rev = 1;
  private up = true;
  private key: { value: WriteKey; rev: number } | null = null;
  private history: { key: WriteKey | null; rev: number }[] = [];
  private readonly leases = new Map<number, number>(); // lease id → expiry (true time)
  private nextLease = 1;
  private readonly memberKeys = new Map<string, number>(); // member id → lease
  private readonly acks = new Map<string, number>(); // `${epoch}/${id}` → lease
  private leader: { id: string; lease: number; createRev: number } | null = null;
  private maxEpoch = 0;
  readonly ms: Member[];
  /** How much of the protocol a run exercised (the test checks the generator reaches it all). */
  readonly seen = { writes: 0, acks: 0, activations: 0, fences: 0, expiries: 0, leasesLost: 0 };

  constructor(
    private readonly o: SimOptions,
    private readonly core: Core = realCore,
  ) {
    this.ms = Array.from({ length: o.members }, (_, i) => this.fresh(`m${i}`, 1 + (o.drift[i] ?? 0)));
    // the first leader creates the key; the model starts from there
    this.key = { value: { region: o.regions[0]!, epoch: 1, state: 'active' }, rev: this.rev };
    this.history.push({ key: this.key.value, rev: this.rev });
    this.maxEpoch = 1;
    // ...with every member joined and caught up, and m0 leading
    for (let i = 0; i < this.ms.length; i++) this.apply({ k: 'sync', m: i });
    this.apply({ k: 'campaign', m: 0 });
  }

  private fresh(id: string, rate: number): Member {
    return {
      id,
      rate,
      ws: real.initialMemberState,
      lease: null,
      registered: null,
      partitioned: false,
      inFlight: [],
      cursor: 0,
      keyRev: 0,
      leaderRev: null,
      plan: null,
      fencedFor: null,
      seenEpoch: 0,
      nextKeepAlive: Math.floor(this.t * rate),
    };
  }

  private local(m: Member): number {
    return Math.floor(this.t * m.rate);
  }

  /** True time at which member m's local clock reads `l` (first ms at or after it). */
  private trueAt(m: Member, l: number): number {
    return Math.ceil(l / m.rate);
  }

  private reach(m: Member): boolean {
    return this.up && !m.partitioned;
  }

  private leaseAlive(lease: number | null): lease is number {
    return lease !== null && this.leases.has(lease);
  }

  private bump(): number {
    return ++this.rev;
  }

  private setKey(value: WriteKey): void {
    if (value.epoch < (this.key?.value.epoch ?? 0)) throw new Violation(`write key epoch went back: ${JSON.stringify(value)}`);
    this.maxEpoch = Math.max(this.maxEpoch, value.epoch);
    this.key = { value, rev: this.bump() };
    this.history.push({ key: value, rev: this.key.rev });
  }

  private dropLease(lease: number): void {
    this.leases.delete(lease);
    for (const [id, l] of this.memberKeys) if (l === lease) this.memberKeys.delete(id);
    for (const [k, l] of this.acks) if (l === lease) this.acks.delete(k);
    if (this.leader?.lease === lease) this.leader = null;
    this.bump();
  }

  /** What the shell does when contact is lost: lostContact(), and (stop) abort in-flight primaries. */
  private loseContact(m: Member): void {
    m.ws = this.core.lostContact(m.ws);
    if (this.o.writesWithoutEtcd === 'stop') m.inFlight = [];
  }

  apply(a: Action): void {
    switch (a.k) {
      case 'advance':
        return this.advance(a.ms);
      case 'etcdDown':
        this.up = false;
        return;
      case 'lead': {
        const m = this.ms.find((x) => this.leader !== null && x.leaderRev === this.leader.createRev);
        if (!m) return;
        if (a.duty === 'move') return this.move(m, this.o.regions[a.region % this.o.regions.length]!, false);
        return a.duty === 'plan' ? this.plan(m) : this.activate(m);
      }
      case 'etcdUp':
        if (!this.up) {
          this.up = true;
          // a restarted etcd gives every lease a full TTL again
          for (const l of this.leases.keys()) this.leases.set(l, this.t + this.o.leaseMs);
        }
        return;
      default:
        return this.memberAction(a, this.ms[a.m]!);
    }
  }

  private memberAction(a: Exclude<Action, { k: 'advance' | 'etcdDown' | 'etcdUp' | 'lead' }>, m: Member): void {
    switch (a.k) {
      case 'keepAlive':
        return this.keepAlive(m, a.answerLost);
      case 'sync':
        this.keepAlive(m, false);
        this.register(m);
        this.resync(m);
        return;
      case 'deliver':
        return this.deliver(m, a.n);
      case 'begin': {
        const p = this.permission(m);
        if (p.writable && p.region !== null) {
          m.inFlight.push({ region: p.region, epoch: p.epoch, startedAt: this.local(m) });
          this.seen.writes++;
        }
        return;
      }
      case 'end':
        if (m.inFlight.length > 0) m.inFlight.splice(a.i % m.inFlight.length, 1);
        return;
      case 'ack':
        return this.ack(m);
      case 'partition':
        m.partitioned = true;
        return;
      case 'heal':
        m.partitioned = false;
        return;
      case 'campaign':
        if (this.reach(m) && this.leaseAlive(m.lease) && m.registered === m.lease && this.leader === null) {
          this.leader = { id: m.id, lease: m.lease, createRev: this.bump() };
          m.leaderRev = this.leader.createRev;
        }
        return;
      case 'move':
        return this.move(m, this.o.regions[a.region % this.o.regions.length]!, a.operator);
      case 'plan':
        return this.plan(m);
      case 'activate':
        return this.activate(m);
      case 'crash':
      case 'leave': {
        if (a.k === 'leave' && this.reach(m) && m.lease !== null && this.leases.has(m.lease)) this.dropLease(m.lease);
        // the process is gone: its sockets close, so nothing is in flight from it any more
        const i = this.ms.indexOf(m);
        this.ms[i] = this.fresh(m.id, m.rate);
        return;
      }
    }
  }

  private keepAlive(m: Member, answerLost: boolean): void {
    if (!this.reach(m)) return;
    const sentAt = this.local(m);
    if (m.lease === null) {
      const id = this.nextLease++;
      this.leases.set(id, this.t + this.o.leaseMs);
      if (answerLost) return; // granted, never heard of: it expires on its own
      m.lease = id;
      m.registered = null;
      m.ws = this.core.leaseReplaced(m.ws, sentAt);
      return;
    }
    if (!this.leases.has(m.lease)) {
      if (answerLost) return;
      m.lease = null;
      m.registered = null;
      this.seen.leasesLost++;
      this.loseContact(m);
      return;
    }
    this.leases.set(m.lease, this.t + this.o.leaseMs);
    if (!answerLost) m.ws = this.core.renewed(m.ws, sentAt);
  }

  private register(m: Member): void {
    if (!this.reach(m) || !this.leaseAlive(m.lease)) return;
    this.memberKeys.set(m.id, m.lease);
    m.registered = m.lease;
    this.bump();
  }

  /** member.ts doResync(): registered under its current lease, read everything. */
  private resync(m: Member): void {
    if (!this.reach(m) || m.lease === null || m.registered !== m.lease) return;
    m.ws = this.core.resynced(m.ws, this.key?.value ?? null, this.rev, this.local(m));
    m.keyRev = this.key?.rev ?? 0;
    m.cursor = this.history.length;
  }

  private deliver(m: Member, n: number): void {
    if (!this.reach(m)) return;
    for (let i = 0; i < n && m.cursor < this.history.length; i++) {
      const ev = this.history[m.cursor++]!;
      m.ws = this.core.observeKey(m.ws, ev.key, ev.rev, this.local(m));
      if (ev.rev > m.keyRev) m.keyRev = ev.rev;
    }
  }

  private ack(m: Member): void {
    const k = m.ws.key;
    if (k === null || !this.reach(m) || !this.leaseAlive(m.lease) || m.registered !== m.lease) return;
    const epoch = this.core.ackDue(m.ws, m.inFlight.length, this.o.requestTimeoutMs, this.local(m));
    if (epoch === null) return;
    this.acks.set(`${epoch}/${m.id}`, m.lease);
    this.seen.acks++;
    this.bump();
    m.ws = this.core.acknowledged(m.ws, epoch);
  }

  private guardOk(m: Member, operator: boolean): boolean {
    return operator || (this.leader !== null && this.leader.createRev === m.leaderRev);
  }

  /** A leader's decision (or an operator's choice) on the member's possibly stale view, by CAS. */
  private move(m: Member, region: string, operator: boolean): void {
    if (!this.reach(m)) return;
    // an operator reads the key afresh; a leader decides on what its watch delivered
    const cur = operator ? (this.key?.value ?? null) : m.ws.key;
    const curRev = operator ? (this.key?.rev ?? 0) : m.keyRev;
    const next = this.core.nextWriteKey(cur, region);
    if (next === null || (this.key?.rev ?? 0) !== curRev || !this.guardOk(m, operator)) return;
    this.setKey(next);
  }

  /** leader.ts tryActivate(), first half: one consistent read of members and acks. */
  private plan(m: Member): void {
    const k = this.key;
    if (!this.reach(m) || k === null || k.value.state !== 'handover') return;
    const acks = new Set<string>();
    for (const key of this.acks.keys()) {
      const [ep, id] = key.split('/');
      if (Number(ep) === k.value.epoch) acks.add(id!);
    }
    m.plan = { key: k.value, keyRev: k.rev, members: [...this.memberKeys.keys()], acks };
  }

  /** ...second half, possibly much later: CAS on the revision the read saw. */
  private activate(m: Member): void {
    const p = m.plan;
    if (!this.reach(m) || p === null || !this.core.activationReady(p.key, p.members, p.acks)) return;
    if ((this.key?.rev ?? 0) !== p.keyRev || !this.guardOk(m, false)) return;
    this.setKey({ ...p.key, state: 'active' });
    this.seen.activations++;
    this.acks.clear();
    m.plan = null;
  }

  /** Move time forward, firing fence timers, request timeouts and lease expiries in order. */
  private advance(dt: number): void {
    const end = this.t + dt;
    for (;;) {
      const ev = this.nextEvent(end);
      if (ev === null) break;
      this.t = ev.at;
      ev.fire();
      this.check();
    }
    this.t = end;
  }

  private nextEvent(limit: number): { at: number; fire: () => void } | null {
    let best: { at: number; fire: () => void } | null = null;
    const consider = (at: number, fire: () => void): void => {
      const when = Math.max(at, this.t);
      if (when <= limit && (best === null || when < best.at)) best = { at: when, fire };
    };
    const kaEvery = keepAliveIntervalMs(this.o.memberLeaseMs);
    for (const m of this.ms) {
      consider(this.trueAt(m, m.nextKeepAlive), () => {
        m.nextKeepAlive = this.local(m) + kaEvery;
        this.keepAlive(m, false);
      });
      const last = m.ws.lastRenewalSentAt;
      if (last !== null && m.fencedFor !== last) {
        const fenceLocal = last + Math.floor(this.o.memberLeaseMs * (2 / 3));
        consider(this.trueAt(m, fenceLocal), () => {
          m.fencedFor = last;
          // member.ts armFence(): lose contact unless a renewal came in meanwhile
          if (!withinLease(m.ws.lastRenewalSentAt, this.o.memberLeaseMs, this.local(m))) {
            this.seen.fences++;
            this.loseContact(m);
          }
        });
      }
      for (const w of m.inFlight) {
        consider(this.trueAt(m, w.startedAt + this.o.requestTimeoutMs), () => {
          m.inFlight = m.inFlight.filter((x) => x !== w);
        });
      }
    }
    if (this.up)
      for (const [lease, exp] of this.leases)
        consider(exp, () => {
          this.seen.expiries++;
          this.dropLease(lease);
        });
    return best;
  }

  /** The invariant; throws Violation with the state that broke it. */
  check(): void {
    const writers = new Map<string, string[]>();
    const active = this.key?.value.state === 'active' ? this.key.value : null;
    for (const m of this.ms) {
      const p = this.permission(m);
      const epochs: { region: string; epoch: number; what: string }[] = m.inFlight.map((w) => ({ ...w, what: 'in flight' }));
      if (p.writable && p.region !== null) epochs.push({ region: p.region, epoch: p.epoch, what: 'writable' });
      for (const e of epochs) {
        writers.set(e.region, [...(writers.get(e.region) ?? []), `${m.id} ${e.what}@${e.epoch}`]);
        if (active && active.epoch > e.epoch)
          throw new Violation(`t=${this.t}: ${m.id} ${e.what} to ${e.region}@${e.epoch} while ${active.region}@${active.epoch} is active`);
      }
      const seen = m.ws.key?.epoch ?? 0;
      if (seen > this.maxEpoch) throw new Violation(`${m.id} sees epoch ${seen} that never existed`);
      if (seen < m.seenEpoch) throw new Violation(`${m.id}'s view went back from epoch ${m.seenEpoch} to ${seen}`);
      m.seenEpoch = seen;
    }
    if (writers.size > 1) throw new Violation(`t=${this.t}: two regions receive writes: ${JSON.stringify(Object.fromEntries(writers))}`);
  }

  private permission(m: Member): real.WritePermission {
    return this.core.writePermission(m.ws, { leaseMs: this.o.memberLeaseMs, writesWithoutEtcd: this.o.writesWithoutEtcd }, this.local(m));
  }
}

/** Random schedules: weights favour the steps a handover needs, so runs get through whole handovers. */
export function actions(members: number): fc.Arbitrary<Action[]> {
  const m = fc.integer({ min: 0, max: members - 1 });
  const c = <K extends Action['k']>(k: K): fc.Arbitrary<K> => fc.constant(k);
  const one = fc.oneof(
    { weight: 8, arbitrary: fc.record({ k: c('advance'), ms: fc.integer({ min: 1, max: 1000 }) }) },
    { weight: 4, arbitrary: fc.record({ k: c('keepAlive'), m, answerLost: fc.boolean() }) },
    { weight: 6, arbitrary: fc.record({ k: c('sync'), m }) },
    { weight: 6, arbitrary: fc.record({ k: c('deliver'), m, n: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 4, arbitrary: fc.record({ k: c('begin'), m }) },
    { weight: 6, arbitrary: fc.record({ k: c('end'), m, i: fc.nat(5) }) },
    { weight: 8, arbitrary: fc.record({ k: c('ack'), m }) },
    { weight: 1, arbitrary: fc.record({ k: c('partition'), m }) },
    { weight: 2, arbitrary: fc.record({ k: c('heal'), m }) },
    { weight: 1, arbitrary: fc.record({ k: c('etcdDown') }) },
    { weight: 2, arbitrary: fc.record({ k: c('etcdUp') }) },
    { weight: 3, arbitrary: fc.record({ k: c('campaign'), m }) },
    { weight: 1, arbitrary: fc.record({ k: c('move'), m, region: fc.nat(2), operator: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ k: c('plan'), m }) },
    { weight: 2, arbitrary: fc.record({ k: c('activate'), m }) },
    { weight: 2, arbitrary: fc.record({ k: c('lead'), duty: fc.constant('move' as const), region: fc.nat(2) }) },
    { weight: 5, arbitrary: fc.record({ k: c('lead'), duty: fc.constant('plan' as const), region: fc.constant(0) }) },
    { weight: 5, arbitrary: fc.record({ k: c('lead'), duty: fc.constant('activate' as const), region: fc.constant(0) }) },
    { weight: 1, arbitrary: fc.record({ k: c('crash'), m }) },
    { weight: 1, arbitrary: fc.record({ k: c('leave'), m }) },
  ) as fc.Arbitrary<Action>;
  return fc.array(one, { minLength: 1, maxLength: 150, size: 'max' });
}
