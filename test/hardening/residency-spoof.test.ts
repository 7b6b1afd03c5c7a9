// A residency rule keyed on homeRegions binds a user by the home region hashed from the user key.
// A client that names its own home region (header or cookie) still gets routed there when the
// rule allows it, but cannot talk its way out of the rule: only a trusted proxy's explicit home
// region counts for residency.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rendezvousTop } from '../../src/routing/rendezvous.js';
import { ready } from '../helpers/failover.js';
import { request, startRouter, type RouterProc } from '../helpers/router-process.js';
import { regionsYaml, startWorld, type World } from '../helpers/world.js';

const REGIONS = ['us-east', 'eu-west'];
/** A user key whose hashed home region is eu-west. */
const EU_USER = Array.from({ length: 100 }, (_, i) => `user-${i}`).find((k) => rendezvousTop(k, REGIONS) === 'eu-west')!;

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld(REGIONS);
  // Nobody is a trusted proxy: the loopback test client is an ordinary client.
  router = await startRouter(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
clientIp: { trustedProxies: [] }
${regionsYaml(world)}health: { interval: 1m, timeout: 500ms }
residency:
  - { name: eu-users, homeRegions: [eu-west], regions: [eu-west] }
routes:
  - { name: app, mode: home }
`);
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('a user hashed to eu-west stays in eu-west whatever home region the client claims', async () => {
  assert.equal((await request(router.port, { headers: { 'x-user-id': EU_USER } })).json.region, 'eu-west');
  const byHeader = await request(router.port, { headers: { 'x-user-id': EU_USER, 'x-home-region': 'us-east' } });
  assert.equal(byHeader.status, 200);
  assert.equal(byHeader.json.region, 'eu-west', 'the claimed home region does not lift the rule');
  const byCookie = await request(router.port, { headers: { 'x-user-id': EU_USER, cookie: 'home_region=us-east' } });
  assert.equal(byCookie.json.region, 'eu-west');
  assert.equal(world.b('us-east').requests.filter((r) => r.url === '/').length, 0, 'us-east never saw the user');
});
