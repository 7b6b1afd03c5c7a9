// Issue 3 write region: automatic failover skips a region lagging past maxLag and fails back after
// failbackDelay; manual failover answers writes 503 until an operator (with the token) picks a region.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { from, metrics, ready, sample, state } from '../helpers/failover.js';
import { admin, startRouter, waitFor } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

const HEALTH = 'health: { interval: 100ms, timeout: 80ms, unhealthyThreshold: 3, healthyThreshold: 2, failbackDelay: 1s }\n';
const ROUTES = 'routes:\n  - name: app\n    match: { pathPrefix: / }\n    mode: read-local-write-global\n';

test('automatic write failover skips the region lagging past maxLag; automatic failback after failbackDelay', async (t) => {
  const world = await startWorld(['us-east', 'eu-west', 'ap-southeast'], 1, { 'us-east': 0, 'eu-west': 9, 'ap-southeast': 1 });
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      `${HEALTH}writes:\n  regions: [us-east, eu-west, ap-southeast]\n  maxLag: 5s\n  failover: automatic\n  failback: automatic\n${ROUTES}`,
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  await router.waitForLog((l) => l.event === 'write-region' && l.to === 'us-east');

  const w0 = await from(router, 'DE', { method: 'POST', path: '/orders', body: '{}' });
  assert.equal(w0.status, 200);
  assert.equal(w0.json.region, 'us-east');
  assert.equal(w0.headers['x-meridian-reason'], 'write-primary');
  let m = await metrics(router);
  assert.equal(sample(m, 'meridian_write_region', { region: 'us-east' }), 1);
  assert.equal(sample(m, 'meridian_write_region', { region: 'eu-west' }), 0);
  await waitFor(
    async () => sample(await metrics(router), 'meridian_replication_lag_seconds', { region: 'eu-west' }) === 9,
    5_000,
    'lag gauge',
  );
  assert.equal(sample(await metrics(router), 'meridian_replication_lag_seconds', { region: 'ap-southeast' }), 1);

  await world.b('us-east').kill();
  const change = await router.waitForLog((l) => l.event === 'write-region' && l.from === 'us-east', 10_000);
  assert.equal(change.to, 'ap-southeast', 'eu-west (9s behind, maxLag 5s) is skipped');

  for (let i = 0; i < 5; i++) {
    const w = await from(router, 'DE', { method: 'POST', path: '/orders', body: `{"i":${i}}` });
    assert.equal(w.status, 200);
    assert.equal(w.json.region, 'ap-southeast');
  }
  assert.equal(world.b('eu-west').countByMethod().POST ?? 0, 0, 'the lagging region took no write');
  const r = await from(router, 'DE', { path: '/orders' });
  assert.equal(r.json.region, 'eu-west', 'reads stay local');

  const s = await state(router);
  assert.equal(s.writeRegion.region, 'ap-southeast');
  assert.match(s.writeRegion.reason, /us-east unavailable/);
  assert.match(s.writeRegion.reason, /ap-southeast/);
  const cand = Object.fromEntries(s.writeRegion.candidates.map((c: { region: string }) => [c.region, c]));
  assert.deepEqual([cand['eu-west'].lagMs, cand['eu-west'].qualifies], [9000, false]);
  assert.deepEqual([cand['ap-southeast'].lagMs, cand['ap-southeast'].qualifies], [1000, true]);
  assert.equal(cand['us-east'].available, false);

  m = await metrics(router);
  assert.equal(sample(m, 'meridian_write_region', { region: 'ap-southeast' }), 1);
  assert.equal(sample(m, 'meridian_write_region', { region: 'us-east' }), 0);
  assert.equal(sample(m, 'meridian_write_region_changes_total', { from: 'us-east', to: 'ap-southeast' }), 1);
  assert.ok((sample(m, 'meridian_region_transitions_total', { region: 'us-east', from: 'available' }) ?? 0) >= 1);

  // Failback: us-east comes back; writes return only after its failback delay.
  await world.b('us-east').revive();
  const back = await router.waitForLog((l) => l.event === 'write-region' && l.to === 'us-east' && l.from === 'ap-southeast', 10_000);
  assert.match(String(back.reason), /failback/);
  const waitIdx = router.logs.findIndex((l) => l.event === 'region-transition' && l.region === 'us-east' && l.to === 'failback-wait');
  assert.ok(waitIdx >= 0 && waitIdx < router.logs.indexOf(back), 'the failback waited for failbackDelay');
  const w2 = await from(router, 'DE', { method: 'POST', path: '/orders', body: '{}' });
  assert.equal(w2.json.region, 'us-east');
});

