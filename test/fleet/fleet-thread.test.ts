// FleetThread: this router's fleet member on its worker thread, as the router's thread sees it,
// against a real etcd. The integration tests run every fleet behaviour through it (each router
// process has one); this file checks what the thread boundary itself must keep: nothing is writable
// before the member has read the fleet, a primary request in flight holds a handover across the
// thread, and a member thread that dies leaves the router refusing writes until a new one joined.
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { resolveFleetConfig } from '../../src/fleet/config.js';
import { FleetUnavailableError } from '../../src/fleet/shared-state.js';
import { FleetThread } from '../../src/fleet/thread.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { allUp, POLICY, RecordingSink, waitFor } from './fleet-world.js';

let etcd: EtcdServer;
let ft: FleetThread;
const sink = new RecordingSink();
const logs: Record<string, unknown>[] = [];
let fenced = 0;

before(async () => {
  etcd = await startEtcd();
  const r = resolveFleetConfig({
    etcd: { endpoints: [`http://127.0.0.1:${etcd.clientPort}`], prefix: `/meridian/thread-${process.pid}/` },
    id: 'edge-t',
    site: 'test',
    leaseMs: 3000,
  });
  if (!r.ok) throw new Error(r.errors.join('; '));
  ft = new FleetThread({
    // a long request timeout: a handover can complete only when this router reports its writes done
    init: { config: r.config, policy: POLICY, requestTimeoutMs: 60_000, version: 'test' },
    sink,
    logger: pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) }),
    onFenced: () => fenced++,
  });
});
after(async () => {
  await ft.close();
  await etcd.stop();
});

const writableOn = (region: string): boolean => {
  const s = ft.snapshot();
  return s.writable && s.writeRegion?.region === region && s.writeRegion.state === 'active';
};

test('no writes before the member read the fleet; then its write region, status, metrics and events reach this thread', async () => {
  const first = ft.snapshot();
  assert.equal(first.writable, false);
  assert.equal(first.writeRefusal, 'fleet-unavailable');
  ft.publishView(allUp());
  assert.deepEqual(await ft.start(), { synced: true });
  await waitFor(() => writableOn('us-east'), 'writes on us-east');
  assert.ok(ft.snapshot().version > first.version, 'snapshot versions grow');
  const st = await ft.status();
  assert.equal(st.id, 'edge-t');
  assert.equal(st.connected, true);
  assert.equal(st.leader, 'edge-t');
  assert.deepEqual(
    st.members.map((m) => m.id),
    ['edge-t'],
  );
  assert.equal(st.writeRegion?.region, 'us-east');
  assert.equal(sink.gauges.get('meridian_fleet_connected'), 1);
  assert.equal(sink.gauges.get('meridian_fleet_leader'), 1);
  assert.ok(sink.count('fleet-connected') >= 1);
});

test('a primary request in flight on this thread holds the handover; its end lets the new region open', async () => {
  const epoch = ft.snapshot().writeRegion!.epoch;
  const handovers = sink.handovers.length;
  const done = sink.count('write-handover-done');
  ft.beginLocal('us-east');
  ft.beginLocal('us-east');
  await ft.setWriteRegion('eu-west');
  await waitFor(() => ft.snapshot().writeRegion?.state === 'handover', 'the handover to begin');
  assert.equal(ft.snapshot().writeRegion?.region, 'eu-west');
  assert.equal(ft.snapshot().writable, false, 'no writes during the handover');
  ft.endLocal('us-east'); // one of two still open
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    assert.equal(ft.snapshot().writeRegion?.state, 'handover', 'the handover waits for the open request');
    await new Promise((r) => setTimeout(r, 20));
  }
  ft.endLocal('us-east');
  await waitFor(() => writableOn('eu-west'), 'writes on eu-west once the last request ended', 5000);
  assert.equal(ft.snapshot().writeRegion?.epoch, epoch + 1);
  // the leader reports the handover time after its activation was accepted, which can be after the watch delivered it
  await waitFor(() => sink.handovers.length === handovers + 1, 'the leader to report the handover time');
  await waitFor(() => sink.count('write-handover-done') === done + 1, 'the write-handover-done event');
});

test('the member does not acknowledge a handover before this thread applied the snapshot that began it', async () => {
  // This thread is busy (700 ms without yielding) while the write region moves back to us-east.
  // Nothing is in flight, so only the snapshot rule holds the acknowledgement: without it the
  // member would acknowledge at once and the "active" snapshot would be queued here behind the
  // "handover" one, arriving in the same turn. The writable snapshot before it lets this router
  // write for at least 1 s more (fence at 2/3 of the 3 s lease, renewed every 0.5 s), so the
  // rule's other way out (every writable snapshot expired) cannot open during the 700 ms.
  await waitFor(() => writableOn('eu-west'), 'writes on eu-west');
  const seen: string[] = [];
  let armed = false;
  const off = ft.onChange((s) => {
    seen.push(`${s.writeRegion?.state}@${s.writeRegion?.region}`);
    if (s.writeRegion?.state === 'handover' && !armed) {
      armed = true;
      setImmediate(() => seen.push('next turn'));
    }
  });
  const moved = ft.setWriteRegion('us-east');
  const until = Date.now() + 700;
  while (Date.now() < until); // block this thread; the member's thread goes on
  await moved;
  await waitFor(() => writableOn('us-east'), 'writes on us-east', 5000);
  off();
  assert.ok(seen.includes('handover@us-east'), `saw the handover: ${seen.join(', ')}`);
  assert.ok(
    seen.indexOf('next turn') < seen.indexOf('active@us-east'),
    `the activation came after this thread applied the handover: ${seen.join(', ')}`,
  );
});

test('a member thread that dies: writes refused at once, open requests cut, a new member joins and writes resume', async () => {
  const fencedBefore = fenced;
  ft.beginLocal('us-east');
  // the thread dies as it would on a bug in the member: from outside, without a clean leave
  await (ft as unknown as { worker: Worker }).worker.terminate();
  await waitFor(() => !ft.snapshot().writable, 'writes refused');
  assert.equal(ft.snapshot().writeRefusal, 'fleet-unavailable');
  assert.equal(ft.snapshot().writeRegion?.region, 'us-east', 'the last known write region is kept (shown, not written)');
  assert.ok(fenced > fencedBefore, 'open primary requests are cut');
  assert.ok(logs.some((l) => l.event === 'fleet-thread-exit' && l.level === 50));
  await assert.rejects(ft.drain('ap-southeast'), FleetUnavailableError);
  ft.endLocal('us-east'); // the cut request closed
  await waitFor(() => writableOn('us-east'), 'writes again through a new member', 15_000);
  await ft.drain('ap-southeast');
  await waitFor(() => ft.snapshot().drains.includes('ap-southeast'), 'an operator action through the new member');
  assert.equal((await ft.status()).members.length, 1, 'one member: the new one took the same id');
});
