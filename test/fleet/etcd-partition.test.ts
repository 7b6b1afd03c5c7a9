// Against a real etcd: a member cut off from etcd (its TCP relay stopped) fences itself before its
// lease can expire, its operator actions fail within 2 s, the fleet moves writes without it once its
// lease is gone, and when the path comes back it reconnects and catches up within 5 s. Then etcd
// itself is stopped and started again on the same data.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fenceAt, monotonicClock } from '../../src/fleet/fence.js';
import { FleetUnavailableError, mayWrite } from '../../src/fleet/shared-state.js';
import { allUp, startWorld, waitFor, type Node, type World } from './fleet-world.js';

const LEASE_MS = 3000;
const FENCE_MS = fenceAt(0, LEASE_MS);
let w: World;
let a: Node, b: Node, c: Node;
const connectedAndWriting = (n: Node): boolean => n.member.status().connected && n.member.snapshot().writable;

before(async () => {
  w = await startWorld(LEASE_MS);
  a = await w.add('edge-a');
  b = await w.add('edge-b');
  c = await w.add('edge-c');
  for (const n of w.nodes) n.member.publishView(allUp());
  await waitFor(() => w.nodes.every(connectedAndWriting) && a.member.status().leader !== null, 'a writable fleet');
});
after(async () => {
  await w.stop();
});

test('a member cut off from etcd stops writes before its lease can expire, and catches up within 5 s', async (t) => {
  const cutAt = monotonicClock.now();
  const until = c.member.snapshot().writableUntil!;
  const lastRenewal = until - FENCE_MS; // the send time of c's last answered keep-alive
  await c.relay.stop();

  // the operator path fails fast and clearly while cut off
  const opStart = Date.now();
  await assert.rejects(c.member.drain('eu-west'), FleetUnavailableError);
  const opMs = Date.now() - opStart;
  assert.ok(opMs <= 2000, `operator action failed after ${opMs} ms`);

  await waitFor(() => c.fenced > 0, 'c to fence itself', LEASE_MS);
  const fencedAt = monotonicClock.now();
  // etcd still holds c's lease at this moment: the others still list it
  assert.ok(
    a.member.status().members.some((m) => m.id === 'edge-c'),
    'c fenced only after its lease expired',
  );
  assert.ok(fencedAt < lastRenewal + LEASE_MS, 'fenced before the lease could expire');
  const s = c.member.snapshot();
  assert.equal(s.writable, false);
  assert.equal(s.writeRefusal, 'fleet-unavailable');
  assert.equal(mayWrite(s, monotonicClock.now()), false);
  assert.equal(c.member.status().connected, false);
  assert.equal(c.sink.gauges.get('meridian_fleet_connected'), 0);
  assert.ok(c.sink.count('fleet-disconnected') >= 1);

  // meanwhile the fleet moves on: an operator moves writes; the handover waits for c's lease to expire
  const moveAt = Date.now();
  await a.member.setWriteRegion('ap-southeast');
  await a.member.drain('eu-west');
  await waitFor(
    () => a.member.snapshot().writeRegion?.state === 'active' && a.member.snapshot().writeRegion?.region === 'ap-southeast',
    'handover done without c',
    LEASE_MS + 3000,
  );
  const handoverMs = Date.now() - moveAt;
  assert.ok(!a.member.status().members.some((m) => m.id === 'edge-c'), 'activated only once c was no longer a live member');
  assert.equal(c.member.snapshot().writable, false, 'c still refuses writes');

  const healAt = Date.now();
  await c.relay.start();
  await waitFor(() => connectedAndWriting(c), 'c connected and writing again', 5000);
  const reconnectMs = Date.now() - healAt;
  const cs = c.member.snapshot();
  assert.deepEqual(cs.writeRegion, a.member.snapshot().writeRegion, 'caught up with the write region');
  assert.deepEqual(cs.drains, ['eu-west'], 'caught up with the operator state');
  await waitFor(() => a.member.status().members.some((m) => m.id === 'edge-c'), 'c a member again');
  t.diagnostic(
    `lease ${LEASE_MS} ms: operator action failed after ${opMs} ms; fenced ${Math.round(fencedAt - cutAt)} ms after the cut ` +
      `(${Math.round(fencedAt - lastRenewal)} ms after its last answered keep-alive, ${Math.round(lastRenewal + LEASE_MS - fencedAt)} ms before the lease could expire); ` +
      `handover without c took ${handoverMs} ms; reconnected and writing ${reconnectMs} ms after the path came back`,
  );
});

test('etcd stopped: every member fences and refuses operator changes; etcd back: all writing within 5 s, state kept', async (t) => {
  await waitFor(() => w.nodes.every(connectedAndWriting), 'everyone writing');
  const before = a.member.snapshot();
  const stopAt = Date.now();
  await w.etcd.pause();
  await waitFor(() => w.nodes.every((n) => !n.member.snapshot().writable), 'everyone fenced', LEASE_MS);
  const fenceMs = Date.now() - stopAt;
  const opStart = Date.now();
  await assert.rejects(b.member.setDial('us-east', 50), FleetUnavailableError);
  const opMs = Date.now() - opStart;
  assert.ok(opMs <= 2000, `operator action failed after ${opMs} ms`);
  for (const n of w.nodes) {
    assert.equal(n.member.snapshot().writeRefusal, 'fleet-unavailable');
    // reads go on: the last known operator state stays in the snapshot
    assert.deepEqual(n.member.snapshot().drains, before.drains);
  }

  const startAt = Date.now();
  await w.etcd.resume();
  await waitFor(() => w.nodes.every(connectedAndWriting), 'everyone connected and writing', 5000);
  const backMs = Date.now() - startAt;
  for (const n of w.nodes) {
    assert.deepEqual(n.member.snapshot().writeRegion, before.writeRegion);
    assert.deepEqual(n.member.snapshot().drains, before.drains);
  }
  await b.member.setDial('us-east', 50);
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().dials['us-east']?.percent === 50), 'a change after the restart', 1000);
  t.diagnostic(
    `etcd stopped: all fenced within ${fenceMs} ms (2/3 lease = ${FENCE_MS} ms); operator action failed after ${opMs} ms; etcd started: all writing after ${backMs} ms`,
  );
});
