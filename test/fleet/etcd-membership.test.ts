// Against a real etcd: membership with lease-bound keys and a clean leave, operator state applied by
// every member within a second and read back by a restarted member, one read-your-writes key for all.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { KEYS } from '../../src/fleet/records.js';
import { dialPercent } from '../../src/fleet/shared-state.js';
import { allUp, startWorld, waitFor, type World } from './fleet-world.js';

let w: World;
before(async () => {
  w = await startWorld(3000);
  for (const id of ['edge-a', 'edge-b', 'edge-c']) await w.add(id);
  for (const n of w.nodes) n.member.publishView(allUp());
});
after(async () => {
  await w.stop();
});

test('every member sees every member, with its record, and one leader', async () => {
  await waitFor(() => w.nodes.every((n) => n.member.status().members.length === 3), 'three members everywhere');
  await waitFor(() => w.nodes.every((n) => n.member.status().leader !== null), 'a leader');
  const leaders = new Set(w.nodes.map((n) => n.member.status().leader));
  assert.equal(leaders.size, 1, 'everyone agrees on the leader');
  const st = w.nodes[1]!.member.status();
  assert.deepEqual(
    st.members.map((m) => m.id),
    ['edge-a', 'edge-b', 'edge-c'],
  );
  assert.equal(st.members[0]!.site, 'test');
  assert.equal(st.members[0]!.version, 'test');
  assert.equal(st.id, 'edge-b');
  assert.equal(st.connected, true);
  const leader = w.nodes.find((n) => n.id === st.leader)!;
  assert.equal(leader.sink.gauges.get('meridian_fleet_leader'), 1);
  assert.equal(w.nodes.filter((n) => n.sink.gauges.get('meridian_fleet_leader') === 1).length, 1);
  assert.equal(w.nodes[0]!.sink.gauges.get('meridian_fleet_members'), 3);
  assert.ok(w.nodes[0]!.sink.count('fleet-member-joined') >= 3);
});

test('the first leader creates the write key: first candidate, epoch 1, active; everyone may write', async () => {
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().writable), 'writable everywhere');
  for (const n of w.nodes) {
    const s = n.member.snapshot();
    assert.deepEqual(s.writeRegion, { region: 'us-east', epoch: 1, state: 'active' });
    assert.equal(s.writeRefusal, null);
    assert.ok(s.writableUntil !== null, 'with writesWithoutEtcd: stop the permission has a deadline');
    assert.equal(n.sink.gauges.get('meridian_write_epoch'), 1);
  }
});

test('operator state set through one member is applied by every member within 1 s', async (t) => {
  const a = w.nodes[0]!;
  const started = Date.now();
  await a.member.drain('eu-west');
  // the action resolved after etcd accepted it, and the acting member already shows it
  assert.deepEqual(a.member.snapshot().drains, ['eu-west']);
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().drains.includes('eu-west')), 'drain everywhere', 1000);
  const drainMs = Date.now() - started;
  await w.nodes[1]!.member.setDial('ap-southeast', 30);
  await w.nodes[2]!.member.evacuate('us-east', 60_000);
  const dialMs = await waitFor(
    () =>
      w.nodes.every(
        (n) => n.member.snapshot().dials['ap-southeast']?.percent === 30 && n.member.snapshot().dials['us-east']?.ramp !== null,
      ),
    'dials everywhere',
    1000,
  );
  await a.member.setWriteRegion('us-east'); // the same region again: recorded as the manual choice, epoch unchanged
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().manualWriteRegion === 'us-east'), 'manual write region everywhere', 1000);
  t.diagnostic(`drain applied by every member ${drainMs} ms after the call; dials ${dialMs} ms after the calls resolved`);
  const ramp = w.nodes[0]!.member.snapshot().dials['us-east']!;
  assert.equal(ramp.percent, 0);
  assert.equal(ramp.ramp?.from, 100, 'an evacuation starts from the current dial');
  assert.ok(dialPercent(ramp, Date.now()) <= 100 && dialPercent(ramp, Date.now() + 60_000) === 0);
  assert.equal(w.nodes[0]!.member.snapshot().writeRegion?.epoch, 1);
  await assert.rejects(w.nodes[0]!.member.setDial('eu-west', 101), RangeError);
  await assert.rejects(w.nodes[0]!.member.setWriteRegion('mars'), /not a write candidate/);
});

test('undrain and dial 100 remove the state everywhere', async () => {
  await w.nodes[1]!.member.undrain('eu-west');
  await w.nodes[1]!.member.setDial('ap-southeast', 100);
  await waitFor(
    () => w.nodes.every((n) => n.member.snapshot().drains.length === 0 && n.member.snapshot().dials['ap-southeast'] === undefined),
    'state removed everywhere',
    1000,
  );
  await w.nodes[1]!.member.drain('eu-west');
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().drains.includes('eu-west')), 'drained again', 1000);
});

test('one read-your-writes key for the whole fleet: the first candidate wins', async () => {
  const k1 = await w.nodes[0]!.member.ensureReadYourWritesKey('key-from-a');
  const k2 = await w.nodes[1]!.member.ensureReadYourWritesKey('key-from-b');
  assert.equal(k1, 'key-from-a');
  assert.equal(k2, 'key-from-a');
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().readYourWritesKey === 'key-from-a'), 'the key everywhere', 1000);
});

test('a clean leave removes the member at once; a restarted member reads the operator state back', async (t) => {
  const c = w.nodes[2]!;
  const started = Date.now();
  await c.member.close();
  const goneMs = await waitFor(() => w.nodes.slice(0, 2).every((n) => n.member.status().members.length === 2), 'c gone', 2000);
  // well under the 3 s lease: the lease was revoked, not left to expire
  assert.ok(Date.now() - started < 3000, `left after ${Date.now() - started} ms`);
  assert.ok(w.nodes[0]!.sink.events.some((e) => e.event === 'fleet-member-left' && e.member === 'edge-c'));
  const again = await w.add('edge-c');
  const s = again.member.snapshot();
  assert.deepEqual(s.drains, ['eu-west'], 'the drain survived the restart');
  assert.equal(s.dials['us-east']?.percent, 0, 'so did the evacuation');
  assert.equal(s.manualWriteRegion, 'us-east');
  assert.equal(s.readYourWritesKey, 'key-from-a');
  assert.deepEqual(s.writeRegion, { region: 'us-east', epoch: 1, state: 'active' });
  t.diagnostic(`clean leave seen by the others after ${goneMs} ms`);
});

test('keys live under the fleet prefix only', async () => {
  const raw = new Etcd3({ hosts: w.etcd.endpoint });
  try {
    const keys = await raw.getAll().keys();
    assert.ok(keys.length > 0);
    for (const k of keys) assert.ok(k.startsWith(w.prefix), `${k} is outside ${w.prefix}`);
    assert.ok(keys.includes(w.prefix + KEYS.writeRegion));
    assert.ok(keys.includes(`${w.prefix}members/edge-a`));
  } finally {
    raw.close();
  }
});
