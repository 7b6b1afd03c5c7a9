import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addPenalty, initialDamping, isSuppressed, normalise, penaltyAt, reuseAt } from '../../src/health/damping.js';
import { DAMPING } from './health-fixtures.js';

const cfg = DAMPING; // penalty 1000, halfLife 30s, suppress 2500, reuse 750, max 6000
const T0 = 1_000_000;

test('penalty accumulates per DOWN and halves every half-life', () => {
  let s = addPenalty(cfg, initialDamping(T0), T0);
  assert.equal(penaltyAt(cfg, s, T0), 1000);
  assert.equal(penaltyAt(cfg, s, T0 + 30_000), 500);
  assert.equal(penaltyAt(cfg, s, T0 + 60_000), 250);
  s = addPenalty(cfg, s, T0 + 30_000);
  assert.equal(penaltyAt(cfg, s, T0 + 30_000), 1500);
  assert.equal(s.suppressed, false);
});

test('suppressed once above suppressLimit; stays suppressed until below reuseLimit (hysteresis)', () => {
  let s = initialDamping(T0);
  for (const t of [0, 1000, 2000]) s = addPenalty(cfg, s, T0 + t);
  // 3 DOWNs within 2 s: ~2969 > 2500
  assert.ok(penaltyAt(cfg, s, T0 + 2000) > 2500);
  assert.equal(isSuppressed(cfg, s, T0 + 2000), true);
  // decayed below the suppress limit but still above reuse: still suppressed
  const t1 = T0 + 2000 + 20_000;
  assert.ok(penaltyAt(cfg, s, t1) < 2500 && penaltyAt(cfg, s, t1) > 750);
  assert.equal(isSuppressed(cfg, s, t1), true);
  const reuse = reuseAt(cfg, s);
  assert.ok(reuse !== null);
  assert.equal(isSuppressed(cfg, s, reuse - 1), true);
  assert.equal(isSuppressed(cfg, s, reuse), false);
  assert.ok(penaltyAt(cfg, s, reuse) < 750);
  // normalise clears the flag after reuse
  assert.equal(normalise(cfg, s, reuse).suppressed, false);
});

test('a penalty between reuse and suppress limits does not suppress by itself', () => {
  let s = initialDamping(T0);
  s = addPenalty(cfg, s, T0);
  s = addPenalty(cfg, s, T0);
  assert.equal(penaltyAt(cfg, s, T0), 2000);
  assert.equal(isSuppressed(cfg, s, T0), false);
  assert.equal(reuseAt(cfg, s), null);
});

test('maxPenalty caps the penalty so suppression is bounded', () => {
  let s = initialDamping(T0);
  for (let i = 0; i < 50; i++) s = addPenalty(cfg, s, T0);
  assert.equal(penaltyAt(cfg, s, T0), 6000);
  const reuse = reuseAt(cfg, s)!;
  // 6000 → 750 is exactly three half-lives
  assert.ok(Math.abs(reuse - (T0 + 90_000)) <= 1);
});

test('penalty 0 disables damping', () => {
  const off = { ...cfg, penalty: 0 };
  let s = initialDamping(T0);
  for (let i = 0; i < 10; i++) s = addPenalty(off, s, T0);
  assert.equal(isSuppressed(off, s, T0), false);
});

test('a new DOWN while suppressed keeps it suppressed and extends the reuse time', () => {
  let s = initialDamping(T0);
  for (let i = 0; i < 3; i++) s = addPenalty(cfg, s, T0);
  const first = reuseAt(cfg, s)!;
  s = addPenalty(cfg, s, T0 + 40_000);
  assert.equal(isSuppressed(cfg, s, T0 + 40_000), true);
  assert.ok(reuseAt(cfg, s)! > first);
});
