// The member side of the handover and the self-fence clock, driven by an injected clock: when a member
// may write, until when, why not, and when it acknowledges; the epoch rules of the write key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fenceAt, keepAliveIntervalMs, keepAliveTimeoutMs, leaseTtlSeconds, withinLease } from '../../src/fleet/fence.js';
import * as hv from '../../src/fleet/handover.js';
import type { WriteKey } from '../../src/fleet/records.js';
import { FakeClock } from '../helpers/fake-clock.js';

const STOP = { leaseMs: 9000, writesWithoutEtcd: 'stop' as const };
const active = (region: string, epoch: number): WriteKey => ({ region, epoch, state: 'active' });
const handover = (region: string, epoch: number): WriteKey => ({ region, epoch, state: 'handover' });

test('the fence clock: 2/3 of the lease after the last answered keep-alive was sent', () => {
  assert.equal(fenceAt(1000, 9000), 7000);
  assert.equal(withinLease(1000, 9000, 6999), true);
  assert.equal(withinLease(1000, 9000, 7000), false);
  assert.equal(withinLease(null, 9000, 0), false, 'never renewed: not within a lease');
  assert.equal(keepAliveIntervalMs(9000), 1500, 'two keep-alives may be lost before the fence');
  assert.ok(keepAliveIntervalMs(9000) * 3 < fenceAt(0, 9000));
  assert.equal(keepAliveTimeoutMs(9000), 3000);
  assert.deepEqual([leaseTtlSeconds(10_000), leaseTtlSeconds(2500), leaseTtlSeconds(1000)], [10, 3, 1]);
});

test('a caught-up member with a live lease and an active key may write, until its fence', () => {
  const clock = new FakeClock(0);
  let s = hv.resynced(hv.renewed(hv.initialMemberState, clock.now()), active('us', 3), 10, clock.now());
  let p = hv.writePermission(s, STOP, clock.now());
  assert.deepEqual(p, { writable: true, refusal: null, region: 'us', epoch: 3, until: 6000 });
  clock.advance(5999);
  assert.equal(hv.writePermission(s, STOP, clock.now()).writable, true);
  clock.advance(1);
  p = hv.writePermission(s, STOP, clock.now());
  assert.deepEqual(p, { writable: false, refusal: 'fleet-unavailable', region: 'us', epoch: 3, until: null });
  // a renewal sent before the fence moves it on
  s = hv.renewed(s, 5000);
  assert.equal(hv.writePermission(s, STOP, clock.now()).until, 11_000);
  // an older renewal answered late never moves it back
  assert.equal(hv.renewed(s, 4000), s);
});

test('refusals: no key yet, not caught up after losing contact, a handover in progress', () => {
  const fresh = hv.renewed(hv.initialMemberState, 0);
  assert.equal(hv.writePermission(fresh, STOP, 1).refusal, 'fleet-unavailable', 'not read the state yet');
  assert.equal(hv.writePermission(hv.resynced(fresh, null, 5, 1), STOP, 1).refusal, 'no-write-region');
  const ok = hv.resynced(fresh, active('us', 1), 5, 1);
  const lost = hv.renewed(hv.lostContact(ok), 100);
  assert.equal(hv.writePermission(lost, STOP, 101).refusal, 'fleet-unavailable', 'renewed, but not read again yet');
  assert.equal(hv.writePermission(hv.resynced(lost, active('us', 1), 9, 102), STOP, 103).writable, true);
  const moving = hv.observeKey(ok, handover('eu', 2), 6, 2);
  assert.equal(hv.writePermission(moving, STOP, 3).refusal, 'write-handover');
  assert.equal(hv.writePermission(moving, STOP, 3).region, 'eu');
  // a new lease: caught up no longer, acknowledgements gone with the old lease
  const replaced = hv.leaseReplaced(hv.acknowledged(moving, 2), 50);
  assert.equal(replaced.caughtUp, false);
  assert.equal(replaced.ackedEpoch, 0);
});

test('writesWithoutEtcd: continue keeps writing to the last known region while cut off', () => {
  const cont = { leaseMs: 9000, writesWithoutEtcd: 'continue' as const };
  const s = hv.lostContact(hv.resynced(hv.renewed(hv.initialMemberState, 0), active('us', 1), 5, 0));
  assert.deepEqual(hv.writePermission(s, cont, 1_000_000), { writable: true, refusal: null, region: 'us', epoch: 1, until: null });
  assert.equal(hv.writePermission(s, STOP, 1_000_000).writable, false);
  assert.equal(hv.writePermission(hv.initialMemberState, cont, 0).refusal, 'fleet-unavailable', 'nothing known yet');
});

test('observeKey never goes back, and remembers when this member first saw a handover', () => {
  let s = hv.resynced(hv.initialMemberState, active('us', 1), 10, 0);
  s = hv.observeKey(s, handover('eu', 2), 12, 100);
  assert.equal(s.handoverSeenAt, 100);
  assert.equal(hv.observeKey(s, active('us', 1), 11, 200), s, 'an older revision is ignored');
  s = hv.observeKey(s, handover('eu', 2), 13, 300);
  assert.equal(s.handoverSeenAt, 100, 'the same handover seen again keeps its first time');
  s = hv.observeKey(s, handover('ap', 3), 14, 400);
  assert.equal(s.handoverSeenAt, 400, 'a new handover epoch starts its own clock');
  s = hv.observeKey(s, active('ap', 3), 15, 500);
  assert.equal(s.handoverSeenAt, null);
});

test('a member acknowledges once nothing is in flight, or timeouts.request after it saw the handover', () => {
  const clock = new FakeClock(0);
  let s = hv.resynced(hv.initialMemberState, active('us', 1), 10, 0);
  assert.equal(hv.ackDue(s, 0, 30_000, 0), null, 'nothing to acknowledge while active');
  s = hv.observeKey(s, handover('eu', 2), 11, clock.advance(1000));
  assert.equal(hv.ackDue(s, 0, 30_000, clock.now()), 2);
  assert.equal(hv.ackDue(s, 1, 30_000, clock.now()), null, 'a request in flight holds it');
  clock.advance(29_999);
  assert.equal(hv.ackDue(s, 1, 30_000, clock.now()), null);
  clock.advance(1);
  assert.equal(hv.ackDue(s, 1, 30_000, clock.now()), 2, 'the proxy has timed that request out by now');
  assert.equal(hv.ackDue(hv.acknowledged(s, 2), 0, 30_000, clock.now()), null, 'acknowledged once');
});

test('write key epochs: 1 for the first, +1 per change of region, none for the same region', () => {
  assert.deepEqual(hv.nextWriteKey(null, 'us'), active('us', 1));
  assert.deepEqual(hv.nextWriteKey(active('us', 1), 'eu'), handover('eu', 2));
  assert.equal(hv.nextWriteKey(active('us', 4), 'us'), null);
  assert.deepEqual(hv.nextWriteKey(handover('eu', 2), 'ap'), handover('ap', 3), 'a handover can be redirected');
  assert.equal(hv.nextWriteKey(handover('eu', 2), 'eu'), null);
});

test('activation needs an acknowledgement from every live member of the read', () => {
  const k = handover('eu', 2);
  assert.equal(hv.activationReady(k, ['a', 'b'], new Set(['a', 'b', 'gone'])), true);
  assert.equal(hv.activationReady(k, ['a', 'b'], new Set(['a'])), false);
  assert.equal(hv.activationReady(k, [], new Set()), true, 'nobody left to wait for');
  assert.equal(hv.activationReady(active('eu', 2), ['a'], new Set(['a'])), false, 'only a handover activates');
});
