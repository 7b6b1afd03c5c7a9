// Issue 3 anti-flap: a backend whose probes alternate 3 fails / 3 passes moves traffic away at most
// once and never bounces it back while it flaps (failback delay + flap damping).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { accessLines, from, ready, state } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld();
  router = await startRouter(
    configYaml(
      world,
      'health: { interval: 100ms, timeout: 80ms, jitter: 0s, unhealthyThreshold: 3, healthyThreshold: 2, failbackDelay: 1s }\n',
    ),
  );
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('a backend flapping in 3-probe cycles moves traffic away at most once and never back', async () => {
  const b = world.b('us-east');
  assert.equal((await from(router, 'US', { path: '/flap' })).json.region, 'us-east');

  // Drive the flapping by the backend's own probe count: this listener runs before the backend's
  // handler, so probe n (counted from now) sees 'fail' for n = 0,1,2, 'ok' for 3,4,5, and so on.
  let n = 0;
  const CYCLES = 6;
  const flapper = (req: IncomingMessage): void => {
    if (req.url !== '/health') return;
    b.healthMode = n < CYCLES * 6 && Math.floor(n / 3) % 2 === 0 ? 'fail' : 'ok';
    n++;
  };
  b.server.prependListener('request', flapper);
  try {
    const seen: string[] = [];
    while (n < CYCLES * 6) {
      const r = await from(router, 'US', { path: '/flap' });
      assert.equal(r.status, 200);
      seen.push(r.json.region);
      await new Promise((res) => setTimeout(res, 15));
    }
    // Collapse consecutive duplicates: the region sequence a US client saw while the backend flapped.
    const moves = seen.filter((r, i) => i === 0 || r !== seen[i - 1]);
    assert.ok(moves.length <= 2, `traffic moved more than once: ${moves.join(' -> ')}`);
    assert.deepEqual(moves, ['us-east', 'eu-west'], 'traffic moved away once (the backend did go DOWN)');

    const downs = router.logs.filter((l) => l.event === 'endpoint-transition' && l.endpoint === b.url && l.to === 'down').length;
    assert.ok(downs >= 3, `the endpoint flapped DOWN repeatedly (${downs})`);
    // The router's own log agrees: after the first /flap request on eu-west, none went back to us-east.
    // Access lines are written in batches (up to 50 ms late): wait for every /flap request's line
    // (the one before the flapping started, and one per request in `seen`).
    const lines = await waitFor(
      () => {
        const x = accessLines(router).filter((l) => l.path === '/flap');
        return x.length === seen.length + 1 ? x : null;
      },
      5_000,
      'an access line for every /flap request',
    );
    const firstAway = lines.findIndex((l) => l.region === 'eu-west');
    assert.ok(firstAway > 0);
    assert.equal(lines.slice(firstAway).filter((l) => l.region === 'us-east').length, 0);
    // The region never became available again during the flapping.
    const backs = router.logs.filter(
      (l) => l.event === 'region-transition' && l.region === 'us-east' && l.to === 'available' && l.from !== 'unknown',
    );
    assert.deepEqual(backs, []);
    // Damping: the third DOWN within one half-life suppresses the region.
    const sup = await router.waitForLog((l) => l.event === 'suppression' && l.region === 'us-east' && l.suppressed === true, 5_000);
    assert.ok(Number(sup.penalty) > 2500);
  } finally {
    b.server.off('request', flapper);
  }
  // Flapping is over and the probes pass, yet the region stays suppressed (the penalty must decay).
  b.healthMode = 'ok';
  await router.waitForLog(
    (l) =>
      l.event === 'endpoint-transition' &&
      l.endpoint === b.url &&
      l.to === 'up' &&
      router.logs.indexOf(l) > router.logs.findIndex((x) => x.event === 'suppression'),
    5_000,
  );
  const s = await state(router);
  const us = s.regions.find((r: { name: string }) => r.name === 'us-east');
  assert.equal(us.suppressed, true);
  assert.equal(us.available, false);
  assert.equal((await from(router, 'US', { path: '/after' })).json.region, 'eu-west');
});
