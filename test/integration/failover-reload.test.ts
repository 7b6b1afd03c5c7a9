// Issue 3: health state is keyed by endpoint URL and survives a config reload (SIGHUP) for the
// endpoints that did not change — a drained region stays drained, a DOWN endpoint stays DOWN, the
// write region stays — and the state gauges keep saying so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { from, metrics, ready, regionStatus, sample, state } from '../helpers/failover.js';
import { admin, startRouter, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
const yaml = (attempts: number): string =>
  configYaml(
    world,
    `health: { interval: 100ms, timeout: 80ms, failbackDelay: 30s }\nwrites: { regions: [us-east, eu-west] }\nretry: { attempts: ${attempts} }\n`,
  );
before(async () => {
  world = await startWorld();
  router = await startRouter(yaml(2));
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

type Region = {
  name: string;
  status: string;
  drained: boolean;
  endpoints: { url: string; state: string; probes: number; consecutiveFailures: number }[];
};
const region = (s: { regions: Region[] }, name: string): Region => s.regions.find((r) => r.name === name)!;

test('SIGHUP with the same endpoints keeps drained and DOWN regions, endpoint state and the write region', async () => {
  assert.equal((await admin(router, 'POST', '/admin/regions/eu-west/drain')).status, 200);
  world.b('ap-southeast').healthMode = 'fail';
  await regionStatus(router, 'ap-southeast', 'unavailable');
  await regionStatus(router, 'eu-west', 'drained');
  const s0 = await state(router);
  const usProbes = region(s0, 'us-east').endpoints[0]!.probes;

  const logsBefore = router.logs.length;
  router.writeConfig(yaml(3)); // a harmless change
  router.proc.kill('SIGHUP');
  const reloaded = await router.waitForLog((l) => l.event === 'reload' && router.logs.indexOf(l) >= logsBefore, 5_000);
  assert.equal(reloaded.result, 'success');

  const s1 = await state(router);
  assert.equal(region(s1, 'eu-west').drained, true);
  assert.equal(region(s1, 'eu-west').status, 'drained');
  assert.equal(region(s1, 'ap-southeast').status, 'unavailable');
  assert.equal(region(s1, 'ap-southeast').endpoints[0]!.state, 'down', 'the DOWN endpoint is still DOWN, not unknown');
  assert.ok(region(s1, 'us-east').endpoints[0]!.probes >= usProbes, 'probe history kept');
  assert.equal(region(s1, 'us-east').endpoints[0]!.state, 'up');
  assert.equal(s1.writeRegion.region, 'us-east');
  // No state was reset: no transition out of 'unknown' after the reload.
  const since = router.logs.slice(logsBefore);
  assert.deepEqual(
    since.filter(
      (l) => (l.event === 'region-transition' || l.event === 'endpoint-transition') && (l.from === 'unknown' || l.to === 'unknown'),
    ),
    [],
  );
  assert.deepEqual(
    since.filter((l) => l.event === 'write-region' || l.event === 'drain'),
    [],
  );
  // Routing agrees: German clients skip drained eu-west, Singapore skips DOWN ap-southeast.
  assert.equal((await from(router, 'DE', { path: '/x' })).json.region, 'us-east');
  assert.equal((await from(router, 'SG', { path: '/x' })).json.region, 'us-east');

  // The state gauges were not reset by the reload.
  const m = await metrics(router);
  assert.equal(sample(m, 'meridian_region_drained', { region: 'eu-west' }), 1, 'drained gauge survives the reload');
  assert.equal(sample(m, 'meridian_write_region', { region: 'us-east' }), 1, 'write region gauge survives the reload');
  assert.equal(sample(m, 'meridian_region_up', { region: 'ap-southeast' }), 0);
  assert.equal(sample(m, 'meridian_config_reloads_total', { result: 'success' }), 1);
});
