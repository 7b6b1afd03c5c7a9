// Issue 3: retries never replay a write that may have reached a backend — a hung POST gives 504 and
// a reset POST 502, each applied exactly once — while a GET on a reset, and a POST whose connection
// was refused (provably never sent), are retried on the next region.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessLines, appliedTotal, from, ready } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let seq = 0;
const rid = (): string => `post-safety-${process.pid}-${++seq}`;

async function accessLine(router: RouterProc, id: string): Promise<Record<string, unknown>> {
  // The access log carries no request id; match on the unique path instead.
  return waitFor(() => accessLines(router).find((l) => l.path === id) ?? null, 5_000, `access line for ${id}`);
}

async function setup(t: { after(fn: () => unknown): void }, extra: string): Promise<{ world: World; router: RouterProc }> {
  const world = await startWorld();
  t.after(() => world.stop());
  const router = await startRouter(configYaml(world, extra));
  t.after(() => router.stop());
  await ready(router);
  return { world, router };
}

// Probes every minute (they cannot be the cause of anything here) and passive ejection out of reach.
const QUIET =
  'health: { interval: 1m, timeout: 500ms }\npassive: { consecutiveFailures: 100 }\ntimeouts: { connect: 1s, request: 400ms }\n';

test('a hung backend gives a POST 504 without replaying it', async (t) => {
  const { world, router } = await setup(t, QUIET);
  const id = rid();
  const r = await from(router, 'US', {
    method: 'POST',
    path: '/__hang/1',
    body: '{"pay":1}',
    headers: { 'x-request-id': id, 'content-type': 'application/json' },
  });
  assert.equal(r.status, 504);
  assert.equal(r.json.error, 'upstream_timeout');
  assert.equal(appliedTotal(world, id), 1, 'applied exactly once across all backends');
  assert.equal(world.b('us-east').applied.get(id), 1);
  const line = await accessLine(router, '/__hang/1');
  assert.equal(line.attempts, 1);
  assert.equal(line.status, 504);
});

test('a reset on a POST gives 502 without replay; a GET on a reset is retried on the next region', async (t) => {
  const { world, router } = await setup(t, QUIET);
  const id = rid();
  const r = await from(router, 'US', { method: 'POST', path: '/__reset/1', body: '{"pay":1}', headers: { 'x-request-id': id } });
  assert.equal(r.status, 502);
  assert.equal(r.json.error, 'upstream_reset');
  assert.equal(appliedTotal(world, id), 1);
  assert.equal((await accessLine(router, '/__reset/1')).attempts, 1);

  // us-east resets every live request: a GET moves on to eu-west and succeeds.
  world.b('us-east').trafficMode = 'reset';
  const gid = rid();
  const g = await from(router, 'US', { path: '/get-after-reset', headers: { 'x-request-id': gid } });
  assert.equal(g.status, 200);
  assert.equal(g.json.region, 'eu-west');
  assert.equal(g.headers['x-meridian-reason'], 'failover');
  assert.equal(world.b('us-east').applied.get(gid), 1, 'the first try reached us-east');
  assert.equal(world.b('eu-west').applied.get(gid), 1);
  const gl = await accessLine(router, '/get-after-reset');
  assert.deepEqual([gl.status, gl.region, gl.attempts], [200, 'eu-west', 2]);

  // The same failure on a POST is not retried.
  const pid = rid();
  const p = await from(router, 'US', { method: 'POST', path: '/post-after-reset', body: 'x', headers: { 'x-request-id': pid } });
  assert.equal(p.status, 502);
  assert.equal(appliedTotal(world, pid), 1);
  assert.equal(world.b('eu-west').applied.get(pid), undefined);
});

test('a POST whose connection is refused is retried on the next region, and applied once', async (t) => {
  const { world, router } = await setup(t, QUIET);
  // us-east is UP by its first probe; the next probe is up to a minute away, so the router still
  // believes in it when its listener disappears.
  await world.b('us-east').kill();
  const id = rid();
  const r = await from(router, 'US', { method: 'POST', path: '/refused', body: '{"pay":1}', headers: { 'x-request-id': id } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.region, 'eu-west');
  assert.equal(appliedTotal(world, id), 1);
  assert.equal(world.b('eu-west').applied.get(id), 1);
  assert.equal(r.json.bodyBytes, 9, 'the buffered body was resent whole');
  const line = await accessLine(router, '/refused');
  assert.deepEqual([line.status, line.region, line.attempts], [200, 'eu-west', 2]);
  assert.equal(
    router.logs.some((l) => l.event === 'endpoint-transition' && l.to === 'down'),
    false,
    'probes were not involved',
  );
});
