// Traffic steering, the last step of decide(): an operator's dial keeps only a share of the traffic
// that prefers a region, and a region at its `maxInFlight` spills new requests to the next
// candidate. Both are inputs (a Steering), so decide() stays pure.
//
// - Which clients a dial keeps is stable per client: a point in [0, 100) hashed from the user key,
//   else the client IP; a region dialed to p % keeps the clients whose point is below p. A client
//   dialed away goes to the next candidate that keeps it under the same point.
// - Only `nearest` and `home` decisions are steered: writes and reads on `primary` follow the write
//   region (moving writes is the write-region manager's call), and a read-your-writes read stays
//   with the region that took the write.
// - Candidates are already the available regions the residency rule allows: when no other one
//   would take the client, it stays (a dial never crosses residency, and never turns into a 503).
import type { Decision, Reason, RequestFacts } from '../types.js';
import { changeDecision } from './decision.js';

export interface Steering {
  /** Nothing dialed below 100 % and no region full: decisions stand as they are (one check). */
  readonly idle: boolean;
  /** The share (0..100) of the traffic preferring `region` that it keeps now. */
  dialPercent(region: string): number;
  /** `region` has its `maxInFlight` requests in flight in this process. */
  full(region: string): boolean;
}

export const NO_STEERING: Steering = Object.freeze({ idle: true, dialPercent: () => 100, full: () => false });

/** A client's point in [0, 100), from FNV-1a over its key: stable, and spread evenly. */
export function stickyPoint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) % 10_000) / 100;
}

const STEERABLE: ReadonlySet<Reason> = new Set([
  'nearest',
  'country',
  'unknown-location',
  'home-hash',
  'home-explicit',
  'failover',
  'residency',
]);

/** `d` with dials and spillover applied; `d` itself when neither changes anything. */
export function steer(d: Decision, facts: RequestFacts, s: Steering): Decision {
  if (s.idle || d.region === null || d.selector === 'primary' || d.selector === null || !STEERABLE.has(d.reason)) return d;
  const list = d.candidates;
  let at = 0;
  let reason: Reason = d.reason;
  let detail = d.detail;
  const first = list[0]!;
  const dial = s.dialPercent(first);
  if (dial < 100) {
    const point = stickyPoint(facts.userKey ?? facts.ip ?? '');
    const keeps = list.findIndex((r) => point < s.dialPercent(r));
    if (keeps > 0) {
      at = keeps;
      reason = 'dialed';
      detail = `${first} is dialed to ${dial}%; this client (point ${point.toFixed(2)}) goes to ${list[at]!}`;
    } else if (keeps < 0) {
      detail = `${d.detail}; ${first} is dialed to ${dial}% but no other allowed region takes this client, so it stays`;
    }
  }
  if (s.full(list[at]!)) {
    const room = list.findIndex((r, i) => i > at && !s.full(r));
    if (room > 0) {
      detail = `${list[at]!} is at maxInFlight; this request spills over to ${list[room]!}`;
      at = room;
      reason = 'spillover';
    }
  }
  if (at === 0 && detail === d.detail) return d;
  const region = list[at]!;
  return changeDecision(d, { region, candidates: [region, ...list.filter((r) => r !== region)], reason, detail });
}
