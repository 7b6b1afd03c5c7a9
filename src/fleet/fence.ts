// The self-fence clock: when a member must stop sending primary requests because its etcd lease may
// be about to expire. Pure arithmetic; the session feeds it the send time of the last keep-alive
// that etcd answered with a live lease.
//
// Why the SEND time: etcd renews a lease when it processes the keep-alive, which is after the member
// sent it, so the lease lives at least until sentAt + TTL on the server's clock. Counting from the
// moment the answer arrived would overestimate by the round trip.
//
// Why 2/3: a member's lease can expire TTL after its last renewal, and from then on the leader may
// activate a new write region without this member's acknowledgement. Fencing at 2/3 of the lease
// leaves 1/3 of it as margin for clock rate differences between this host and etcd's leader (a
// member's 2/3 TTL stays shorter than etcd's full TTL for any rate error below 50 %), for the
// member's timer firing late, and for aborting in-flight primary requests. docs/fleet.md states the
// argument in full.
import type { Clock } from '../clock.js';

const FENCE_SHARE = 2 / 3;

/** The instant after which a member with this last renewal may no longer send primary requests. */
export function fenceAt(lastRenewalSentAt: number, leaseMs: number): number {
  return lastRenewalSentAt + Math.floor(leaseMs * FENCE_SHARE);
}

/** True while a member with this last renewal may still count itself connected. */
export function withinLease(lastRenewalSentAt: number | null, leaseMs: number, now: number): boolean {
  return lastRenewalSentAt !== null && now < fenceAt(lastRenewalSentAt, leaseMs);
}

/**
 * Keep-alives every 1/6 of the lease: two can be lost in a row before the 2/3 fence (the official Go
 * client renews every 1/3, which with this fence would leave no room for a single lost one).
 */
export function keepAliveIntervalMs(leaseMs: number): number {
  return Math.max(50, Math.floor(leaseMs / 6));
}

/** A keep-alive not answered within this is treated as failed, and its stream is replaced. */
export function keepAliveTimeoutMs(leaseMs: number): number {
  return Math.max(200, Math.floor(leaseMs / 3));
}

/**
 * The lease TTL that etcd is asked for: whole seconds, rounded up (never shorter than configured).
 * The fence still uses the configured lease when etcd grants a longer one, which only fences earlier.
 */
export function leaseTtlSeconds(leaseMs: number): number {
  return Math.max(1, Math.ceil(leaseMs / 1000));
}

/**
 * The fence clock: the system's monotonic clock in ms (process.hrtime, CLOCK_MONOTONIC on Linux).
 * A wall-clock step (NTP) cannot stretch the fence, and every process on the host reads the same
 * clock: with `workers: N` the primary computes `writableUntil` and each worker process compares
 * against it. performance.timeOrigin + performance.now() would not do: each process takes its own
 * origin from the wall clock when it starts, so a clock step between two starts would shift one
 * process's fence against the other's.
 */
export const monotonicClock: Clock = { now: () => Number(process.hrtime.bigint()) / 1e6 };
