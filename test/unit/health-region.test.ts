import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRegion, slowStartWeight, type RegionFacts } from '../../src/health/region-state.js';
import { addPenalty, initialDamping } from '../../src/health/damping.js';
import { HEALTH, snapshot } from './health-fixtures.js';

const T0 = 5_000_000;
const base: RegionFacts = {
  drained: false,
  anyProbed: true,
  anyUp: true,
  anyServing: true,
  nextEjectionEnd: null,
  failbackUntil: null,
  damping: initialDamping(T0),
};

test('available with an UP serving endpoint at start-up (no failback delay)', () => {
  const e = evaluateRegion(HEALTH, base, T0);
  assert.equal(e.status, 'available');
  assert.equal(e.weight, 1);
  assert.equal(e.validUntil, Infinity);
});

test('status precedence: drained, unknown/unavailable, ejected, suppressed, failback-wait', () => {
  assert.equal(evaluateRegion(HEALTH, { ...base, drained: true }, T0).status, 'drained');
  assert.equal(evaluateRegion(HEALTH, { ...base, anyUp: false, anyServing: false, anyProbed: false }, T0).status, 'unknown');
  assert.equal(evaluateRegion(HEALTH, { ...base, anyUp: false, anyServing: false }, T0).status, 'unavailable');
  const ej = evaluateRegion(HEALTH, { ...base, anyServing: false, nextEjectionEnd: T0 + 500 }, T0);
  assert.equal(ej.status, 'ejected');
  assert.equal(ej.validUntil, T0 + 500);
  let d = initialDamping(T0);
  for (let i = 0; i < 3; i++) d = addPenalty(HEALTH.damping, d, T0);
  const sup = evaluateRegion(HEALTH, { ...base, damping: d }, T0);
  assert.equal(sup.status, 'suppressed');
  assert.equal(sup.available, false);
  assert.ok(sup.validUntil > T0 && sup.validUntil < Infinity);
  const fw = evaluateRegion(HEALTH, { ...base, failbackUntil: T0 + 10_000 }, T0);
  assert.equal(fw.status, 'failback-wait');
  assert.equal(fw.validUntil, T0 + 10_000);
});

test('failback delay ends exactly at failbackUntil', () => {
  const f = { ...base, failbackUntil: T0 + 10_000 };
  assert.equal(evaluateRegion(HEALTH, f, T0 + 9_999).available, false);
  assert.equal(evaluateRegion(HEALTH, f, T0 + 10_000).available, true);
});

test('slow start: linear 0.1 → 1 over slowStartMs after the failback delay', () => {
  const cfg = snapshot({ health: { slowStart: '10s' } }).health;
  const f = { ...base, failbackUntil: T0 };
  assert.equal(evaluateRegion(cfg, f, T0).weight, 0.1);
  assert.ok(Math.abs(evaluateRegion(cfg, f, T0 + 5_000).weight - 0.55) < 1e-9);
  assert.equal(evaluateRegion(cfg, f, T0 + 10_000).weight, 1);
  // during the ramp the view must be rebuilt in small steps
  const mid = evaluateRegion(cfg, f, T0 + 1_000);
  assert.ok(mid.validUntil > T0 + 1_000 && mid.validUntil <= T0 + 1_500);
  // no ramp at start-up and none with slowStart 0
  assert.equal(evaluateRegion(cfg, base, T0).weight, 1);
  assert.equal(evaluateRegion(HEALTH, f, T0).weight, 1);
});

test('slowStartWeight edges', () => {
  assert.equal(slowStartWeight(0, 0), 1);
  assert.equal(slowStartWeight(-5, 100), 0.1);
  assert.equal(slowStartWeight(100, 100), 1);
});
