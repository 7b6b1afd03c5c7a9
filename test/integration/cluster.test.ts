// Issue 4, multi-core: `workers: 2` runs a primary (health, admin) and two workers sharing the
// listener. The real router from a config file, real backends on port 0; requests on fresh
// connections are spread over the workers by node:cluster, and each access line names its worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessLines, from, metrics, ready, sample, state } from '../helpers/failover.js';
import { admin, request, startRouter, waitFor, type LogLine, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const WORKERS = 2;
let world: World;
let router: RouterProc;
let yaml: string;

const linesFor = (prefix: string): LogLine[] => accessLines(router).filter((l) => String(l.path).startsWith(prefix));
const workersOf = (lines: LogLine[]): Set<unknown> => new Set(lines.map((l) => l.worker));

/** Send `n` requests, each on a fresh connection, until both workers have served some (round robin makes that quick). */
async function spread(n: number, send: (i: number) => Promise<void>, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) await send(i);
  await waitFor(() => linesFor(prefix).length === n, 5_000, `${n} access lines for ${prefix}`);
  assert.equal(workersOf(linesFor(prefix)).size, WORKERS, `requests under ${prefix} were served by every worker`);
}

/**
 * A state in which every worker has acknowledged the current view and config. A view the primary
 * broadcast an instant ago (a probe that just changed something) may not be acknowledged yet.
 */
async function settledState(): Promise<any> {
  type Proc = { viewVersion: number; configVersion: number };
  return waitFor(
    async () => {
      const st = await state(router);
      const all = st.cluster.processes as Proc[];
      return all.every((p) => p.viewVersion === st.cluster.viewVersion && p.configVersion === st.cluster.configVersion) ? st : null;
    },
    5_000,
    'every worker on the current view and config',
  );
}

/**
 * Run an admin action and require that, when it returns, every worker has acknowledged a view
 * newer than the one they all ran before it. Comparing with the primary's version *after* the call
 * would race a probe result broadcast between the call and the state read.
 */
async function everyWorkerAcknowledges(what: string, action: () => Promise<{ status: number; text: string }>): Promise<any> {
  const before = (await settledState()).cluster.viewVersion as number;
  const r = await action();
  assert.equal(r.status, 200, r.text);
  const s = await state(router);
  for (const p of s.cluster.processes)
    assert.ok(p.viewVersion > before, `worker ${p.worker} acknowledged the ${what} (view ${p.viewVersion}, ${before} before it)`);
  return s;
}

