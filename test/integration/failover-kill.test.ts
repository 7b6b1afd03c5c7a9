// Issue 3: a region dies hard under load — no client sees an error, and traffic moves to the next
// nearest region; losing one of two endpoints keeps the region serving.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessLines, appliedTotal, from, load, metrics, ready, sample } from '../helpers/failover.js';
import { startRouter, waitFor } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

const HEALTH = 'health: { interval: 100ms, timeout: 80ms, unhealthyThreshold: 3, healthyThreshold: 2, failbackDelay: 30s }\n';

test('killing us-east under concurrent GET load: zero failed requests, every request after the shift served by eu-west', async (t) => {
  const world = await startWorld();
  t.after(() => world.stop());
  const router = await startRouter(configYaml(world, HEALTH));
  t.after(() => router.stop());
  await ready(router);

  const us = await from(router, 'US', { path: '/warm' });
  assert.equal(us.json.region, 'us-east', 'a US client starts on us-east');

  const l = load(router, 'US', { concurrency: 8 });
  // Stopped however the test ends: a failed assertion must not leave request loops running.
  t.after(() => l.stop());
  // A little POST load alongside: a write may fail when the region dies under it, never apply twice.
  const posts: { id: string; status: number }[] = [];
  let posting = true;
  const postLoop = async (k: number): Promise<void> => {
    for (let i = 0; posting; i++) {
      const id = `kill-${process.pid}-${k}-${i}`;
      const a = await from(router, 'US', { method: 'POST', path: '/write', body: '{"n":1}', headers: { 'x-request-id': id } }).catch(
        () => ({ status: 0 }),
      );
      posts.push({ id, status: a.status });
    }
  };
  const postLoops = [postLoop(0), postLoop(1)];
  t.after(() => {
    posting = false;
    return Promise.all(postLoops);
  });
  await waitFor(() => l.results.filter((r) => r.region === 'us-east').length >= 100, 10_000, 'warm-up load on us-east');
  await world.b('us-east').kill();
  // The shift: us-east stops being available (passive ejection or probes, whichever is first).
  await router.waitForLog((x) => x.event === 'region-transition' && x.region === 'us-east' && x.from === 'available', 10_000);
  const shiftSeen = performance.now();
  // ...and both detections must have happened (the prober takes the dead endpoint DOWN too).
  await router.waitForLog((x) => x.event === 'endpoint-transition' && x.region === 'us-east' && x.to === 'down', 10_000);
  await waitFor(() => l.results.filter((r) => r.start > shiftSeen).length >= 200, 10_000, 'load after the shift');
  const results = await l.stop();
  posting = false;
  await Promise.all(postLoops);

  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed`);
  assert.ok(posts.length >= 20);
  const twice = posts.filter((p) => appliedTotal(world, p.id) > 1);
  assert.deepEqual(twice, [], 'no POST applied twice');
  const lost = posts.filter((p) => p.status === 200 && appliedTotal(world, p.id) !== 1);
  assert.deepEqual(lost, [], 'every answered POST was applied exactly once');
  assert.ok(
    posts.every((p) => p.status === 200 || p.status === 502),
    `POST statuses: ${[...new Set(posts.map((p) => p.status))]}`,
  );
  const after = results.filter((r) => r.start > shiftSeen);
  assert.ok(after.length >= 200);
  const elsewhere = after.filter((r) => r.region !== 'eu-west');
  assert.deepEqual(elsewhere.slice(0, 5), [], 'every request started after the shift is served by eu-west (next nearest to the US)');
  assert.ok(
    results.some((r) => r.region === 'us-east'),
    'load was on us-east before the kill',
  );
  assert.equal(world.b('ap-southeast').requests.length, 0, 'the farther region got nothing');

  // Requests caught by the kill were retried on eu-west, and that shows in the log and the metrics.
  await waitFor(
    () => accessLines(router).some((x) => x.path === '/load' && x.region === 'eu-west' && Number(x.attempts) >= 2),
    5_000,
    'some requests needed a retry and it shows as attempts in the access log',
  );
  const m = await metrics(router);
  const retries = ['connect', 'reset', 'status', 'timeout'].reduce(
    (n, reason) => n + (sample(m, 'meridian_retries_total', { from: 'us-east', to: 'eu-west', reason }) ?? 0),
    0,
  );
  assert.ok(retries >= 1, 'meridian_retries_total{from="us-east",to="eu-west"} counts the retries');
  assert.ok(
    (sample(m, 'meridian_endpoint_transitions_total', { region: 'us-east', endpoint: world.b('us-east').url, from: 'up', to: 'down' }) ??
      0) >= 1,
  );
  assert.equal(sample(m, 'meridian_region_up', { region: 'us-east' }), 0);
});

test('losing one of two endpoints keeps the region serving, without errors', async (t) => {
  const world = await startWorld(['us-east', 'eu-west', 'ap-southeast'], 2);
  t.after(() => world.stop());
  const router = await startRouter(configYaml(world, HEALTH));
  t.after(() => router.stop());
  await ready(router);
  const [dead, alive] = world.backends.get('us-east')!;

  const l = load(router, 'US', { concurrency: 8 });
  t.after(() => l.stop());
  await waitFor(() => dead!.requests.length >= 20 && alive!.requests.length >= 20, 10_000, 'load on both us-east endpoints');
  await dead!.kill();
  await router.waitForLog((x) => x.event === 'endpoint-transition' && x.endpoint === dead!.url && x.to === 'down', 10_000);
  const downSeen = performance.now();
  const aliveBefore = alive!.requests.length;
  await waitFor(() => l.results.filter((r) => r.start > downSeen).length >= 200, 10_000, 'load after the endpoint went down');
  const results = await l.stop();

  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed`);
  const notUsEast = results.filter((r) => r.region !== 'us-east');
  assert.deepEqual(notUsEast.slice(0, 5), [], 'every request stayed in us-east');
  assert.ok(alive!.requests.length - aliveBefore >= 200, 'the surviving endpoint took the load');
  for (const r of ['eu-west', 'ap-southeast'])
    for (const b of world.backends.get(r)!) assert.equal(b.requests.length, 0, `${r} got no traffic`);
  assert.equal(
    router.logs.some((x) => x.event === 'region-transition' && x.region === 'us-east' && x.from === 'available'),
    false,
    'us-east never stopped being available',
  );
});
