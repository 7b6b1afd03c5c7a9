// The write handover as a pure state machine. Members and the leader run the same functions against
// etcd (src/fleet/member.ts, leader.ts) and against the simulated store of the model check
// (test/fleet/model.test.ts); all I/O, timers and retries live in those shells.
//
// "writable" (may this member START a primary request now) is, precisely:
//   the member has read the fleet state since it last lost contact (caughtUp), and
//   with writesWithoutEtcd: stop, now < fenceAt(last renewal sent, lease), and
//   the write key it knows is in state `active`.
// A member then sends primary requests only to the key's region, with the key's epoch.
//
// The handover from region A to B at epoch e (written by a compare-and-swap on the key):
//   1. every member that sees the key in `handover` at epoch e stops starting primary requests;
//   2. it acknowledges e (acks/<e>/<id>, bound to its lease) once its in-flight primary requests have
//      finished, or timeouts.request has passed since it saw the handover. All of them, not only those
//      to A: none can start during a handover, so every one of them carries an older epoch, and after
//      A -> B -> A (B never activated) a request to A at the first epoch would otherwise still be in
//      flight when A becomes active again at the third, with a stale fencing token;
//   3. the leader reads the members and the acks of e in one consistent read and, when every live
//      member has acknowledged (a member whose lease expired is no longer live), sets the key to
//      `active` with a compare-and-swap on the revision it read.
// A member cut off from etcd fences itself before its lease can expire and aborts its in-flight
// primary requests then, so by the time the leader stops waiting for it, it sends nothing.
import { fenceAt, withinLease } from './fence.js';
import type { WritesWithoutEtcd } from './config.js';
import type { WriteKey } from './records.js';

export type WriteRefusal = 'fleet-unavailable' | 'write-handover' | 'no-write-region';

export interface MemberWriteState {
  /** The write key as this member last saw it (null: none exists, or not read yet). */
  readonly key: WriteKey | null;
  /** The etcd revision that knowledge is current as of; older observations are ignored. */
  readonly revision: number;
  /** Read the fleet state since it last lost contact. */
  readonly caughtUp: boolean;
  /** Send time of the last keep-alive (or grant) that etcd answered with a live lease. */
  readonly lastRenewalSentAt: number | null;
  /** Local time this member first saw the current handover epoch. */
  readonly handoverSeenAt: number | null;
  /** Highest epoch whose acknowledgement etcd accepted under the current lease. */
  readonly ackedEpoch: number;
}

export interface FenceSettings {
  readonly leaseMs: number;
  readonly writesWithoutEtcd: WritesWithoutEtcd;
}

export interface WritePermission {
  readonly writable: boolean;
  readonly refusal: WriteRefusal | null;
  /** Where primary requests go, with which fencing token (also known while refused). */
  readonly region: string | null;
  readonly epoch: number;
  /** While writable: the instant the permission ends unless renewed (null: no fence). */
  readonly until: number | null;
}

export const initialMemberState: MemberWriteState = {
  key: null,
  revision: 0,
  caughtUp: false,
  lastRenewalSentAt: null,
  handoverSeenAt: null,
  ackedEpoch: 0,
};

/**
 * `s` with some fields changed, built field by field in one order: a spread (`{ ...s, f }`) gives
 * the result a new hidden class now and then on Node 20, and the request path reads this state on
 * every primary request's end (src/routing/decision.ts says more).
 */
function change(s: MemberWriteState, c: Partial<MemberWriteState>): MemberWriteState {
  return {
    key: c.key !== undefined ? c.key : s.key,
    revision: c.revision ?? s.revision,
    caughtUp: c.caughtUp ?? s.caughtUp,
    lastRenewalSentAt: c.lastRenewalSentAt !== undefined ? c.lastRenewalSentAt : s.lastRenewalSentAt,
    handoverSeenAt: c.handoverSeenAt !== undefined ? c.handoverSeenAt : s.handoverSeenAt,
    ackedEpoch: c.ackedEpoch ?? s.ackedEpoch,
  };
}

