// The fleet end to end: a real etcd, three real router processes (`meridian serve` from YAML files) and
// three demo backends, all on loopback. Router C reaches etcd through a TCP relay (so it can be cut off
// alone) and reaches us-east through another (so it alone can lose its path to the write region).
// Leases are 2 s so takeovers stay short; no timing is asserted beyond the bounds the fleet promises
// (a drain everywhere within 1 s is checked as "within a few polls", and waits are hang guards).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { clientFor } from '../helpers/clients.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { admin, request, startRouter, waitFor, waitReady, type Answer, type RouterProc } from '../helpers/router-process.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { LOCATIONS, startWorld, type World } from '../helpers/world.js';
import type { FleetJson } from './fleet-routers.js';

let etcd: EtcdServer;
let world: World;
let etcdRelayC: TcpRelay;
let usEastRelayC: TcpRelay;
const routers = new Map<string, RouterProc>();
const US = clientFor('US').ip;
const SG = clientFor('SG').ip;

function yaml(id: string, etcdUrl: string, usEast: string): string {
  const region = (name: string, url: string): string => {
    const l = LOCATIONS[name]!;
    return `  - name: ${name}\n    location: { lat: ${l.lat}, lon: ${l.lon} }\n    endpoints: [${url}]\n${l.countries ? `    countries: [${l.countries.join(', ')}]\n` : ''}`;
  };
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
clientIp: { trustedProxies: [127.0.0.1/32] }
regions:
${region('us-east', usEast)}${region('eu-west', world.b('eu-west').url)}${region('ap-southeast', world.b('ap-southeast').url)}
health: { interval: 200ms, timeout: 150ms, unhealthyThreshold: 1, healthyThreshold: 1, failbackDelay: 0s }
# Writes that reach a cut path before the probes notice may eject the endpoint passively; keep that
# short so "writing again" depends on the fleet, not on a 10 s ejection.
passive: { ejectFor: 500ms, maxEjectMultiplier: 1 }
writes: { regions: [us-east, eu-west], failover: automatic, failback: manual }
timeouts: { request: 3s }
routes:
  - { name: api, match: { pathPrefix: /api }, mode: read-local-write-global, readYourWrites: 30s }
  - { name: slow, match: { pathPrefix: /__slow }, mode: read-local-write-global }
  - { name: default, match: { pathPrefix: / }, mode: active-active }
fleet:
  etcd: { endpoints: [${etcdUrl}], prefix: /meridian/test/ }
  id: ${id}
  site: site-${id}
  lease: 2s
`;
}

async function startNamed(id: string): Promise<RouterProc> {
  const viaRelay = id === 'c';
  const r = await startRouter(yaml(id, viaRelay ? etcdRelayC.url : etcd.endpoint, viaRelay ? usEastRelayC.url : world.b('us-east').url), {
    logLevel: 'info',
  });
  routers.set(id, r);
  await waitReady(r, 15_000);
  return r;
}

const R = (id: string): RouterProc => routers.get(id)!;
const fleetOf = async (id: string): Promise<FleetJson> => (await admin(R(id), 'GET', '/admin/fleet')).json as FleetJson;
const write = (id: string, headers: Record<string, string> = {}): Promise<Answer> =>
  request(R(id).port, { method: 'POST', path: '/api/orders', headers: { 'x-forwarded-for': US, ...headers }, body: '{}' });
/** A write's status; 0 when the connection was cut (a fence cuts primary requests still open). */
const writeStatus = (id: string): Promise<number> =>
  write(id).then(
    (a) => a.status,
    () => 0,
  );
const read = (id: string, ip = US, headers: Record<string, string> = {}): Promise<Answer> =>
  request(R(id).port, { path: '/api/orders', headers: { 'x-forwarded-for': ip, ...headers } });

/** Every running router sees `region` at `epoch`, active, and its writes land there. */
async function allOn(region: string, what: string, ids = ['a', 'b', 'c']): Promise<number> {
  let epoch = 0;
  await waitFor(
    async () => {
      const views = await Promise.all(ids.map(fleetOf));
      const w = views[0]!.writeRegion;
      epoch = w?.epoch ?? 0;
      return views.every((v) => v.writeRegion?.region === region && v.writeRegion.state === 'active' && v.writeRegion.epoch === epoch);
    },
    15_000,
    what,
  );
  return epoch;
}

before(async () => {
  etcd = await startEtcd();
  // ap-southeast never reports lag, so a read there after a write elsewhere must follow the write
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast'], 1, { 'ap-southeast': null });
  etcdRelayC = await startTcpRelay(etcd.clientPort);
  usEastRelayC = await startTcpRelay(Number(new URL(world.b('us-east').url).port));
  for (const id of ['a', 'b', 'c']) await startNamed(id);
});

after(async () => {
  for (const r of routers.values()) await r.stop('SIGKILL');
  await etcdRelayC?.close();
  await usEastRelayC?.close();
  await world?.stop();
  await etcd?.stop();
});

test('three routers form one fleet: every member listed, one leader, write region us-east at epoch 1', async () => {
  const views = await waitFor(
    async () => {
      const v = await Promise.all(['a', 'b', 'c'].map(fleetOf));
      return v.every((f) => f.connected && f.members.length === 3 && f.leader !== null && f.writeRegion?.state === 'active') ? v : null;
    },
    15_000,
    'a fleet of three with a leader',
  );
  assert.deepEqual(
    views[0]!.members.map((m) => [m.id, m.site]),
    [
      ['a', 'site-a'],
      ['b', 'site-b'],
      ['c', 'site-c'],
    ],
  );
  assert.equal(new Set(views.map((v) => v.leader)).size, 1, 'all agree on the leader');
  for (const v of views) assert.deepEqual(v.writeRegion, { region: 'us-east', epoch: 1, state: 'active' });
});

test('every primary request carries the fleet epoch; a client cannot send its own', async () => {
  const before = world.b('us-east').requests.length;
  const a = await write('b', { 'x-meridian-write-epoch': '999' });
  assert.equal(a.status, 200);
  assert.equal(a.headers['x-meridian-region'], 'us-east');
  const seen = world
    .b('us-east')
    .requests.slice(before)
    .find((q) => q.method === 'POST');
  assert.equal(seen?.headers['x-meridian-write-epoch'], '1');
  // a nearest-selector request carries none, even when the client sent one
  const b = await request(R('a').port, { path: '/x', headers: { 'x-forwarded-for': SG, 'x-meridian-write-epoch': '5' } });
  assert.equal(b.status, 200);
  const last = world.b('ap-southeast').requests.at(-1)!;
  assert.equal(last.headers['x-meridian-write-epoch'], undefined);
});

test('a drain sent to one router applies on every router, and survives a restart', async () => {
  const r = await admin(R('a'), 'POST', '/admin/regions/ap-southeast/drain');
  assert.equal(r.status, 200);
  // within 1 s (a few polls): routers b and c no longer send Singapore's clients to ap-southeast
  for (const id of ['b', 'c']) {
    await waitFor(async () => (await read(id, SG)).headers['x-meridian-region'] !== 'ap-southeast', 1_000, `drain on ${id}`);
  }
  await R('b').stop();
  routers.delete('b');
  await startNamed('b');
  const after = await request(R('b').port, { path: '/x', headers: { 'x-forwarded-for': SG } });
  assert.notEqual(after.headers['x-meridian-region'], 'ap-southeast', 'the restarted router read the drain back');
  assert.equal((await admin(R('c'), 'POST', '/admin/regions/ap-southeast/undrain')).status, 200);
  for (const id of ['a', 'b'])
    await waitFor(async () => (await read(id, SG)).headers['x-meridian-region'] === 'ap-southeast', 1_000, `undrain on ${id}`);
});

test('a traffic dial set through one router applies on every router, and survives a restart', async () => {
  const r = await admin(R('b'), 'POST', '/admin/regions/ap-southeast/dial', undefined, '{"percent": 0}');
  assert.equal(r.status, 200, r.text);
  for (const id of ['a', 'c']) {
    await waitFor(async () => (await read(id, SG)).headers['x-meridian-reason'] === 'dialed', 1_000, `dial on ${id}`);
  }
  await R('a').stop();
  routers.delete('a');
  await startNamed('a');
  const after = await read('a', SG);
  assert.equal(after.headers['x-meridian-reason'], 'dialed', 'the restarted router read the dial back');
  assert.equal((await admin(R('a'), 'GET', '/admin/state')).json.steering.dials['ap-southeast'].percent, 0);
  assert.equal((await admin(R('c'), 'POST', '/admin/regions/ap-southeast/undrain')).status, 200);
  for (const id of ['a', 'b'])
    await waitFor(async () => (await read(id, SG)).headers['x-meridian-region'] === 'ap-southeast', 1_000, `dial back on ${id}`);
});

test('a read-your-writes cookie set by router a is honoured by router b', async () => {
  const w = await write('a');
  const cookie = String(w.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  assert.match(cookie, /^meridian_ryw=/);
  const r = await read('b', SG, { cookie });
  assert.equal(r.headers['x-meridian-reason'], 'read-your-writes');
  assert.equal(r.headers['x-meridian-region'], 'us-east');
});

test('the write region set through any router moves writes for all; the old epoch is fenced at the data tier', async () => {
  const r = await admin(R('c'), 'POST', '/admin/write-region', undefined, '{"region": "eu-west"}');
  assert.equal(r.status, 200);
  const epoch = await allOn('eu-west', 'eu-west active everywhere');
  assert.equal(epoch, 2);
  for (const id of ['a', 'b', 'c']) {
    const w = await write(id);
    assert.equal(w.status, 200, `write through ${id}`);
    assert.equal(w.headers['x-meridian-region'], 'eu-west');
  }
  assert.equal(world.b('eu-west').highestEpoch, 2);
  // a writer still on epoch 1 would be refused by the region that now takes writes
  const stale = await request(Number(new URL(world.b('eu-west').url).port), {
    method: 'POST',
    path: '/api/orders',
    headers: { 'x-meridian-write-epoch': '1' },
    body: '{}',
  });
  assert.equal(stale.status, 409);
  assert.equal((await admin(R('a'), 'POST', '/admin/write-region', undefined, '{"region": "us-east"}')).status, 200);
  assert.equal(await allOn('us-east', 'us-east active again'), 3);
});

test('quorum: one router that loses its path to the write region cannot move writes', async () => {
  await usEastRelayC.stop();
  await waitFor(async () => (await writeStatus('c')) === 503, 5_000, 'router c refusing writes');
  const refused = await write('c');
  assert.equal(refused.json.error, 'write-region-down');
  assert.equal(refused.headers['retry-after'], '1');
  // the others keep writing to us-east; give the leader time to (wrongly) act: several probe rounds
  await new Promise((r) => setTimeout(r, 1_500));
  for (const id of ['a', 'b']) assert.equal((await fleetOf(id)).writeRegion?.region, 'us-east');
  assert.equal((await write('a')).headers['x-meridian-region'], 'us-east');
  assert.equal((await read('c', SG)).status, 200, 'reads go on');
  await usEastRelayC.start();
  await waitFor(async () => (await writeStatus('c')) === 200, 5_000, 'router c writing again');
});

test('a router cut off from etcd stops writes before its lease can expire, keeps reading, and catches up', async () => {
  // A write in flight through c as it is cut off: the backend would answer after 10 s and the
  // request timeout is 3 s, so only c's fence (2/3 of its 2 s lease) can end it sooner.
  const region = (await fleetOf('c')).writeRegion!.region;
  // And one whose body is still arriving (5 of 10 bytes): c holds it until the rest comes, so
  // nothing of it has gone upstream when the fence stops it (limits.bodyTimeout is 30 s).
  let partialReq: http.ClientRequest | null = null;
  const partial = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const r = (partialReq = http.request(
      { port: R('c').port, method: 'POST', path: '/api/partial', headers: { 'x-forwarded-for': US, 'content-length': '10' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    ));
    r.on('error', reject);
    r.write('12345');
  });
  // listened for from the start: the connection may close as soon as the answer is out
  const partialClosed = new Promise<void>((resolve) => partialReq!.once('close', () => resolve()));
  const open = request(R('c').port, { method: 'POST', path: '/__slow/10000', headers: { 'x-forwarded-for': US }, body: '{}' });
  await waitFor(() => world.b(region).requests.some((q) => q.url === '/__slow/10000'), 2_000, `the open write at ${region}`);
  const cutAt = Date.now();
  await etcdRelayC.stop();
  const stopped = await open;
  const stoppedAfter = Date.now() - cutAt;
  assert.equal(stopped.status, 504, `the open write: ${stopped.status} ${stopped.text}`);
  assert.equal(stopped.json.error, 'write_outcome_unknown', 'sent upstream, so the client is told it may have been applied');
  assert.ok(stoppedAfter < 2_000, `stopped ${stoppedAfter} ms after the cut, before the lease could expire`);
  const unsent = await partial;
  assert.equal(unsent.status, 503, `the write still arriving: ${unsent.status} ${unsent.body}`);
  assert.equal((JSON.parse(unsent.body) as { error: string }).error, 'fleet-unavailable', 'never sent upstream: safe to retry');
  // the rest of its body arrives after the answer: it still goes nowhere
  partialReq!.on('error', () => undefined); // writing to a closed connection may fail: it is meant to go nowhere
  partialReq!.end('67890');
  await partialClosed;
  assert.equal((await read('c', SG)).status, 200, 'a read through c after it');
  for (const r of ['us-east', 'eu-west', 'ap-southeast'])
    assert.ok(!world.b(r).requests.some((q) => q.url === '/api/partial'), `nothing of it reached ${r}`);
  await waitFor(async () => (await writeStatus('c')) === 503, 2_000, 'router c fenced');
  const fencedAfter = Date.now() - cutAt;
  assert.ok(fencedAfter < 2_000, `fenced ${fencedAfter} ms after the cut, before its 2 s lease could expire`);
  assert.equal((await write('c')).json.error, 'fleet-unavailable');
  assert.equal((await read('c', SG)).status, 200, 'reads go on');
  assert.equal((await fleetOf('c')).connected, false);
  // meanwhile the fleet changes: a drain c has not seen
  assert.equal((await admin(R('a'), 'POST', '/admin/regions/eu-west/drain')).status, 200);
  await etcdRelayC.start();
  await waitFor(async () => (await writeStatus('c')) === 200, 6_000, 'router c writing again');
  assert.equal((await fleetOf('c')).connected, true);
  const s = (await admin(R('c'), 'GET', '/admin/state')).json as { regions: { name: string; drained: boolean }[] };
  assert.equal(s.regions.find((r) => r.name === 'eu-west')?.drained, true, 'c caught up with the drain');
  assert.equal((await admin(R('a'), 'POST', '/admin/regions/eu-west/undrain')).status, 200);
});

test('automatic failover: every router sees us-east down, the fleet converges on eu-west with one new epoch', async () => {
  const before = (await fleetOf('a')).writeRegion!.epoch;
  world.b('us-east').healthMode = 'fail';
  world.b('us-east').trafficMode = 'fail';
  const epoch = await allOn('eu-west', 'failover to eu-west');
  assert.equal(epoch, before + 1);
  for (const id of ['a', 'b', 'c']) assert.equal((await write(id)).headers['x-meridian-region'], 'eu-west');
  world.b('us-east').healthMode = 'ok';
  world.b('us-east').trafficMode = 'ok';
});

test('the leader SIGKILLed: another router leads within one lease, and writes go on', async () => {
  const leader = (await fleetOf('a')).leader!;
  const others = ['a', 'b', 'c'].filter((id) => id !== leader);
  await R(leader).stop('SIGKILL');
  routers.delete(leader);
  const next = await waitFor(
    async () => {
      const v = await Promise.all(others.map(fleetOf));
      const l = v[0]!.leader;
      return l !== null && l !== leader && v.every((f) => f.leader === l && f.members.length === 2) ? l : null;
    },
    6_000,
    'a new leader',
  );
  assert.ok(others.includes(next));
  for (const id of others) assert.equal((await write(id)).status, 200);
  await startNamed(leader);
});

test('etcd stopped: reads go on, writes stop; etcd back: writes resume', async () => {
  await etcd.pause();
  await waitFor(async () => (await Promise.all(['a', 'b', 'c'].map(writeStatus))).every((s) => s === 503), 3_000, 'writes stopped');
  for (const id of ['a', 'b', 'c']) {
    assert.equal((await read(id, SG)).status, 200, `reads on ${id}`);
    assert.equal((await admin(R(id), 'POST', '/admin/regions/ap-southeast/drain')).json.error, 'fleet-unavailable');
  }
  await etcd.resume();
  await waitFor(async () => (await Promise.all(['a', 'b', 'c'].map(writeStatus))).every((s) => s === 200), 10_000, 'writes resumed');
});
