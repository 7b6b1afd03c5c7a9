// Which live failures eject: upstream-origin ones only, and among statuses only passive.statuses
// (default 502, 503, 504). An application 500 on one path is the application's answer, not a sign
// the region is broken. And passive ejection never moves the write region: only probes do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { worldAndRouter } from '../helpers/edge.js';
import { from, metrics, sample, state } from '../helpers/failover.js';
import { waitFor } from '../helpers/router-process.js';

const fx = worldAndRouter(
  ['us-east', 'eu-west'],
  `health: { interval: 1m, timeout: 500ms }
passive: { consecutiveFailures: 3, ejectFor: 1m }
retry: { attempts: 0 }
writes: { regions: [us-east, eu-west] }
routes:
  - { name: app, mode: read-local-write-global }
`,
);

test('application 500s on one path do not eject the region', async () => {
  for (let i = 0; i < 6; i++) {
    const r = await from(fx.router, 'US', { path: '/__status/500' });
    assert.equal(r.status, 500);
    assert.equal(r.json.region, 'us-east');
  }
  assert.equal(
    fx.router.logs.some((l) => l.event === 'ejected'),
    false,
    'a 500 is not in passive.statuses',
  );
  assert.equal((await from(fx.router, 'US', { path: '/ok' })).json.region, 'us-east');
});

test('503s eject, but the write region stays where the probes put it; writes get 503 meanwhile', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await from(fx.router, 'US', { path: '/__status/503' })).status, 503);
  await fx.router.waitForLog((l) => l.event === 'ejected' && l.region === 'us-east', 5_000);
  // Reads fail over to eu-west…
  assert.equal((await from(fx.router, 'US', { path: '/read' })).json.region, 'eu-west');
  // …the write region does not move: passive ejection is a few clients' view, not the probes'.
  const s = await state(fx.router);
  assert.equal(s.writeRegion.region, 'us-east');
  assert.equal(
    fx.router.logs.some((l) => l.event === 'write-region' && l.from !== null),
    false,
  );
  const w = await from(fx.router, 'US', { method: 'POST', path: '/write', body: 'x' });
  assert.equal(w.status, 503, 'writes are not sent to another region');
  assert.equal(fx.world.b('eu-west').countByMethod().POST ?? 0, 0);
  await waitFor(
    async () => sample(await metrics(fx.router), 'meridian_write_region', { region: 'us-east' }) === 1,
    5_000,
    'write region metric',
  );
});
