// Issue 3: "active-passive routes move as a whole" — reads and writes of an active-passive route
// both follow the write region, from every client location, before and after it fails over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { from, ready } from '../helpers/failover.js';
import { startRouter } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

test('an active-passive route serves reads and writes from the write region, and moves whole when it dies', async (t) => {
  const world = await startWorld(['us-east', 'eu-west', 'ap-southeast'], 1, { 'us-east': 0, 'eu-west': 0.5, 'ap-southeast': 0.2 });
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      `health: { interval: 100ms, timeout: 80ms, unhealthyThreshold: 2, healthyThreshold: 2, failbackDelay: 1s }
writes: { regions: [us-east, eu-west], maxLag: 5s, failback: manual }
routes:
  - name: payments
    match: { pathPrefix: /pay }
    mode: active-passive
  - name: default
    match: { pathPrefix: / }
    mode: active-active
`,
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  await router.waitForLog((l) => l.event === 'write-region' && l.to === 'us-east');

  // Clients near each region all land in us-east, for reads and writes alike.
  for (const country of ['DE', 'JP', 'US']) {
    for (const method of ['GET', 'POST']) {
      const r = await from(router, country, { method, path: '/pay/x', body: method === 'POST' ? '{}' : undefined });
      assert.equal(r.status, 200, `${country} ${method}`);
      assert.equal(r.json.region, 'us-east', `${country} ${method} served by the write region`);
    }
  }
  // The active-active route is unaffected: a Japanese read stays local.
  assert.equal((await from(router, 'JP', { path: '/other' })).json.region, 'ap-southeast');

  await world.b('us-east').kill();
  const change = await router.waitForLog((l) => l.event === 'write-region' && l.from === 'us-east', 10_000);
  assert.equal(change.to, 'eu-west', 'the standby (the other write candidate) takes over');

  for (const country of ['DE', 'JP', 'US']) {
    for (const method of ['GET', 'POST']) {
      const r = await from(router, country, { method, path: '/pay/x', body: method === 'POST' ? '{}' : undefined });
      assert.equal(r.status, 200, `${country} ${method} after failover`);
      assert.equal(r.json.region, 'eu-west', `${country} ${method} moved with the route`);
    }
  }
  // ap-southeast is not a write candidate: the route never lands there, even for a client next to it.
  assert.equal(world.b('ap-southeast').requests.filter((q) => q.url.startsWith('/pay')).length, 0);
});