before(async () => {
  world = await startWorld();
  yaml = configYaml(
    world,
    `workers: ${WORKERS}
health: { interval: 300ms, timeout: 250ms, unhealthyThreshold: 1, healthyThreshold: 1, failbackDelay: 0s }
passive: { consecutiveFailures: 4, ejectFor: 1m }
writes: { regions: [us-east, eu-west] }
routes:
  - name: api
    match: { pathPrefix: /api }
    mode: read-local-write-global
    readYourWrites: 30s
  - name: default
    match: { pathPrefix: / }
    mode: active-active
`,
  );
  router = await startRouter(yaml, { logLevel: 'info' });
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('the primary probes once for the group and every worker runs on its view', async () => {
  const s = await settledState();
  assert.equal(s.cluster.workers, WORKERS);
  assert.equal(s.cluster.processes.length, WORKERS);
  const pids = new Set(s.cluster.processes.map((p: { pid: number }) => p.pid));
  assert.equal(pids.size, WORKERS);
  assert.ok(!pids.has(router.proc.pid), 'workers are processes of their own');
  for (const p of s.cluster.processes) {
    assert.equal(p.listening, true);
    assert.equal(p.viewVersion, s.cluster.viewVersion, `worker ${p.worker} runs the current health view`);
    assert.equal(p.configVersion, s.cluster.configVersion);
  }
  // Every health check a backend saw is one the primary counted: workers do not probe.
  const eu = world.b('eu-west');
  const m = await metrics(router);
  const counted =
    (sample(m, 'meridian_probes_total', { region: 'eu-west', endpoint: eu.url, result: 'pass' }) ?? 0) +
    (sample(m, 'meridian_probes_total', { region: 'eu-west', endpoint: eu.url, result: 'fail' }) ?? 0);
  assert.ok(counted >= 1);
  assert.ok(eu.healthChecks <= counted + 1, `backend saw ${eu.healthChecks} checks, primary made ${counted}`);

  await spread(6, async (i) => void assert.equal((await from(router, 'DE', { path: `/spread${i}` })).json.region, 'eu-west'), '/spread');
});

test('a drain reaches every worker before the admin call returns', async () => {
  try {
    await everyWorkerAcknowledges('drain', () => admin(router, 'POST', '/admin/regions/eu-west/drain'));
    await spread(
      6,
      async (i) => {
        const r = await from(router, 'DE', { path: `/drained${i}` });
        assert.equal(r.status, 200);
        assert.notEqual(r.json.region, 'eu-west', 'no worker sends to the drained region');
        assert.equal(r.headers['x-meridian-reason'], 'failover');
      },
      '/drained',
    );
  } finally {
    // The tests after this one need eu-west back, whatever happened above.
    assert.equal((await admin(router, 'POST', '/admin/regions/eu-west/undrain')).status, 200);
  }
  await spread(
    6,
    async (i) => void assert.equal((await from(router, 'DE', { path: `/undrained${i}` })).json.region, 'eu-west'),
    '/undrained',
  );
});

test('a traffic dial reaches every worker before the admin call returns, and shows in state and metrics', async () => {
  try {
    const s = await everyWorkerAcknowledges('dial', () =>
      admin(router, 'POST', '/admin/regions/eu-west/dial', undefined, '{"percent": 0}'),
    );
    assert.equal(s.steering.dials['eu-west'].percent, 0);
    assert.equal(sample(await metrics(router), 'meridian_region_dial_percent', { region: 'eu-west' }), 0);
    await spread(
      6,
      async (i) => {
        const r = await from(router, 'DE', { path: `/dialed${i}` });
        assert.equal(r.status, 200);
        assert.notEqual(r.json.region, 'eu-west', 'no worker keeps a client of the region dialed to 0');
        assert.equal(r.headers['x-meridian-reason'], 'dialed');
      },
      '/dialed',
    );
  } finally {
    assert.equal((await admin(router, 'POST', '/admin/regions/eu-west/undrain')).status, 200);
  }
  await spread(
    6,
    async (i) => void assert.equal((await from(router, 'DE', { path: `/undialed${i}` })).json.region, 'eu-west'),
    '/undialed',
  );
});

test('/metrics sums request counters over the workers and keeps state gauges at their value', async () => {
  const before =
    sample(await metrics(router), 'meridian_requests_total', {
      route: 'default',
      region: 'ap-southeast',
      method_class: 'read',
      status_class: '2xx',
      reason: 'nearest',
    }) ?? 0;
  await spread(8, async (i) => void assert.equal((await from(router, 'SG', { path: `/count${i}` })).json.region, 'ap-southeast'), '/count');
  const m = await metrics(router);
  assert.equal(
    sample(m, 'meridian_requests_total', {
      route: 'default',
      region: 'ap-southeast',
      method_class: 'read',
      status_class: '2xx',
      reason: 'nearest',
    }),
    before + 8,
  );
  // One primary says the region is up: max, not a sum over three processes.
  assert.equal(sample(m, 'meridian_region_up', { region: 'ap-southeast' }), 1);
  assert.equal(sample(m, 'meridian_write_region', { region: 'us-east' }), 1);
  assert.equal(sample(m, 'meridian_region_drained', { region: 'eu-west' }), 0);
  assert.equal(sample(m, 'meridian_workers'), WORKERS);
  assert.equal(sample(m, 'meridian_in_flight_requests'), 0);
  assert.ok((sample(m, 'process_resident_memory_bytes') ?? 0) > 0);
});

test('a read-your-writes cookie signed by one worker is honoured by the others', async () => {
  const w = await from(router, 'DE', { method: 'POST', path: '/api/orders', body: '{}' });
  assert.equal(w.status, 200);
  assert.equal(w.json.region, 'us-east');
  const cookie = String(w.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  assert.match(cookie, /^meridian_ryw=/);
  // eu-west reports lag 0 s; a lag above the time since the write keeps reads on the write region.
  world.b('eu-west').lagSeconds = 60;
  await waitFor(
    async () => (await state(router)).regions.find((r: { name: string }) => r.name === 'eu-west').lagMs === 60_000,
    5_000,
    'lag reported',
  );
  await spread(
    6,
    async (i) => {
      const r = await from(router, 'DE', { path: `/api/ryw${i}`, headers: { cookie } });
      assert.equal(r.json.region, 'us-east');
      assert.equal(r.headers['x-meridian-reason'], 'read-your-writes');
    },
    '/api/ryw',
  );
  world.b('eu-west').lagSeconds = 0;
});

test('live failures seen by different workers add up at the primary and eject the endpoint everywhere', async () => {
  const ap = world.b('ap-southeast');
  ap.trafficMode = 'fail';
  try {
    for (let i = 0; i < 4; i++) {
      const r = await from(router, 'SG', { path: `/apfail${i}` });
      assert.equal(r.status, 200, 'the 503 was retried elsewhere');
    }
    const ej = await router.waitForLog((l) => l.event === 'ejected' && l.endpoint === ap.url, 5_000);
    assert.equal(ej.pid, router.proc.pid, 'the primary decided the ejection');
    // Access lines are written in batches (up to 50 ms late) by each worker: wait for all four.
    await waitFor(() => linesFor('/apfail').length === 4, 5_000, '4 access lines for /apfail');
    assert.equal(workersOf(linesFor('/apfail')).size, WORKERS, 'the failures came from both workers');
    const seen = ap.requests.length;
    await spread(
      6,
      async (i) => void assert.notEqual((await from(router, 'SG', { path: `/apafter${i}` })).json.region, 'ap-southeast'),
      '/apafter',
    );
    assert.equal(ap.requests.length, seen, 'no worker sent more traffic to the ejected endpoint');
  } finally {
    ap.trafficMode = 'ok';
  }
});

test('a reload applies to every worker', async () => {
  router.writeConfig(yaml.replace('pathPrefix: /api', 'pathPrefix: /v2'));
  const r = await admin(router, 'POST', '/admin/reload');
  assert.equal(r.status, 200);
  const s = await state(router);
  assert.equal(s.cluster.configVersion, 2);
  for (const p of s.cluster.processes) assert.equal(p.configVersion, 2, `worker ${p.worker} runs the new config`);
  await spread(
    6,
    async (i) => {
      const a = await from(router, 'DE', { method: 'POST', path: `/v2/w${i}`, body: '{}' });
      assert.equal(a.json.region, 'us-east', 'writes under the new prefix go to the write region');
    },
    '/v2/w',
  );
  router.writeConfig(yaml);
  assert.equal((await admin(router, 'POST', '/admin/reload')).status, 200);
});

test('explain is answered by a worker with the group health view', async () => {
  const r = await request(router.adminPort, { path: '/admin/explain?ip=5.9.0.1&method=POST&path=/api/x' });
  assert.equal(r.status, 200);
  assert.equal(r.json.region, 'us-east');
  assert.equal(r.json.reason, 'write-primary');
  assert.equal(r.json.client.country, 'DE', 'GeoIP ran in the worker');
});

test('a killed worker is restarted, logged, and the group keeps serving', async () => {
  // Before any restart every reason has a series at 0, so a dashboard or an increase() sees the first.
  const seeded = await metrics(router);
  for (const reason of ['signal', 'crash', 'exit'])
    assert.equal(sample(seeded, 'meridian_worker_restarts_total', { reason }), 0, `reason="${reason}" seeded at 0`);
  const s = await state(router);
  const victim = s.cluster.processes[0];
  process.kill(victim.pid, 'SIGKILL');
  const exit = await router.waitForLog((l) => l.event === 'worker-exit' && l.workerPid === victim.pid, 5_000);
  assert.equal(exit.signal, 'SIGKILL');
  // The other worker still serves: the router stays ready and keeps answering during the restart.
  assert.equal((await request(router.adminPort, { path: '/readyz' })).status, 200);
  assert.equal((await from(router, 'DE', { path: '/during-restart' })).status, 200);
  const back = await router.waitForLog((l) => l.event === 'worker-restarted' && l.worker === victim.worker, 15_000);
  assert.notEqual(back.workerPid, victim.pid);
  const after = await waitFor(
    async () => {
      const st = await state(router);
      const p = st.cluster.processes.find((x: { worker: number }) => x.worker === victim.worker);
      return p.listening && p.viewVersion === st.cluster.viewVersion && p.configVersion === st.cluster.configVersion ? st : null;
    },
    10_000,
    'the new worker serving on the current view',
  );
  const slot = after.cluster.processes.find((p: { worker: number }) => p.worker === victim.worker);
  assert.equal(slot.pid, back.workerPid);
  assert.equal(slot.restarts, 1);
  assert.equal(slot.configVersion, after.cluster.configVersion, 'the new worker got the current config');
  await spread(6, async (i) => void assert.equal((await from(router, 'DE', { path: `/restarted${i}` })).status, 200), '/restarted');
  const restarted = await metrics(router);
  assert.equal(sample(restarted, 'meridian_worker_restarts_total', { reason: 'signal' }), 1);
  assert.equal(sample(restarted, 'meridian_worker_restarts_total', { reason: 'crash' }), 0);
  assert.equal(sample(restarted, 'meridian_worker_restarts_total', { reason: 'exit' }), 0);
});

test('SIGTERM lets every worker finish its in-flight requests, then the group exits 0', async () => {
  const s = await state(router);
  // One slow request per worker (fresh connections alternate between them).
  const slow = [from(router, 'DE', { path: '/__slow/600' }), from(router, 'DE', { path: '/__slow/600' })];
  await waitFor(
    () => world.b('eu-west').requests.filter((r) => r.url === '/__slow/600').length === 2,
    5_000,
    'both slow requests upstream',
  );
  const code = router.stop('SIGTERM');
  const answers = await Promise.all(slow);
  for (const a of answers) assert.equal(a.status, 200, 'in-flight request completed during shutdown');
  assert.equal(await code, 0);
  const stopped = router.logs.filter((l) => l.event === 'worker-stopped').map((l) => l.pid);
  for (const p of s.cluster.processes) assert.ok(stopped.includes(p.pid), `worker ${p.worker} drained and stopped`);
  assert.equal(workersOf(linesFor('/__slow')).size, WORKERS);
});
