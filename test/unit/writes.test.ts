import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteRegionManager, type WriteInputs } from '../../src/health/writes.js';
import type { WritesConfig } from '../../src/types.js';

const BASE: WritesConfig = {
  regions: ['us-east', 'eu-west', 'ap-southeast'],
  failover: 'automatic',
  failback: 'automatic',
  maxLagMs: 5000,
  allowUnknownLag: false,
};

class World implements WriteInputs {
  avail = new Map<string, boolean>([
    ['us-east', true],
    ['eu-west', true],
    ['ap-southeast', true],
    ['sa-east', true],
  ]);
  lag = new Map<string, number | null>([
    ['us-east', 0],
    ['eu-west', 800],
    ['ap-southeast', 300],
  ]);
  probedSet = new Set(['us-east', 'eu-west', 'ap-southeast', 'sa-east']);
  isAvailable = (r: string) => this.avail.get(r) ?? false;
  lagMs = (r: string) => this.lag.get(r) ?? null;
  probed = (r: string) => this.probedSet.has(r);
  exists = (r: string) => this.avail.has(r);
}

function setup(over: Partial<WritesConfig> = {}) {
  const w = new World();
  const m = new WriteRegionManager({ ...BASE, ...over }, 0);
  return { w, m };
}

test('initial: first available region of writes.regions', () => {
  const { w, m } = setup();
  w.avail.set('us-east', false);
  assert.deepEqual(m.evaluate(w, 1), { from: null, to: 'eu-west', reason: 'initial' });
  assert.equal(m.status.region, 'eu-west');
});

test('initial waits for an unprobed higher-priority region instead of racing', () => {
  const { w, m } = setup();
  w.avail.set('us-east', false);
  w.probedSet.delete('us-east');
  assert.equal(m.evaluate(w, 1), null);
  assert.equal(m.status.region, null);
  w.probedSet.add('us-east');
  w.avail.set('us-east', true);
  assert.equal(m.evaluate(w, 2)?.to, 'us-east');
});

test('automatic failover picks the lowest lag, skips lag > maxLag and unknown lag', () => {
  const { w, m } = setup();
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  const c = m.evaluate(w, 1);
  assert.equal(c?.to, 'ap-southeast'); // 300 ms beats eu-west's 800 ms despite lower priority
  assert.equal(c?.reason, 'failover: us-east unavailable, ap-southeast lag 0.3s');

  const b = setup();
  b.m.evaluate(b.w, 0);
  b.w.lag.set('ap-southeast', 9000); // beyond maxLag
  b.w.avail.set('us-east', false);
  assert.equal(b.m.evaluate(b.w, 1)?.to, 'eu-west');

  const u = setup();
  u.m.evaluate(u.w, 0);
  u.w.lag.set('ap-southeast', null);
  u.w.lag.set('eu-west', 9000);
  u.w.avail.set('us-east', false);
  const none = u.m.evaluate(u.w, 1);
  assert.deepEqual(none, { from: 'us-east', to: null, reason: 'failover: us-east unavailable, no candidate within maxLag' });
});

test('unknown lag qualifies with allowUnknownLag, ranked after known lags', () => {
  const { w, m } = setup({ allowUnknownLag: true });
  m.evaluate(w, 0);
  w.lag.set('eu-west', null);
  w.avail.set('us-east', false);
  assert.equal(m.evaluate(w, 1)?.to, 'ap-southeast');
  const b = setup({ allowUnknownLag: true });
  b.m.evaluate(b.w, 0);
  b.w.lag.set('eu-west', null);
  b.w.lag.set('ap-southeast', 9000);
  b.w.avail.set('us-east', false);
  assert.equal(b.m.evaluate(b.w, 1)?.to, 'eu-west');
});

test('automatic failback returns to the recovered higher-priority region (lag permitting)', () => {
  const { w, m } = setup();
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  m.evaluate(w, 1);
  w.avail.set('us-east', true);
  w.lag.set('us-east', 7000); // still catching up: not yet
  assert.equal(m.evaluate(w, 2), null);
  w.lag.set('us-east', 100);
  assert.deepEqual(m.evaluate(w, 3), { from: 'ap-southeast', to: 'us-east', reason: 'failback: us-east recovered' });
});

