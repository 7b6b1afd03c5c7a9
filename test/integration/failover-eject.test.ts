// Issue 3 passive ejection: live 5xx eject an endpoint before any probe could notice (probes every
// minute, and they pass), so the region is routed around at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { accessLines, from, metrics, ready, sample, state } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const FAILURES = 3;
let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld();
  router = await startRouter(
    configYaml(world, `health: { interval: 1m, timeout: 500ms }\npassive: { consecutiveFailures: ${FAILURES}, ejectFor: 30s }\n`),
  );
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('live 503s eject us-east after passive.consecutiveFailures and traffic goes to the next region', async () => {
  const us = world.b('us-east');
  assert.equal((await from(router, 'US', { path: '/e' })).json.region, 'us-east');
  us.trafficMode = 'fail'; // every live request answers 503; its health checks still pass
  const checksBefore = us.healthChecks;

  for (let i = 0; i < FAILURES; i++) {
    assert.equal(
      router.logs.some((l) => l.event === 'ejected'),
      false,
      `not ejected after ${i} failures`,
    );
    const r = await from(router, 'US', { path: `/fail${i}` });
    assert.equal(r.status, 200, 'the 503 was retried on eu-west: the client never sees it');
    assert.equal(r.json.region, 'eu-west');
  }
  const ej = await router.waitForLog((l) => l.event === 'ejected', 5_000);
  assert.equal(ej.endpoint, us.url);
  assert.equal(ej.region, 'us-east');
  const ejIdx = router.logs.indexOf(ej);
  await waitFor(() => accessLines(router).filter((l) => String(l.path).startsWith('/fail')).length === FAILURES, 5_000, 'access lines');
  for (const l of accessLines(router).filter((x) => String(x.path).startsWith('/fail')))
    assert.equal(l.attempts, 2, 'each of those requests was retried');

  // After the ejection: straight to eu-west, us-east sees nothing more.
  const usSeen = us.requests.length;
  for (let i = 0; i < 5; i++) {
    const r = await from(router, 'US', { path: `/after${i}` });
    assert.equal(r.status, 200);
    assert.equal(r.json.region, 'eu-west');
    assert.equal(r.headers['x-meridian-reason'], 'failover');
  }
  assert.equal(us.requests.length, usSeen, 'no request reached the ejected endpoint');
  await waitFor(() => accessLines(router).filter((l) => String(l.path).startsWith('/after')).length === 5, 5_000, 'access lines');
  for (const l of accessLines(router).filter((x) => String(x.path).startsWith('/after'))) assert.equal(l.attempts, 1);

  // The probes had nothing to do with it: they keep passing, and no DOWN transition happened.
  assert.ok(us.healthChecks - checksBefore <= 1);
  assert.equal(
    router.logs.some((l) => l.event === 'endpoint-transition' && l.to === 'down'),
    false,
  );
  const rt = router.logs.find((l) => l.event === 'region-transition' && l.region === 'us-east' && l.from === 'available');
  assert.ok(rt && router.logs.indexOf(rt) >= ejIdx - 1, 'the region left service through the ejection');
  assert.equal(rt.to, 'ejected');
  const s = await state(router);
  const ep = s.regions.find((r: { name: string }) => r.name === 'us-east').endpoints[0];
  assert.deepEqual([ep.state, ep.ejected, ep.ejections], ['up', true, 1]);
  const m = await metrics(router);
  assert.equal(sample(m, 'meridian_ejections_total', { region: 'us-east', endpoint: us.url }), 1);
  assert.equal(sample(m, 'meridian_retries_total', { from: 'us-east', to: 'eu-west', reason: 'status' }), FAILURES);
});
