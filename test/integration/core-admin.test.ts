// Issue 2: the admin listener (health, readiness, metrics, state, explain, drain/undrain with a
// token) and residency, through the real router process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rendezvousTop } from '../../src/routing/rendezvous.js';
import { clientFor } from '../helpers/clients.js';
import { asClient, coreConfig, metric } from '../helpers/core.js';
import { admin, request, startRouter, waitFor, type RouterProc, waitReady } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
const TOKEN = 'core-admin-token-4711';

let world: World;
let router: RouterProc;

before(async () => {
  world = await startWorld();
  router = await startRouter(
    coreConfig(world, {
      token: TOKEN,
      extra: `residency:
  - name: gdpr
    countries: [EU]
    regions: [eu-west]
routes:
  - name: users
    match: { pathPrefix: /users }
    mode: home
  - name: default
    match: { pathPrefix: / }
    mode: active-active
`,
    }),
  );
  await waitReady(router);
});

after(async () => {
  await router?.stop();
  await world?.stop();
});

async function metricsText(): Promise<string> {
  const r = await request(router.adminPort, { path: '/metrics' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  return r.text;
}

test('/healthz answers 200 and /readyz is 200 once probed', async () => {
  const h = await request(router.adminPort, { path: '/healthz' });
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  const r = await request(router.adminPort, { path: '/readyz' });
  assert.equal(r.status, 200);
  assert.equal(r.json.ready, true);
});

test('unknown admin paths are 404 JSON; GET on a POST resource is 405', async () => {
  const nf = await request(router.adminPort, { path: '/nope' });
  assert.equal(nf.status, 404);
  assert.equal(nf.json.error, 'not_found');
  const na = await request(router.adminPort, { path: '/admin/regions/eu-west/drain' });
  assert.equal(na.status, 405);
  assert.equal(na.json.error, 'method_not_allowed');
});

test('drain without a token or with a wrong token is refused with 401 and changes nothing', async () => {
  const none = await admin(router, 'POST', '/admin/regions/eu-west/drain');
  assert.equal(none.status, 401);
  assert.equal(none.json.error, 'unauthorized');
  assert.equal(typeof none.json.message, 'string');
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);
  const wrong = await admin(router, 'POST', '/admin/regions/eu-west/drain', 'not-the-token');
  assert.equal(wrong.status, 401);
  const reload = await admin(router, 'POST', '/admin/reload', `${TOKEN}x`);
  assert.equal(reload.status, 401);
  // Still serving from eu-west.
  const r = await asClient(router.port, clientFor('GB').ip, { path: '/x' });
  assert.equal(r.json.region, 'eu-west');
  const state = await request(router.adminPort, { path: '/admin/state' });
  assert.equal(state.json.regions.find((x: { name: string }) => x.name === 'eu-west').drained, false);
});

test('drain and undrain with the token take effect at once; unknown regions are 404', async () => {
  const gb = clientFor('GB').ip; // GB is not EU-flagged in this GeoIP data: no residency rule binds it
  const d = await admin(router, 'POST', '/admin/regions/eu-west/drain', TOKEN);
  assert.equal(d.status, 200);
  assert.deepEqual(d.json, { region: 'eu-west', drained: true });

  const moved = await asClient(router.port, gb, { path: '/after-drain' });
  assert.equal(moved.status, 200);
  assert.equal(moved.json.region, 'us-east', 'the next nearest region takes a drained region’s traffic');
  assert.equal(moved.headers['x-meridian-reason'], 'failover');
  assert.ok(!world.b('eu-west').requests.some((x) => x.url === '/after-drain'));

  const state = await request(router.adminPort, { path: '/admin/state' });
  const eu = state.json.regions.find((x: { name: string }) => x.name === 'eu-west');
  assert.equal(eu.drained, true);
  assert.equal(eu.available, false);
  assert.equal(metric(await metricsText(), 'meridian_region_drained', { region: 'eu-west' }), 1);

  // Residency: a German client may only be served by eu-west, so draining it is a 503, never a
  // silent cross-border route.
  const usBefore = world.b('us-east').requests.length;
  const de = await asClient(router.port, clientFor('DE').ip, { path: '/gdpr' });
  assert.equal(de.status, 503);
  assert.equal(de.json.error, 'residency');
  assert.equal(de.json.rule, 'gdpr');
  assert.equal(typeof de.json.message, 'string');
  assert.match(String(de.headers['retry-after']), /^[1-9]\d*$/);
  assert.match(String(de.headers['content-type']), /application\/json/);
  assert.equal(world.b('us-east').requests.length, usBefore, 'nothing crossed the border');
  assert.ok(!world.b('ap-southeast').requests.some((x) => x.url === '/gdpr'));

  const u = await admin(router, 'POST', '/admin/regions/eu-west/undrain', TOKEN);
  assert.equal(u.status, 200);
  assert.equal(u.json.region, 'eu-west');
  assert.equal(u.json.drained, false);
  assert.equal(u.json.dial.percent, 100, 'an undrain also restores the full dial');
  const back = await asClient(router.port, gb, { path: '/after-undrain' });
  assert.equal(back.json.region, 'eu-west');
  assert.equal(back.headers['x-meridian-reason'], 'nearest');
  const deBack = await asClient(router.port, clientFor('DE').ip, { path: '/gdpr' });
  assert.equal(deBack.json.region, 'eu-west');
  assert.equal(metric(await metricsText(), 'meridian_region_drained', { region: 'eu-west' }), 0);

  for (const op of ['drain', 'undrain']) {
    const nf = await admin(router, 'POST', `/admin/regions/mars-north/${op}`, TOKEN);
    assert.equal(nf.status, 404);
    assert.equal(nf.json.error, 'unknown_region');
  }
  // A malformed %-escape names no region either (it used to be a 500 'URI malformed').
  const bad = await admin(router, 'POST', '/admin/regions/%E0%A4%A/drain', TOKEN);
  assert.equal(bad.status, 404);
  assert.equal(bad.json.error, 'unknown_region');
  const drainLog = await router.waitForLog((l) => l.event === 'drain' && l.region === 'eu-west');
  assert.ok(drainLog);
});

test('residency: a German user whose home hashes elsewhere is still served by eu-west', async () => {
  let user = '';
  for (let i = 0; user === ''; i++) if (rendezvousTop(`gdpr-${i}`, REGIONS) === 'ap-southeast') user = `gdpr-${i}`;
  const de = await asClient(router.port, clientFor('DE').ip, { path: '/users/me', headers: { 'x-user-id': user } });
  assert.equal(de.status, 200);
  assert.equal(de.json.region, 'eu-west');
  assert.equal(de.headers['x-meridian-reason'], 'residency');
  // The same user from Japan (no rule binds) goes to the hashed home.
  const jp = await asClient(router.port, clientFor('JP').ip, { path: '/users/me', headers: { 'x-user-id': user } });
  assert.equal(jp.json.region, 'ap-southeast');
  assert.equal(jp.headers['x-meridian-reason'], 'home-hash');
});

test('/admin/explain shows the decision for ip, method, path and userKey', async () => {
  const q = (p: Record<string, string>): Promise<{ status: number; json: any }> =>
    request(router.adminPort, { path: `/admin/explain?${new URLSearchParams(p)}` });
  const jp = await q({ ip: clientFor('JP').ip, method: 'GET', path: '/x' });
  assert.equal(jp.status, 200);
  assert.equal(jp.json.region, 'ap-southeast');
  assert.equal(jp.json.reason, 'nearest');
  assert.equal(jp.json.route.name, 'default');
  assert.equal(jp.json.client.country, 'JP');
  assert.deepEqual(jp.json.candidates, ['ap-southeast', 'eu-west', 'us-east']);
  assert.equal(jp.json.preference[0].region, 'ap-southeast');
  assert.ok(jp.json.preference[0].distanceKm > 4000 && jp.json.preference[0].distanceKm < 6000, String(jp.json.preference[0].distanceKm));

  let user = '';
  for (let i = 0; user === ''; i++) if (rendezvousTop(`explain-${i}`, REGIONS) === 'us-east') user = `explain-${i}`;
  const home = await q({ ip: clientFor('JP').ip, method: 'POST', path: '/users/1', userKey: user });
  assert.equal(home.json.route.name, 'users');
  assert.equal(home.json.kind, 'write');
  assert.equal(home.json.selector, 'home');
  assert.equal(home.json.region, 'us-east');
  assert.equal(home.json.reason, 'home-hash');
  const gdpr = await q({ ip: clientFor('DE').ip, path: '/users/1', userKey: user });
  assert.equal(gdpr.json.region, 'eu-west');
  assert.equal(gdpr.json.residencyRule, 'gdpr');
  assert.deepEqual(gdpr.json.candidates, ['eu-west']);
});

test('/admin/state lists every region with its endpoints and state', async () => {
  const s = await request(router.adminPort, { path: '/admin/state' });
  assert.equal(s.status, 200);
  assert.equal(s.json.config, router.configFile);
  assert.deepEqual(
    s.json.regions.map((r: { name: string }) => r.name),
    REGIONS,
  );
  for (const r of s.json.regions) {
    assert.equal(r.available, true, r.name);
    assert.equal(r.drained, false);
    assert.deepEqual(
      r.endpoints.map((e: { url: string }) => e.url),
      [world.b(r.name).url],
    );
  }
});

test('/metrics is Prometheus text with requests, durations, in-flight, region gauges and process metrics', async () => {
  const before = await metricsText();
  const labels = { route: 'default', region: 'ap-southeast', method_class: 'read', status_class: '2xx', reason: 'nearest' };
  const reqBefore = metric(before, 'meridian_requests_total', labels) ?? 0;
  const durBefore = metric(before, 'meridian_request_duration_seconds_count', { region: 'ap-southeast' }) ?? 0;
  for (let i = 0; i < 3; i++) assert.equal((await asClient(router.port, clientFor('SG').ip, { path: '/m' })).status, 200);
  const w = await asClient(router.port, clientFor('SG').ip, { method: 'POST', path: '/m', body: 'x' });
  assert.equal(w.status, 200);
  const nf = await asClient(router.port, clientFor('SG').ip, { path: '/__status/404' });
  assert.equal(nf.status, 404);

  // In flight: one slow request is counted while it runs.
  const slow = asClient(router.port, clientFor('SG').ip, { path: '/__slow/1500' });
  await waitFor(async () => metric(await metricsText(), 'meridian_in_flight_requests') === 1, 5000, 'in-flight 1');
  assert.equal((await slow).status, 200);

  const text = await metricsText();
  assert.equal(metric(text, 'meridian_requests_total', labels), reqBefore + 4, 'three reads and the slow read');
  assert.equal(metric(text, 'meridian_requests_total', { ...labels, method_class: 'write' }), 1);
  assert.equal(metric(text, 'meridian_requests_total', { ...labels, status_class: '4xx' }), 1);
  assert.equal(metric(text, 'meridian_request_duration_seconds_count', { region: 'ap-southeast' }), durBefore + 6);
  assert.ok((metric(text, 'meridian_request_duration_seconds_bucket', { region: 'ap-southeast', le: '+Inf' }) ?? 0) >= durBefore + 6);
  assert.ok(
    (metric(text, 'meridian_request_duration_seconds_bucket', { region: 'ap-southeast', le: '1' }) ?? 0) < durBefore + 6,
    'the slow request is in a higher bucket',
  );
  assert.equal(metric(text, 'meridian_in_flight_requests'), 0);
  assert.match(text, /^# TYPE meridian_requests_total counter$/m);
  assert.match(text, /^# TYPE meridian_request_duration_seconds histogram$/m);
  assert.match(text, /^# TYPE meridian_in_flight_requests gauge$/m);
  for (const r of REGIONS) {
    assert.equal(metric(text, 'meridian_region_up', { region: r }), 1, `${r} up`);
    assert.equal(metric(text, 'meridian_region_drained', { region: r }), 0, `${r} not drained`);
  }
  // The residency 503 of the drain test is counted with its reason.
  assert.equal(metric(text, 'meridian_requests_total', { route: 'default', region: 'none', status_class: '5xx', reason: 'residency' }), 1);
  assert.ok((metric(text, 'process_cpu_user_seconds_total') ?? 0) > 0);
  assert.ok((metric(text, 'process_resident_memory_bytes') ?? 0) > 0);
  assert.ok(metric(text, 'nodejs_eventloop_lag_seconds') !== null);
  assert.match(text, /^# TYPE meridian_config_reloads_total counter$/m);
});

describe('readiness before the first probe round', () => {
  let w2: World;
  let r2: RouterProc;
  before(async () => {
    w2 = await startWorld(['us-east', 'eu-west']);
    w2.b('eu-west').healthMode = 'hang'; // its first probe cannot finish before the 1.5 s timeout
    r2 = await startRouter(coreConfig(w2, { health: 'health: { interval: 2s, timeout: 1500ms }' }));
  });
  after(async () => {
    await r2?.stop();
    await w2?.stop();
  });

  test('/readyz is 503 until every endpoint was probed once, then 200', async () => {
    const early = await request(r2.adminPort, { path: '/readyz' });
    assert.equal(early.status, 503);
    assert.equal(early.json.ready, false);
    const h = await request(r2.adminPort, { path: '/healthz' });
    assert.equal(h.status, 200, 'alive while not ready');
    await waitFor(async () => (await request(r2.adminPort, { path: '/readyz' })).status === 200, 10_000, 'readyz 200');
    const s = await request(r2.adminPort, { path: '/admin/state' });
    assert.equal(s.json.ready, true);
  });
});