test('manual write failover: 503 until an operator with the token picks an available region; manual failback', async (t) => {
  const world = await startWorld(['us-east', 'eu-west']);
  t.after(() => world.stop());
  const yaml = configYaml(
    world,
    `${HEALTH}writes:\n  regions: [us-east, eu-west]\n  failover: manual\n  failback: manual\n${ROUTES}`,
  ).replace('admin:\n  listen: 127.0.0.1:0\n', 'admin:\n  listen: 127.0.0.1:0\n  token: s3cret-token\n');
  const router = await startRouter(yaml);
  t.after(() => router.stop());
  await ready(router);
  await router.waitForLog((l) => l.event === 'write-region' && l.to === 'us-east');

  await world.b('us-east').kill();
  const lost = await router.waitForLog((l) => l.event === 'write-region' && l.from === 'us-east', 10_000);
  assert.equal(lost.to, null, 'manual failover does not move writes on its own');
  const w = await from(router, 'DE', { method: 'POST', path: '/orders', body: '{}' });
  assert.equal(w.status, 503);
  assert.equal(w.json.error, 'no_write_region');
  assert.ok(Number(w.headers['retry-after']) >= 1);
  assert.equal(world.b('eu-west').countByMethod().POST ?? 0, 0);
  assert.equal((await from(router, 'DE', { path: '/orders' })).json.region, 'eu-west', 'reads keep working');

  const body = (region: string): string => JSON.stringify({ region });
  assert.equal((await admin(router, 'POST', '/admin/write-region', undefined, body('eu-west'))).status, 401);
  assert.equal((await admin(router, 'POST', '/admin/write-region', 'wrong-token', body('eu-west'))).status, 401);
  assert.equal((await state(router)).writeRegion.region, null, 'unauthenticated calls change nothing');
  const unknown = await admin(router, 'POST', '/admin/write-region', 's3cret-token', body('mars'));
  assert.equal(unknown.status, 400);
  assert.match(unknown.text, /unknown region/);
  const unavailable = await admin(router, 'POST', '/admin/write-region', 's3cret-token', body('us-east'));
  assert.equal(unavailable.status, 400);
  assert.match(unavailable.text, /unavailable/);

  const ok = await admin(router, 'POST', '/admin/write-region', 's3cret-token', body('eu-west'));
  assert.equal(ok.status, 200);
  await router.waitForLog((l) => l.event === 'write-region' && l.to === 'eu-west');
  const w2 = await from(router, 'DE', { method: 'POST', path: '/orders', body: '{}' });
  assert.equal(w2.status, 200);
  assert.equal(w2.json.region, 'eu-west');
  const s = await state(router);
  assert.equal(s.writeRegion.region, 'eu-west');
  assert.equal(s.writeRegion.operator, true);
  assert.equal(sample(await metrics(router), 'meridian_write_region', { region: 'eu-west' }), 1);

  // failback: manual — us-east recovers fully (failback delay over) and writes stay on eu-west.
  await world.b('us-east').revive();
  await router.waitForLog(
    (l) => l.event === 'region-transition' && l.region === 'us-east' && l.from === 'failback-wait' && l.to === 'available',
    10_000,
  );
  assert.equal((await state(router)).writeRegion.region, 'eu-west');
  assert.equal((await from(router, 'DE', { method: 'POST', path: '/orders', body: '{}' })).json.region, 'eu-west');
  assert.equal((await from(router, 'US', { path: '/orders' })).json.region, 'us-east', 'reads are back on us-east');
  assert.equal(router.logs.filter((l) => l.event === 'write-region' && l.to === 'us-east').length, 1, 'no automatic failback');
  // The operator moves writes back.
  assert.equal((await admin(router, 'POST', '/admin/write-region', 's3cret-token', body('us-east'))).status, 200);
  assert.equal((await from(router, 'DE', { method: 'POST', path: '/orders', body: '{}' })).json.region, 'us-east');
});
