// Issue 3: active probes move traffic — after `unhealthyThreshold` failing probes, not before — and
// a recovered region gets traffic back only after `failbackDelay` of continuous health.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessLines, from, indexOfLog, ready } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const UNHEALTHY = 3;
let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld();
  router = await startRouter(
    configYaml(
      world,
      `health: { interval: 100ms, timeout: 80ms, unhealthyThreshold: ${UNHEALTHY}, healthyThreshold: 2, failbackDelay: 1s }\n`,
    ),
  );
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('failing probes move traffic after unhealthyThreshold failed probes, and recovery waits for failbackDelay', async () => {
  const b = world.b('us-east');
  const first = await from(router, 'US', { path: '/p' });
  assert.equal(first.json.region, 'us-east');

  // Probes start failing; live traffic is still fine, so only the probes can move it.
  const checksAtFlip = b.healthChecks;
  b.healthMode = 'fail';
  let moved: { failingProbes: number } | null = null;
  while (moved === null) {
    const r = await from(router, 'US', { path: '/p' });
    assert.equal(r.status, 200);
    if (r.json.region !== 'us-east') {
      assert.equal(r.json.region, 'eu-west', 'the next nearest region takes over');
      assert.equal(r.headers['x-meridian-reason'], 'failover');
      moved = { failingProbes: b.healthChecks - checksAtFlip };
    }
    if (b.healthChecks - checksAtFlip > UNHEALTHY + 20) assert.fail('traffic never moved');
  }
  assert.ok(moved.failingProbes >= UNHEALTHY, `traffic moved after ${moved.failingProbes} failing probes, expected at least ${UNHEALTHY}`);
  // "within unhealthyThreshold × interval plus a probe": at most one probe more than needed (plus one in flight).
  assert.ok(moved.failingProbes <= UNHEALTHY + 2, `traffic moved only after ${moved.failingProbes} failing probes`);
  // The log line travels through the router's asynchronous stdout: it may arrive after the answer.
  const downLine = await router.waitForLog((l) => l.event === 'endpoint-transition' && l.endpoint === b.url && l.to === 'down', 5_000);
  const down = router.logs.indexOf(downLine);
  const firstMoved = await router.waitForLog((l) => l.msg === 'request' && l.path === '/p' && l.region === 'eu-west');
  const firstMovedLine = router.logs.indexOf(firstMoved);
  assert.ok(down < firstMovedLine, 'the first request served elsewhere comes after the DOWN transition');
  const usBeforeDown = accessLines(router).filter((l) => l.path === '/p' && l.region === 'us-east').length;
  assert.ok(usBeforeDown >= 1, 'requests were served by us-east while the probes were still below the threshold');

  // Recovery: probes pass again; traffic must stay on eu-west until the failback delay is over.
  b.healthMode = 'ok';
  const upLine = await router.waitForLog(
    (l) => l.event === 'endpoint-transition' && l.endpoint === b.url && l.from === 'down' && l.to === 'up',
    10_000,
  );
  await router.waitForLog((l) => l.event === 'region-transition' && l.region === 'us-east' && l.to === 'failback-wait', 5_000);
  // Requests made while us-east is UP but waiting still go to the fallback.
  const isBack = (l: { event?: string; region?: unknown; from?: unknown; to?: unknown }): boolean =>
    l.event === 'region-transition' && l.region === 'us-east' && l.from === 'failback-wait' && l.to === 'available';
  let during = 0;
  while (!router.logs.some(isBack)) {
    const r = await from(router, 'US', { path: '/wait' });
    assert.equal(r.status, 200);
    if (router.logs.some(isBack)) break;
    assert.equal(r.json.region, 'eu-west', 'no traffic back before the failback delay is over');
    during++;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(during >= 3, `requests were made during the failback wait (${during})`);
  const upIdx = router.logs.indexOf(upLine);
  const availIdx = indexOfLog(router, isBack);
  assert.ok(upIdx < availIdx);
  // Ordering in the router's own log: every /wait request logged before the region was available went to eu-west.
  const waitLines = router.logs.slice(0, availIdx).filter((l) => l.msg === 'request' && l.path === '/wait');
  assert.ok(waitLines.length >= 3);
  assert.deepEqual([...new Set(waitLines.map((l) => l.region))], ['eu-west']);
  const probesBetween = router.logs
    .slice(upIdx, availIdx)
    .filter((l) => l.event === 'probe' && l.endpoint === b.url && l.ok === true).length;
  assert.ok(probesBetween >= 3, `the region stayed UP through several passing probes (${probesBetween}) before getting traffic back`);

  // After the failback: a US client is on us-east again.
  const back = await waitFor(
    async () => {
      const r = await from(router, 'US', { path: '/back' });
      return r.json.region === 'us-east' ? r : null;
    },
    5_000,
    'traffic back on us-east',
  );
  assert.equal(back.headers['x-meridian-reason'], 'country');
});
