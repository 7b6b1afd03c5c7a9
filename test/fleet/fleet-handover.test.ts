// A write handover as a client sees it: 503 `write-handover`, then writes in the new region with the
// new epoch, and nothing in the old region after the handover began. A real etcd, three real
// routers; router c reaches etcd through a TCP relay. Cutting c just before the move keeps the
// handover open without timing luck: the leader may activate the new region only once every live
// member has acknowledged, and c, cut off, cannot; it stays a live member until its lease (6 s
// here) expires in etcd. So the handover stays open for most of a lease, long enough to observe it
// from outside, and the test waits on conditions, never on a fixed sleep.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { admin, waitFor, type RouterProc } from '../helpers/router-process.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { startWorld, type World } from '../helpers/world.js';
import { agreedOn, fleetOf, startFleet, write, writingAgain } from './fleet-routers.js';

const LEASE = '6s';
let etcd: EtcdServer;
let world: World;
let relayC: TcpRelay;
let a: RouterProc;
let b: RouterProc;
let c: RouterProc;

before(async () => {
  etcd = await startEtcd();
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  relayC = await startTcpRelay(etcd.clientPort);
  [a, b, c] = (await startFleet([
    { id: 'a', etcd: etcd.endpoint, world, lease: LEASE },
    { id: 'b', etcd: etcd.endpoint, world, lease: LEASE },
    { id: 'c', etcd: relayC.url, world, lease: LEASE },
  ])) as [RouterProc, RouterProc, RouterProc];
});

after(async () => {
  // The relay first, while router c still holds its connections open. After c died, a relay socket
  // that pipe() had already end()ed on c's FIN cannot be reset (libuv refuses uv_tcp_close_reset on
  // a handle that is shutting down); once that left this process spinning at exit.
  await relayC?.close();
  for (const r of [a, b, c]) await r?.stop('SIGKILL');
  await world?.stop();
  await etcd?.stop();
});

interface StateWriteRegion {
  region: string | null;
  epoch: number | null;
  state: string | null;
}

test('during a handover a client gets 503 write-handover; then writes go to the new region with the new epoch, none to the old', async () => {
  const first = await write(a);
  assert.equal(first.status, 200);
  assert.equal(first.headers['x-meridian-region'], 'us-east');

  // c cannot acknowledge: cut before the move, so its lease still counts it as a live member
  await relayC.stop();
  // no write is in flight from here on: the old region's count may not grow again
  const usEastAtStart = world.b('us-east').requests.length;
  assert.equal((await admin(a, 'POST', '/admin/write-region', undefined, '{"region": "eu-west"}')).status, 200);

  // router a knows of the handover (the admin call answers once it does, unless its read timed out)
  await waitFor(async () => (await fleetOf(a)).writeRegion?.epoch === 2, 10_000, 'router a sees epoch 2');
  const refused = await write(a);
  assert.equal(refused.status, 503, `a write during the handover: ${refused.status} ${refused.text}`);
  assert.deepEqual(refused.json, { error: 'write-handover', message: 'write region moving to eu-west (epoch 2)' });
  assert.equal(refused.headers['content-type'], 'application/json');
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(refused.headers['x-meridian-reason'], 'write-handover');
  // the handover is still open (c's lease has not expired): both admin answers show it
  const open = (await admin(a, 'GET', '/admin/state')).json as { writeRegion: StateWriteRegion };
  assert.deepEqual([open.writeRegion.region, open.writeRegion.epoch, open.writeRegion.state], ['eu-west', 2, 'handover']);
  assert.deepEqual((await fleetOf(b)).writeRegion, { region: 'eu-west', epoch: 2, state: 'handover' });
  const other = await write(b);
  assert.equal(other.status, 503, 'router b refuses too');
  assert.equal(other.json.error, 'write-handover');

  // once c's lease expires the leader activates eu-west
  const done = await writingAgain(a, 30_000, 'writes again after the handover');
  assert.equal(done.headers['x-meridian-region'], 'eu-west');
  assert.equal(world.b('eu-west').requests.at(-1)?.headers['x-meridian-write-epoch'], '2');
  assert.equal((await write(b)).headers['x-meridian-region'], 'eu-west');
  assert.deepEqual([...world.b('eu-west').writesByEpoch.keys()], [2], 'eu-west saw writes at epoch 2 only');
  const late = world.b('us-east').requests.slice(usEastAtStart);
  const seen = late.map((r) => `${r.method} ${r.url} epoch ${String(r.headers['x-meridian-write-epoch'])}`).join('; ');
  assert.equal(late.length, 0, `no write reached us-east after the handover began; it got: ${seen}`);

  // c comes back, catches up and writes to the new region with the new epoch
  await relayC.start();
  await waitFor(() => agreedOn([a, b, c], 'eu-west'), 20_000, 'router c back on eu-west');
  const fromC = await writingAgain(c, 20_000, 'router c writing again');
  assert.equal(fromC.headers['x-meridian-region'], 'eu-west');
  assert.equal(world.b('eu-west').requests.at(-1)?.headers['x-meridian-write-epoch'], '2');
  assert.equal(world.b('us-east').requests.length, usEastAtStart);
});
