// Running out of file descriptors is this process's problem, not the regions': the router runs
// under a low descriptor limit, clients take every descriptor, and the probes that fail with
// EMFILE meanwhile must not turn any region DOWN. The failures are counted as local errors, and
// service returns as soon as the clients go.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { fdCount } from '../helpers/edge.js';
import { metrics, ready, sample, state } from '../helpers/failover.js';
import { request, startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const NOFILE = 120;
let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld();
  router = await startRouter(
    configYaml(world, 'health: { interval: 100ms, timeout: 1s, unhealthyThreshold: 2, healthyThreshold: 1, failbackDelay: 0s }\n'),
    { wrap: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`], logLevel: 'info' },
  );
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

/**
 * Keep `n` connections to the router open, opening a new one whenever one is closed (the router
 * closes what it cannot hold), until stop() is called.
 */
function flood(port: number, n: number): { stop(): void } {
  let going = true;
  const open = new Set<net.Socket>();
  const connect = (): void => {
    if (!going) return;
    const s = net.connect(port, '127.0.0.1');
    open.add(s);
    s.on('error', () => undefined);
    s.once('close', () => {
      open.delete(s);
      setImmediate(connect);
    });
  };
  for (let i = 0; i < n; i++) connect();
  return {
    stop() {
      going = false;
      for (const s of open) s.destroy();
    },
  };
}

test('EMFILE in the probes counts as a local error; every region stays up; service returns', async () => {
  const pid = router.proc.pid!;
  const clients = flood(router.port, NOFILE * 2);
  // Every descriptor is taken: the router holds as many as the limit allows.
  await waitFor(() => fdCount(pid) >= NOFILE - 1, 5_000, 'descriptors exhausted');
  // Long enough for several probe rounds (unhealthyThreshold × interval, many times over).
  await new Promise((r) => setTimeout(r, 1_500));
  clients.stop();
  await waitFor(async () => (await request(router.port, { path: '/back' }).catch(() => null))?.status === 200, 10_000, 'service back');
  assert.equal(
    router.logs.some((l) => l.event === 'endpoint-transition' && l.to === 'down'),
    false,
    'no endpoint went DOWN for our own lack of descriptors',
  );
  const s = await state(router);
  for (const r of s.regions) assert.equal(r.status, 'available', `${r.name} still available`);
  const m = await metrics(router);
  assert.ok((sample(m, 'meridian_local_errors_total', { kind: 'fd_limit' }) ?? 0) > 0, 'local errors counted');
  assert.equal(sample(m, 'meridian_local_errors_total', { kind: 'no_buffers' }), 0, 'known kinds start at zero');
});
