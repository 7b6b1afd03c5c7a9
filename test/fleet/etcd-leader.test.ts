// Against a real etcd: one leader, elected through a key bound to its lease; when the leader vanishes
// without revoking (its connection to etcd cut), another takes over within one lease; the write key
// changes only by compare-and-swap: of two writers on the same revision one wins, and a leader whose
// leadership is gone changes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createEtcdClient } from '../../src/fleet/etcd-client.js';
import { nextWriteKey } from '../../src/fleet/handover.js';
import { FleetOps } from '../../src/fleet/ops.js';
import { KEYS, parseWriteKey } from '../../src/fleet/records.js';
import { allUp, startWorld, waitFor, type World } from './fleet-world.js';

const LEASE_MS = 3000;
let w: World;
before(async () => {
  w = await startWorld(LEASE_MS);
  for (const id of ['edge-a', 'edge-b', 'edge-c']) await w.add(id);
  for (const n of w.nodes) n.member.publishView(allUp());
  await waitFor(() => w.nodes.every((n) => n.member.status().leader !== null && n.member.snapshot().writable), 'a leader and a write key');
});
after(async () => {
  await w.stop();
});

test('when the leader vanishes without a clean leave, another member takes over within one lease', async (t) => {
  const old = w.nodes.find((n) => n.id === w.nodes[0]!.member.status().leader)!;
  const others = w.nodes.filter((n) => n !== old);
  const cut = Date.now();
  await old.relay.stop(); // the process lives on, but etcd never hears from it again: no revoke
  await waitFor(
    () => others.every((n) => n.member.status().leader !== null && n.member.status().leader !== old.id),
    'a new leader',
    LEASE_MS + 3000,
  );
  const takeover = Date.now() - cut;
  const leaders = new Set(others.map((n) => n.member.status().leader));
  assert.equal(leaders.size, 1, 'the survivors agree on the new leader');
  const now = others.find((n) => n.id === [...leaders][0])!;
  assert.ok(now.sink.events.some((e) => e.event === 'fleet-leader' && e.self));
  // etcd sweeps expired leases every 500 ms, so the bound is the lease plus that sweep
  assert.ok(takeover <= LEASE_MS + 1000, `takeover took ${takeover} ms`);
  t.diagnostic(`leader ${old.id} cut off; ${now.id} took over after ${takeover} ms (lease ${LEASE_MS} ms)`);
  // the write region did not move: a leader change is not a reason to move writes
  assert.deepEqual(now.member.snapshot().writeRegion, { region: 'us-east', epoch: 1, state: 'active' });
  await old.relay.start();
  await waitFor(() => old.member.status().connected && old.member.status().members.length === 3, 'the old leader back as a member', 5000);
  assert.equal(old.member.status().leader, now.id, 'and it does not take leadership back');
});

test('compare-and-swap on the write key: of two writers on the same revision exactly one wins, epoch +1', async () => {
  const client = createEtcdClient({ endpoints: [w.etcd.endpoint], prefix: w.prefix, username: null, password: null, tls: null });
  const ops = new FleetOps(client, w.prefix);
  try {
    const read = async (): Promise<{ key: ReturnType<typeof parseWriteKey>; rev: number }> => {
      const r = await client.get(w.prefix + KEYS.writeRegion).exec();
      const kv = r.kvs[0]!;
      return { key: parseWriteKey(kv.value), rev: Number(kv.mod_revision) };
    };
    const before = await read();
    assert.equal(before.key?.epoch, 1);
    const toEu = nextWriteKey(before.key, 'eu-west')!;
    const toAp = nextWriteKey(before.key, 'ap-southeast')!;
    const results = await Promise.all([
      ops.casWriteKey(before.rev, toEu, null, [], 1500),
      ops.casWriteKey(before.rev, toAp, null, [], 1500),
    ]);
    assert.equal(results.filter((r) => r !== null).length, 1, `exactly one wins: ${JSON.stringify(results)}`);
    const afterWrite = await read();
    assert.equal(afterWrite.key?.epoch, 2);
    assert.equal(afterWrite.key?.state, 'handover');
    assert.ok(['eu-west', 'ap-southeast'].includes(afterWrite.key.region));
    // a stale compare changes nothing, and neither does a leader guard on a leadership that is gone
    assert.equal(await ops.casWriteKey(before.rev, toEu, null, [], 1500), null);
    assert.equal(await ops.casWriteKey(afterWrite.rev, { ...afterWrite.key, state: 'active' }, 1, [], 1500), null);
    assert.deepEqual((await read()).key, afterWrite.key);
    // the fleet completes the handover the losing writer's rival started: every member acknowledges
    await waitFor(
      () => w.nodes.every((n) => n.member.snapshot().writeRegion?.state === 'active' && n.member.snapshot().writeRegion?.epoch === 2),
      'handover done everywhere',
      5000,
    );
  } finally {
    client.close();
  }
});
