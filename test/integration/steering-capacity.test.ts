// regions[].maxInFlight from outside: with a slow region at its limit, new requests that prefer it
// spill over to the next candidate (reason `spillover`) instead of queueing; when no other region
// may take them (residency), they are served where they are, never refused for capacity alone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { from, metrics, ready, sample } from '../helpers/failover.js';
import { startRouter, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;

before(async () => {
  world = await startWorld(['us-east', 'eu-west']);
  const yaml = configYaml(
    world,
    `health: { interval: 200ms, timeout: 150ms }
residency:
  - name: gdpr
    countries: [EU]
    regions: [eu-west]
`,
  )
    .split('\n')
    // eu-west's endpoints line gets a maxInFlight line after it
    .flatMap((line) => (line.includes(world.b('eu-west').url) ? [line, '    maxInFlight: 2'] : [line]))
    .join('\n');
  assert.match(yaml, /maxInFlight: 2/);
  router = await startRouter(yaml);
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('at maxInFlight, new requests spill over to the next region; below it they stay', async () => {
  // British clients (not EU-flagged in the GeoIP data, so under no residency rule) prefer eu-west.
  assert.equal((await from(router, 'GB', { path: '/quick' })).headers['x-meridian-region'], 'eu-west');
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => from(router, 'GB', { path: `/__slow/1500?i=${i}` })));
  assert.ok(
    answers.every((a) => a.status === 200),
    answers.map((a) => a.status).join(' '),
  );
  const byRegion = (r: string) => answers.filter((a) => a.headers['x-meridian-region'] === r);
  assert.equal(byRegion('eu-west').length, 2, 'eu-west took exactly its maxInFlight');
  assert.equal(byRegion('us-east').length, 4);
  for (const a of byRegion('us-east')) assert.equal(a.headers['x-meridian-reason'], 'spillover');
  const m = await metrics(router);
  assert.equal(sample(m, 'meridian_requests_total', { region: 'us-east', reason: 'spillover' }), 4);
  // Once the slow requests are done, eu-west takes its clients again.
  assert.equal((await from(router, 'GB', { path: '/quick' })).headers['x-meridian-region'], 'eu-west');
});

test('with no other allowed region, a full region still serves: capacity alone never refuses', async () => {
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => from(router, 'DE', { path: `/__slow/1000?i=${i}` })));
  for (const a of answers) {
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers['x-meridian-region'], 'eu-west', 'residency holds: nothing spills to us-east');
  }
});
