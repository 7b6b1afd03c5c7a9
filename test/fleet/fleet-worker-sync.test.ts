// A multi-worker router in a fleet hands its workers each new shared snapshot over IPC. Until a worker
// has applied the one that began a handover, it may still admit a write under the snapshot before and
// send it to the old write region with the old epoch; so the router must not acknowledge the handover
// before every worker has acknowledged that snapshot. Here one worker of router w is stopped
// (SIGSTOP) when the write region moves: the handover must stay open while it is stopped and finish
// once it runs again. `writesWithoutEtcd: continue` takes the lease fence out of play (nothing but the
// worker's acknowledgement can release the wait), so what is seen does not depend on timing.
// A worker tells the primary which regions it has writes in flight to only when it acknowledges a
// snapshot (nothing per request): the second test holds a write open in a worker across a handover.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { admin, request, waitFor, type RouterProc } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';
import { fleetOf, startFleet, US, write } from './fleet-routers.js';

let etcd: EtcdServer;
let world: World;
let w: RouterProc;
let o: RouterProc;
let stopped: number | null = null;

before(async () => {
  etcd = await startEtcd();
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  [w, o] = (await startFleet([
    { id: 'w', etcd: etcd.endpoint, world, workers: 2, writesWithoutEtcd: 'continue' },
    { id: 'o', etcd: etcd.endpoint, world, writesWithoutEtcd: 'continue' },
  ])) as [RouterProc, RouterProc];
});

after(async () => {
  if (stopped !== null) process.kill(stopped, 'SIGCONT');
  await w?.stop('SIGKILL');
  await o?.stop('SIGKILL');
  await world?.stop();
  await etcd?.stop();
});

/** The worker processes of router w (the children of its primary). */
function workerPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(w.proc.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

test('a handover waits for a worker that has not applied the snapshot that began it, and finishes once it has', async () => {
  const pids = workerPids();
  assert.equal(pids.length, 2, `two workers: ${pids.join(' ')}`);
  stopped = pids[0]!;
  process.kill(stopped, 'SIGSTOP');

  const moved = await admin(o, 'POST', '/admin/write-region', undefined, JSON.stringify({ region: 'eu-west' }));
  assert.equal(moved.status, 200, moved.text);
  // Two leases' worth of polls: w's primary keeps its lease and is connected, only its stopped
  // worker holds the acknowledgement back, so the fleet stays in handover and o refuses writes.
  const until = Date.now() + 4_000;
  let polls = 0;
  while (Date.now() < until) {
    const f = await fleetOf(o);
    assert.deepEqual(f.writeRegion, { region: 'eu-west', epoch: 2, state: 'handover' }, `poll ${polls}`);
    assert.ok(
      f.members.some((m) => m.id === 'w'),
      'w is still a live member',
    );
    polls++;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(polls >= 5, `polled ${polls} times`);
  const refused = await write(o);
  assert.equal(refused.status, 503);
  assert.equal((refused.json as { error: string }).error, 'write-handover');

  process.kill(stopped, 'SIGCONT');
  stopped = null;
  await waitFor(async () => (await fleetOf(o)).writeRegion?.state === 'active', 15_000, 'the handover finishes');
  assert.deepEqual((await fleetOf(o)).writeRegion, { region: 'eu-west', epoch: 2, state: 'active' });
  const written = await write(o);
  assert.equal(written.status, 200, written.text);
  assert.equal(written.headers['x-meridian-region'], 'eu-west');
});

test('a handover waits for a write a worker admitted before it, which the worker names when it acknowledges the handover', async () => {
  // eu-west writes at epoch 2 now. A write that its backend holds for 2 s, through w (either worker):
  const sentAt = Date.now();
  const slow = request(w.port, { method: 'POST', path: '/__slow/2000', headers: { 'x-forwarded-for': US }, body: '{}' });
  await waitFor(() => world.b('eu-west').requests.some((q) => q.url === '/__slow/2000'), 2_000, 'the slow write at eu-west');
  const moved = await admin(o, 'POST', '/admin/write-region', undefined, JSON.stringify({ region: 'us-east' }));
  assert.equal(moved.status, 200, moved.text);
  // Until the slow write is answered the handover must stay open: us-east may not take writes while
  // one at epoch 2 may still be applied at eu-west.
  let polls = 0;
  while (Date.now() < sentAt + 1_500) {
    assert.deepEqual((await fleetOf(o)).writeRegion, { region: 'us-east', epoch: 3, state: 'handover' }, `poll ${polls}`);
    polls++;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(polls >= 3, `polled ${polls} times`);
  const answered = await slow;
  assert.equal(answered.status, 200, answered.text);
  assert.equal(answered.headers['x-meridian-region'], 'eu-west');
  await waitFor(async () => (await fleetOf(o)).writeRegion?.state === 'active', 10_000, 'the handover finishes once the write is answered');
  const written = await write(w);
  assert.equal(written.status, 200, written.text);
  assert.equal(written.headers['x-meridian-region'], 'us-east');
});
