// Issue 4, multi-core: a primary killed hard (SIGKILL: no chance to stop its workers) must not
// leave workers serving on a frozen health view; they notice the lost channel and exit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ready, state } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld(['us-east']);
  router = await startRouter(
    configYaml(world, 'workers: 2\nhealth: { interval: 300ms, timeout: 250ms, unhealthyThreshold: 1, healthyThreshold: 1 }\n'),
  );
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('workers exit when their primary is killed', async () => {
  const pids: number[] = (await state(router)).cluster.processes.map((p: { pid: number }) => p.pid);
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(alive(pid), true);
  router.proc.kill('SIGKILL');
  await router.exited;
  await waitFor(() => pids.every((pid) => !alive(pid)), 10_000, 'every worker gone');
});
