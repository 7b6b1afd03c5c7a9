// `workers: 2` in a fleet: the cluster primary is the fleet member and broadcasts the shared state to
// its workers, which serve all traffic. A real etcd, router w (a primary and two workers) and router
// o (one process), real backends. What is decided through router o must reach every worker of w:
// requests on fresh connections are spread over the workers by node:cluster, and each access line
// names the worker that served it, so "every worker" is checked, not assumed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { admin, request, waitFor, type Answer, type RouterProc } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';
import { agreedOn, fleetOf, SG, startFleet, US, write } from './fleet-routers.js';

const WORKERS = 2;
const BATCH = 24;
let etcd: EtcdServer;
let world: World;
let w: RouterProc;
let o: RouterProc;

/** `BATCH` requests to router w under `prefix`, each on a fresh connection; the answers and the workers that served them. */
async function batch(prefix: string, send: (path: string) => Promise<Answer>): Promise<{ answers: Answer[]; workers: Set<unknown> }> {
  const answers: Answer[] = [];
  for (let i = 0; i < BATCH; i++) answers.push(await send(`${prefix}/${i}`));
  const lines = (): unknown[] => w.logs.filter((l) => l.msg === 'request' && String(l.path).startsWith(`${prefix}/`)).map((l) => l.worker);
  await waitFor(() => lines().length === BATCH, 10_000, `${BATCH} access lines under ${prefix}`);
  return { answers, workers: new Set(lines()) };
}

const readFromSg = (path: string): Promise<Answer> => request(w.port, { path, headers: { 'x-forwarded-for': SG } });
const writeAt = (path: string): Promise<Answer> =>
  request(w.port, { method: 'POST', path, headers: { 'x-forwarded-for': US, 'x-request-id': path }, body: '{}' });
const regionsOf = (answers: readonly Answer[]): string[] => [...new Set(answers.map((a) => String(a.headers['x-meridian-region'])))];
/** The write epoch the backend saw on the requests under `prefix`. */
const epochsAt = (region: string, prefix: string): string[] => [
  ...new Set(
    world
      .b(region)
      .requests.filter((q) => q.url.startsWith(`${prefix}/`))
      .map((q) => String(q.headers['x-meridian-write-epoch'])),
  ),
];

before(async () => {
  etcd = await startEtcd();
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  [w, o] = (await startFleet([
    { id: 'w', etcd: etcd.endpoint, world, workers: WORKERS },
    { id: 'o', etcd: etcd.endpoint, world },
  ])) as [RouterProc, RouterProc];
});

after(async () => {
  await w?.stop('SIGKILL');
  await o?.stop('SIGKILL');
  await world?.stop();
  await etcd?.stop();
});

test('the primary of a multi-worker router is the fleet member: GET /admin/fleet and /admin/state answer for it', async () => {
  const f = await fleetOf(w);
  assert.equal(f.enabled, true);
  assert.equal(f.id, 'w');
  assert.equal(f.connected, true);
  assert.deepEqual(
    f.members.map((m) => m.id),
    ['o', 'w'],
  );
  assert.deepEqual(f.writeRegion, { region: 'us-east', epoch: 1, state: 'active' });
  const s = (await admin(w, 'GET', '/admin/state')).json as {
    cluster: { workers: number };
    writeRegion: { region: string; epoch: number };
  };
  assert.equal(s.cluster.workers, WORKERS);
  assert.equal(s.writeRegion.region, 'us-east');
  assert.equal(s.writeRegion.epoch, 1);
});

test('a drain sent to the other router reaches every worker', async () => {
  const before = await batch('/pre-drain', readFromSg);
  assert.equal(before.workers.size, WORKERS, 'both workers served');
  assert.deepEqual(regionsOf(before.answers), ['ap-southeast'], "Singapore's clients go to ap-southeast before the drain");

  assert.equal((await admin(o, 'POST', '/admin/regions/ap-southeast/drain')).status, 200);
  // converged once one whole batch avoided it; then every worker keeps avoiding it
  let round = 0;
  await waitFor(
    async () => !regionsOf((await batch(`/drain-wait-${round++}`, readFromSg)).answers).includes('ap-southeast'),
    15_000,
    'the drain on router w',
  );
  const drained = await batch('/drained', readFromSg);
  assert.equal(drained.workers.size, WORKERS, 'both workers served');
  assert.ok(
    drained.answers.every((a) => a.status === 200 && a.headers['x-meridian-region'] !== 'ap-southeast'),
    `every request avoided ap-southeast: ${regionsOf(drained.answers).join(', ')}`,
  );

  assert.equal((await admin(o, 'POST', '/admin/regions/ap-southeast/undrain')).status, 200);
  round = 0;
  await waitFor(
    async () => regionsOf((await batch(`/undrain-wait-${round++}`, readFromSg)).answers).join() === 'ap-southeast',
    15_000,
    'the undrain on every worker of router w',
  );
});

test('a write-region move made through the other router reaches every worker, with the new epoch', async () => {
  const before = await batch('/api/pre-move', writeAt);
  assert.equal(before.workers.size, WORKERS, 'both workers served');
  assert.ok(
    before.answers.every((a) => a.status === 200),
    before.answers.map((a) => a.status).join(),
  );
  assert.deepEqual(regionsOf(before.answers), ['us-east']);
  assert.deepEqual(epochsAt('us-east', '/api/pre-move'), ['1']);

  const usEastBefore = world.b('us-east').requests.length;
  assert.equal((await admin(o, 'POST', '/admin/write-region', undefined, '{"region": "eu-west"}')).status, 200);
  assert.equal(await waitFor(() => agreedOn([w, o], 'eu-west'), 15_000, 'eu-west agreed'), 2);
  let round = 0;
  await waitFor(
    async () => {
      const b = await batch(`/api/move-wait-${round++}`, writeAt);
      return b.answers.every((a) => a.status === 200 && a.headers['x-meridian-region'] === 'eu-west');
    },
    15_000,
    'writes in eu-west from router w',
  );
  const moved = await batch('/api/moved', writeAt);
  assert.equal(moved.workers.size, WORKERS, 'both workers served');
  assert.ok(
    moved.answers.every((a) => a.status === 200 && a.headers['x-meridian-region'] === 'eu-west'),
    `every write went to eu-west: ${moved.answers.map((a) => `${a.status} ${String(a.headers['x-meridian-region'])}`).join(', ')}`,
  );
  assert.deepEqual(epochsAt('eu-west', '/api/moved'), ['2'], 'every worker sent the new epoch');
  assert.equal(world.b('eu-west').highestEpoch, 2);
  assert.equal(world.b('us-east').requests.length, usEastBefore, 'no write reached us-east once the move was asked for');
  assert.equal((await write(o)).headers['x-meridian-region'], 'eu-west', 'and router o agrees');
});
