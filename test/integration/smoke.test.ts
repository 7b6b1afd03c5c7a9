import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clientFor } from '../helpers/clients.js';
import { request, startRouter, type RouterProc, waitReady } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld();
  router = await startRouter(configYaml(world, 'health: { interval: 200ms, timeout: 150ms }\n'));
  await waitReady(router, 5000);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('a German client is served by eu-west through the real router', async () => {
  const r = await request(router.port, { path: '/x', headers: { 'x-forwarded-for': clientFor('DE').ip } });
  assert.equal(r.status, 200);
  assert.equal(r.json.region, 'eu-west');
  assert.equal(r.headers['x-meridian-region'], 'eu-west');
  assert.equal(r.headers['x-meridian-reason'], 'nearest');
});
