// Issue 3: the retry budget stops retries when spent; allDown reject answers 503 + Retry-After and
// allDown try sends to the first preference anyway.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessLines, from, metrics, ready, regionStatus, sample } from '../helpers/failover.js';
import { startRouter, waitFor } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

test('retry budget 0 with no floor: a failure is answered, not retried, and the denial is counted', async (t) => {
  const world = await startWorld();
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      'health: { interval: 1m, timeout: 500ms }\npassive: { consecutiveFailures: 100 }\nretry: { attempts: 2, budget: 0, budgetMinPerWindow: 0 }\n',
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  world.b('us-east').trafficMode = 'fail';
  for (let i = 0; i < 3; i++) {
    const r = await from(router, 'US', { path: `/b${i}` });
    assert.equal(r.status, 503, 'the backend 503 is relayed: no budget to retry it');
    assert.equal(r.headers['x-backend-region'], 'us-east');
  }
  assert.equal(world.b('eu-west').requests.length, 0, 'no retry reached eu-west');
  const m = await metrics(router);
  assert.equal(sample(m, 'meridian_retries_denied_total'), 3);
  assert.equal(
    sample(m, 'meridian_retries_total', { from: 'us-east', to: 'eu-west', reason: 'status' }),
    0,
    'seeded at 0, never incremented',
  );
  const lines = await waitFor(
    () => {
      const x = accessLines(router).filter((l) => String(l.path).startsWith('/b'));
      return x.length === 3 ? x : null;
    },
    5_000,
    'access lines',
  );
  assert.ok(lines.every((l) => l.attempts === 1 && l.status === 503));
});

test('a budget floor still allows retries (the contrast case)', async (t) => {
  const world = await startWorld(['us-east', 'eu-west']);
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      'health: { interval: 1m, timeout: 500ms }\npassive: { consecutiveFailures: 100 }\nretry: { budget: 0, budgetMinPerWindow: 2, budgetWindow: 1m }\n',
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  world.b('us-east').trafficMode = 'fail';
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await from(router, 'US', { path: `/f${i}` })).status);
  assert.deepEqual(statuses, [200, 200, 503, 503], 'two retries per window, then none');
  assert.equal(sample(await metrics(router), 'meridian_retries_denied_total'), 2);
});

test('allDown: reject answers 503 with Retry-After; allDown: try sends to the first preference anyway', async (t) => {
  const world = await startWorld();
  t.after(() => world.stop());
  const base = 'health: { interval: 100ms, timeout: 80ms }\n';
  const reject = await startRouter(configYaml(world, `${base}allDown: reject\n`));
  t.after(() => reject.stop());
  const tryer = await startRouter(configYaml(world, `${base}allDown: try\n`));
  t.after(() => tryer.stop());
  await ready(reject);
  await ready(tryer);

  // Every region fails its probes; live traffic would still be answered.
  for (const b of world.backends.values()) b[0]!.healthMode = 'fail';
  for (const router of [reject, tryer])
    for (const r of ['us-east', 'eu-west', 'ap-southeast']) await regionStatus(router, r, 'unavailable');

  const before = world.b('eu-west').requests.length;
  const no = await from(reject, 'DE', { path: '/down' });
  assert.equal(no.status, 503);
  assert.equal(no.json.error, 'all_down');
  assert.ok(Number(no.headers['retry-after']) >= 1);
  assert.equal(no.headers['x-meridian-reason'], 'all-down');
  assert.equal(world.b('eu-west').requests.length, before, 'reject sends nothing upstream');

  const yes = await from(tryer, 'DE', { path: '/down' });
  assert.equal(yes.status, 200);
  assert.equal(yes.json.region, 'eu-west', 'the first preference of a German client');
  assert.equal(yes.headers['x-meridian-reason'], 'all-down');
  const sg = await from(tryer, 'SG', { path: '/down' });
  assert.equal(sg.json.region, 'ap-southeast');
});