test('manual failback stays on the failover region', () => {
  const { w, m } = setup({ failback: 'manual' });
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  m.evaluate(w, 1);
  w.avail.set('us-east', true);
  assert.equal(m.evaluate(w, 2), null);
  assert.equal(m.status.region, 'ap-southeast');
  assert.deepEqual(m.set('us-east', w, 3), { ok: true, change: { from: 'ap-southeast', to: 'us-east', reason: 'operator' } });
});

test('manual failover: null until an operator sets a region; set() errors', () => {
  const { w, m } = setup({ failover: 'manual' });
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  const c = m.evaluate(w, 1);
  assert.equal(c?.to, null);
  assert.match(c?.reason ?? '', /waiting for operator/);
  assert.equal(m.evaluate(w, 2), null);
  assert.deepEqual(m.set('mars', w, 3), { ok: false, reason: 'unknown region' });
  assert.deepEqual(m.set('us-east', w, 3), { ok: false, reason: 'region unavailable' });
  const ok = m.set('eu-west', w, 3);
  assert.deepEqual(ok, { ok: true, change: { from: null, to: 'eu-west', reason: 'operator' } });
  assert.equal(m.status.manual, true);
  // a configured region outside writes.regions is refused, with the reason
  const out = m.set('sa-east', w, 4);
  assert.equal(out.ok, false);
  assert.match(out.ok ? '' : out.reason, /not a write candidate/);
  assert.equal(m.status.region, 'eu-west');
});

test('manual failover + automatic failback: the lost region recovering takes writes back', () => {
  const { w, m } = setup({ failover: 'manual' });
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  m.evaluate(w, 1);
  m.set('eu-west', w, 2);
  w.avail.set('us-east', true);
  assert.equal(m.evaluate(w, 3)?.to, 'us-east');
});

test('manual failover with nobody acting: writes resume on the lost region when it is back', () => {
  const { w, m } = setup({ failover: 'manual', failback: 'manual' });
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  m.evaluate(w, 1);
  w.avail.set('us-east', true);
  assert.deepEqual(m.evaluate(w, 2), { from: null, to: 'us-east', reason: 'us-east recovered' });
});

test('an operator choice sticks under automatic failback until a higher region recovers', () => {
  const { w, m } = setup();
  m.evaluate(w, 0);
  assert.equal(m.set('eu-west', w, 1).ok, true);
  assert.equal(m.evaluate(w, 2), null); // us-east is fine, but the operator moved writes on purpose
  w.avail.set('us-east', false);
  m.evaluate(w, 3);
  w.avail.set('us-east', true);
  assert.equal(m.evaluate(w, 4)?.to, 'us-east');
});

test('reload keeps a still-valid write region; empty writes.regions means none', () => {
  const { w, m } = setup();
  m.evaluate(w, 0);
  w.avail.set('us-east', false);
  m.evaluate(w, 1);
  const kept = new WriteRegionManager({ ...BASE, failback: 'manual' }, 5, { status: m.status, exists: w.exists });
  assert.equal(kept.status.region, 'ap-southeast');
  const dropped = new WriteRegionManager({ ...BASE, regions: ['us-east', 'eu-west'] }, 5, { status: m.status, exists: w.exists });
  assert.equal(dropped.status.region, null);
  const none = new WriteRegionManager({ ...BASE, regions: [] }, 5);
  assert.equal(none.evaluate(w, 6), null);
  assert.equal(none.status.region, null);
});

test('candidates list availability, lag and qualification', () => {
  const { w, m } = setup();
  w.lag.set('eu-west', 9000);
  assert.deepEqual(
    m.candidates(w).map((c) => [c.region, c.lagMs, c.qualifies]),
    [
      ['us-east', 0, true],
      ['eu-west', 9000, false],
      ['ap-southeast', 300, true],
    ],
  );
});
