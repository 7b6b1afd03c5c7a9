// FleetChild: a single-process router's fleet member in its child process, as the router process
// sees it, against a real etcd. The integration tests run every fleet behaviour through it (each
// single-process router has one); this file checks what the process boundary itself must keep:
// nothing is writable before the member has read the fleet, a primary request in flight holds a
// handover across the boundary, the router cuts its own open writes when the fence passes with the
// member stopped, and a member that dies leaves the router refusing writes until a new one joined.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { resolveFleetConfig } from '../../src/fleet/config.js';
import { FleetUnavailableError } from '../../src/fleet/shared-state.js';
import { FleetChild } from '../../src/fleet/child.js';
import { mayWrite } from '../../src/fleet/shared-state.js';
import { monotonicClock } from '../../src/fleet/fence.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { allUp, POLICY, RecordingSink, waitFor } from './fleet-world.js';

let etcd: EtcdServer;
let fc: FleetChild;
const sink = new RecordingSink();
const logs: Record<string, unknown>[] = [];
let fenced = 0;

before(async () => {
  etcd = await startEtcd();
  const r = resolveFleetConfig({
    etcd: { endpoints: [`http://127.0.0.1:${etcd.clientPort}`], prefix: `/meridian/child-${process.pid}/` },
    id: 'edge-t',
    site: 'test',
    leaseMs: 3000,
  });
  if (!r.ok) throw new Error(r.errors.join('; '));
  fc = new FleetChild({
    // a long request timeout: a handover can complete only when this router reports its writes done
    init: { config: r.config, policy: POLICY, requestTimeoutMs: 60_000, version: 'test' },
    sink,
    logger: pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) }),
    onFenced: () => fenced++,
  });
});
after(async () => {
  await fc.close();
  await etcd.stop();
});

const writableOn = (region: string): boolean => {
  const s = fc.snapshot();
  return s.writable && s.writeRegion?.region === region && s.writeRegion.state === 'active';
};

test('no writes before the member read the fleet; then its write region, status, metrics and events reach the router', async () => {
  const first = fc.snapshot();
  assert.equal(first.writable, false);
  assert.equal(first.writeRefusal, 'fleet-unavailable');
  fc.publishView(allUp());
  assert.deepEqual(await fc.start(), { synced: true });
  await waitFor(() => writableOn('us-east'), 'writes on us-east');
  assert.ok(fc.snapshot().version > first.version, 'snapshot versions grow');
  const st = await fc.status();
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

test('a primary request in flight in the router holds the handover; its end lets the new region open', async () => {
  const epoch = fc.snapshot().writeRegion!.epoch;
  const handovers = sink.handovers.length;
  const done = sink.count('write-handover-done');
  fc.beginPrimary('us-east');
  fc.beginPrimary('us-east');
  await fc.setWriteRegion('eu-west');
  await waitFor(() => fc.snapshot().writeRegion?.state === 'handover', 'the handover to begin');
  assert.equal(fc.snapshot().writeRegion?.region, 'eu-west');
  assert.equal(fc.snapshot().writable, false, 'no writes during the handover');
  fc.endPrimary('us-east'); // one of two still open
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    assert.equal(fc.snapshot().writeRegion?.state, 'handover', 'the handover waits for the open request');
    await new Promise((r) => setTimeout(r, 20));
  }
  fc.endPrimary('us-east');
  await waitFor(() => writableOn('eu-west'), 'writes on eu-west once the last request ended', 5000);
  assert.equal(fc.snapshot().writeRegion?.epoch, epoch + 1);
  // the leader reports the handover time after its activation was accepted, which can be after the watch delivered it
  await waitFor(() => sink.handovers.length === handovers + 1, 'the leader to report the handover time');
  await waitFor(() => sink.count('write-handover-done') === done + 1, 'the write-handover-done event');
});

test('the member does not acknowledge a handover before the router applied the snapshot that began it', async () => {
  // The router process is busy (700 ms without yielding) while the write region moves back to us-east.
  // Nothing is in flight, so only the snapshot rule holds the acknowledgement: without it the
  // member would acknowledge at once and the "active" snapshot would be queued here behind the
  // "handover" one, arriving in the same turn. The writable snapshot before it lets this router
  // write for at least 1 s more (fence at 2/3 of the 3 s lease, renewed every 0.5 s), so the
  // rule's other way out (every writable snapshot expired) cannot open during the 700 ms.
  await waitFor(() => writableOn('eu-west'), 'writes on eu-west');
  const seen: string[] = [];
  let armed = false;
  const off = fc.onChange((s) => {
    seen.push(`${s.writeRegion?.state}@${s.writeRegion?.region}`);
    if (s.writeRegion?.state === 'handover' && !armed) {
      armed = true;
      setImmediate(() => seen.push('next turn'));
    }
  });
  const moved = fc.setWriteRegion('us-east');
  const until = Date.now() + 700;
  while (Date.now() < until); // block the router; the member's process goes on
  await moved;
  await waitFor(() => writableOn('us-east'), 'writes on us-east', 5000);
  off();
  assert.ok(seen.includes('handover@us-east'), `saw the handover: ${seen.join(', ')}`);
  assert.ok(
    seen.indexOf('next turn') < seen.indexOf('active@us-east'),
    `the activation came after the router applied the handover: ${seen.join(', ')}`,
  );
});

test('a member that stops answering: the router cuts its open primary requests when the fence passes, by itself', async () => {
  await waitFor(() => writableOn('us-east'), 'writes on us-east');
  const fencedBefore = fenced;
  fc.beginPrimary('us-east');
  const child = (fc as unknown as { child: ChildProcess }).child;
  child.kill('SIGSTOP'); // no keep-alives, no snapshots, no 'fenced' message from here on
  try {
    const until = fc.snapshot().writableUntil!;
    assert.ok(until !== null, 'a writable snapshot has a fence');
    await waitFor(() => fenced > fencedBefore, 'open primary requests cut at the fence', 5000);
    assert.ok(monotonicClock.now() >= until, 'not before the fence');
    assert.equal(mayWrite(fc.snapshot(), monotonicClock.now()), false, 'no new primary request starts');
  } finally {
    child.kill('SIGCONT');
    fc.endPrimary('us-east');
  }
  await waitFor(() => writableOn('us-east'), 'writes again once the member runs', 15_000);
});

test('a member process that dies: writes refused at once, open requests cut, a new member joins and writes resume', async () => {
  const fencedBefore = fenced;
  fc.beginPrimary('us-east');
  // the member dies as it would on a bug: from outside, without a clean leave
  (fc as unknown as { child: ChildProcess }).child.kill('SIGKILL');
  await waitFor(() => !fc.snapshot().writable, 'writes refused');
  assert.equal(fc.snapshot().writeRefusal, 'fleet-unavailable');
  assert.equal(fc.snapshot().writeRegion?.region, 'us-east', 'the last known write region is kept (shown, not written)');
  assert.ok(fenced > fencedBefore, 'open primary requests are cut');
  assert.ok(logs.some((l) => l.event === 'fleet-member-exit' && l.level === 50));
  await assert.rejects(fc.drain('ap-southeast'), FleetUnavailableError);
  fc.endPrimary('us-east'); // the cut request closed
  await waitFor(() => writableOn('us-east'), 'writes again through a new member', 15_000);
  await fc.drain('ap-southeast');
  await waitFor(() => fc.snapshot().drains.includes('ap-southeast'), 'an operator action through the new member');
  assert.equal((await fc.status()).members.length, 1, 'one member: the new one took the same id');
});
