import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialEjection,
  isEjected,
  mayEject,
  maxEjectable,
  recordOutcome,
  resetAfterMs,
  type EjectionState,
} from '../../src/health/ejection.js';
import { PASSIVE } from './health-fixtures.js';

const cfg = PASSIVE; // 5 failures, 10 s, ×10 cap
const yes = () => true;

function fail(s: EjectionState, n: number, now: number, allowed = yes) {
  let out = recordOutcome(cfg, s, false, now, allowed);
  for (let i = 1; i < n; i++) out = recordOutcome(cfg, out.state, false, now, allowed);
  return out;
}

test('consecutiveFailures failures eject at once for ejectFor', () => {
  const four = fail(initialEjection, 4, 0);
  assert.equal(four.eject, null);
  const five = recordOutcome(cfg, four.state, false, 0, yes);
  assert.deepEqual(five.eject, { forMs: 10_000, multiplier: 1 });
  assert.equal(isEjected(five.state, 9_999), true);
  assert.equal(isEjected(five.state, 10_000), false);
});

test('a success resets the consecutive count', () => {
  let s = fail(initialEjection, 4, 0).state;
  s = recordOutcome(cfg, s, true, 0, yes).state;
  assert.equal(s.consecutive, 0);
  assert.equal(fail(s, 4, 0).eject, null);
});

test('failures while ejected are ignored (requests that were in flight)', () => {
  const s = fail(initialEjection, 5, 0).state;
  const out = fail(s, 10, 100);
  assert.equal(out.eject, null);
  assert.equal(out.state.consecutive, 0);
});

test('repeat ejections double, capped at maxEjectMultiplier', () => {
  let s: EjectionState = initialEjection;
  let now = 0;
  const lengths: number[] = [];
  for (let i = 0; i < 6; i++) {
    const out = fail(s, 5, now);
    assert.ok(out.eject);
    lengths.push(out.eject.forMs);
    s = out.state;
    now = s.ejectedUntil + 1000; // back in, fails again soon
  }
  assert.deepEqual(lengths, [10_000, 20_000, 40_000, 80_000, 100_000, 100_000]);
});

test('the doubling resets after a clean period of 2 × ejectFor × maxEjectMultiplier', () => {
  assert.equal(resetAfterMs(cfg), 200_000);
  let s = fail(initialEjection, 5, 0).state; // ends at 10 s
  s = fail(s, 5, 20_000).state; // 20 s, ends at 40 s
  assert.equal(s.ejections, 2);
  const notYet = fail(s, 5, 40_000 + 199_999);
  assert.equal(notYet.eject?.multiplier, 4);
  const clean = fail(s, 5, 40_000 + 200_000);
  assert.equal(clean.eject?.multiplier, 1);
  assert.equal(clean.state.ejections, 1);
});

test('refused ejection keeps the endpoint in and says so', () => {
  const out = fail(initialEjection, 5, 0, () => false);
  assert.equal(out.eject, null);
  assert.equal(out.wanted, true);
  assert.equal(isEjected(out.state, 0), false);
  // the next failure asks again
  const again = recordOutcome(cfg, out.state, false, 1, yes);
  assert.ok(again.eject);
});

test('cap rule: max(1, floor(total × share)), never all, never a single endpoint', () => {
  assert.equal(maxEjectable(1, 1), 0);
  assert.equal(maxEjectable(2, 0.1), 1);
  assert.equal(maxEjectable(2, 1), 1);
  assert.equal(maxEjectable(3, 0.5), 1);
  assert.equal(maxEjectable(4, 0.5), 2);
  assert.equal(maxEjectable(10, 0.3), 3);
  assert.equal(maxEjectable(10, 1), 9);
  assert.equal(maxEjectable(10, 0), 1);
});

test('mayEject: under the cap and something else still serving', () => {
  assert.equal(mayEject(3, 0.5, 0, 2), true);
  assert.equal(mayEject(3, 0.5, 1, 1), false); // cap reached
  assert.equal(mayEject(4, 0.5, 1, 0), false); // nothing else serving
  assert.equal(mayEject(1, 1, 0, 0), false); // single endpoint
});