/** A write key read at `revision` (watch event or full read). Never goes back in time. */
export function observeKey(s: MemberWriteState, key: WriteKey | null, revision: number, now: number): MemberWriteState {
  if (revision < s.revision) return s;
  const newHandover = key !== null && key.state === 'handover' && !(s.key?.state === 'handover' && s.key.epoch === key.epoch);
  const handoverSeenAt = key?.state === 'handover' ? (newHandover ? now : s.handoverSeenAt) : null;
  return change(s, { key, revision, handoverSeenAt });
}

/** A full read of the fleet state after (re)connecting: the member is caught up as of `revision`. */
export function resynced(s: MemberWriteState, key: WriteKey | null, revision: number, now: number): MemberWriteState {
  return change(observeKey(s, key, revision, now), { caughtUp: true });
}

/** etcd answered a keep-alive (or granted a lease) that was sent at `sentAt`. */
export function renewed(s: MemberWriteState, sentAt: number): MemberWriteState {
  if (s.lastRenewalSentAt !== null && s.lastRenewalSentAt >= sentAt) return s;
  return change(s, { lastRenewalSentAt: sentAt });
}

/** The member fenced itself or learnt that its lease is gone: it must read the state again. */
export function lostContact(s: MemberWriteState): MemberWriteState {
  return s.caughtUp ? change(s, { caughtUp: false }) : s;
}

/** A new lease replaces a lost one: acknowledgements made under the old lease went with it. */
export function leaseReplaced(s: MemberWriteState, grantSentAt: number): MemberWriteState {
  return change(s, { caughtUp: false, ackedEpoch: 0, lastRenewalSentAt: grantSentAt });
}

export function acknowledged(s: MemberWriteState, epoch: number): MemberWriteState {
  return epoch > s.ackedEpoch ? change(s, { ackedEpoch: epoch }) : s;
}

export function writePermission(s: MemberWriteState, f: FenceSettings, now: number): WritePermission {
  const region = s.key?.region ?? null;
  const epoch = s.key?.epoch ?? 0;
  const refuse = (refusal: WriteRefusal): WritePermission => ({ writable: false, refusal, region, epoch, until: null });
  const fenced = f.writesWithoutEtcd === 'stop' && !withinLease(s.lastRenewalSentAt, f.leaseMs, now);
  if (s.key === null) return refuse(s.caughtUp && !fenced ? 'no-write-region' : 'fleet-unavailable');
  if (f.writesWithoutEtcd === 'stop' && (!s.caughtUp || fenced)) return refuse('fleet-unavailable');
  if (s.key.state === 'handover') return refuse('write-handover');
  const until = f.writesWithoutEtcd === 'stop' && s.lastRenewalSentAt !== null ? fenceAt(s.lastRenewalSentAt, f.leaseMs) : null;
  return { writable: true, refusal: null, region, epoch, until };
}

/**
 * The epoch this member should acknowledge now, or null. `inFlight`: this member's primary requests
 * in flight (to any region).
 */
export function ackDue(s: MemberWriteState, inFlight: number, requestTimeoutMs: number, now: number): number | null {
  const k = s.key;
  if (k === null || k.state !== 'handover' || s.ackedEpoch >= k.epoch) return null;
  if (inFlight === 0) return k.epoch;
  if (s.handoverSeenAt !== null && now - s.handoverSeenAt >= requestTimeoutMs) return k.epoch;
  return null;
}

/** The key a change to `target` writes, or null when nothing changes (same region: same epoch). */
export function nextWriteKey(current: WriteKey | null, target: string): WriteKey | null {
  // Nobody writes before the first key exists, so the first one is active at once.
  if (current === null) return { region: target, epoch: 1, state: 'active' };
  if (current.region === target) return null;
  return { region: target, epoch: current.epoch + 1, state: 'handover' };
}

/**
 * Leader side: may the handover in `key` become active, given one consistent read of the live
 * members and of the acknowledgements of key.epoch?
 */
export function activationReady(key: WriteKey, liveMembers: readonly string[], acks: ReadonlySet<string>): boolean {
  return key.state === 'handover' && liveMembers.every((id) => acks.has(id));
}
