// Issue 2, as a user sees it: which region serves a request, for clients around the world, for
// users with a home, for reads and writes. Real backends per region, the real router process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rendezvousTop } from '../../src/routing/rendezvous.js';
import { clientFor } from '../helpers/clients.js';
import { asClient, coreConfig } from '../helpers/core.js';
import { request, startRouter, type RouterProc, waitReady } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];

let world: World;
let router: RouterProc;

before(async () => {
  world = await startWorld();
  router = await startRouter(
    coreConfig(world, {
      // BR is nearest to us-east (7,672 km vs 15,983 km) but pinned to ap-southeast.
      countries: { 'ap-southeast': ['BR'] },
      extra: `writes:
  regions: [us-east, eu-west]
routes:
  - name: payments
    match: { pathPrefix: /api/payments }
    mode: active-passive
  - name: api
    match: { pathPrefix: /api }
    mode: read-local-write-global
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

/** The region that answered, checked three ways: backend body, response header, and backend log. */
function served(r: { status: number; json: { region?: string } | null; headers: Record<string, unknown> }): string {
  assert.equal(r.status, 200, `status ${r.status}`);
  assert.ok(r.json, 'JSON body from a backend');
  assert.equal(r.headers['x-meridian-region'], r.json.region, 'x-meridian-region names the backend that answered');
  return r.json.region!;
}

describe('nearest routing', () => {
  // Hand-computed great-circle distances from each client's GeoIP position to
  // us-east (39.04,-77.49), eu-west (53.35,-6.26), ap-southeast (1.35,103.82).
  const table: { country: string; region: string; reason: string }[] = [
    { country: 'DE', region: 'eu-west', reason: 'nearest' }, // Berlin: 1,319 km to Dublin
    { country: 'FR', region: 'eu-west', reason: 'nearest' }, // Paris: 780 km
    { country: 'GB', region: 'eu-west', reason: 'nearest' }, // St Albans: 439 km
    { country: 'SE', region: 'eu-west', reason: 'nearest' }, // Stockholm: 1,627 km
    { country: 'US', region: 'us-east', reason: 'country' }, // pinned (and 1 km away)
    { country: 'CA', region: 'us-east', reason: 'country' }, // pinned (Montreal, 787 km)
    { country: 'JP', region: 'ap-southeast', reason: 'nearest' }, // Tokyo: 5,319 km vs 9,586 km to Dublin
    { country: 'SG', region: 'ap-southeast', reason: 'nearest' }, // 8 km
    { country: 'IN', region: 'ap-southeast', reason: 'nearest' }, // Bengaluru: 3,164 km
    { country: 'AU', region: 'ap-southeast', reason: 'nearest' }, // Melbourne: 6,064 km vs 16,348 km to Ashburn
  ];
  for (const row of table) {
    test(`a client in ${row.country} is served by ${row.region} (${row.reason})`, async () => {
      const before = world.b(row.region).requests.length;
      const r = await asClient(router.port, clientFor(row.country).ip, { path: `/where/${row.country}` });
      assert.equal(served(r), row.region);
      assert.equal(r.headers['x-meridian-reason'], row.reason);
      assert.equal(r.json.clientCountry, row.country, 'the backend is told the client country');
      const seen = world
        .b(row.region)
        .requests.slice(before)
        .map((x) => x.url);
      assert.ok(seen.includes(`/where/${row.country}`), `the ${row.region} backend saw the request`);
    });
  }

  test('a country pin wins over distance: BR is nearest to us-east but pinned to ap-southeast', async () => {
    const explain = await request(router.adminPort, { path: `/admin/explain?ip=${clientFor('BR').ip}&path=/x` });
    const dist = Object.fromEntries(
      (explain.json.preference as { region: string; distanceKm: number }[]).map((p) => [p.region, p.distanceKm]),
    );
    assert.ok(dist['us-east']! < dist['ap-southeast']!, `us-east is nearer (${JSON.stringify(dist)})`);
    const r = await asClient(router.port, clientFor('BR').ip, { path: '/x' });
    assert.equal(served(r), 'ap-southeast');
    assert.equal(r.headers['x-meridian-reason'], 'country');
  });

  test('IPv6 clients via X-Forwarded-For are located too', async () => {
    const de = await asClient(router.port, clientFor('DE', 6).ip, { path: '/v6' });
    assert.equal(served(de), 'eu-west');
    assert.equal(de.json.clientCountry, 'DE');
    const jp = await asClient(router.port, clientFor('JP', 6).ip, { path: '/v6' });
    assert.equal(served(jp), 'ap-southeast');
    assert.equal(jp.json.clientCountry, 'JP');
  });

  test('a client without a GeoIP location goes to unknownLocation (the first region by default)', async () => {
    const r = await asClient(router.port, '10.1.2.3', { path: '/x' });
    assert.equal(served(r), 'us-east');
    assert.equal(r.headers['x-meridian-reason'], 'unknown-location');
    assert.equal(r.json.clientCountry, null, 'no country header for an unlocated client');
  });
});

describe('home affinity', () => {
  /** A user key whose rendezvous home is `region`. */
  function userHomedIn(region: string, salt = ''): string {
    for (let i = 0; ; i++) if (rendezvousTop(`user-${salt}${i}`, REGIONS) === region) return `user-${salt}${i}`;
  }

  test('the same user lands in the same region from different countries (header)', async () => {
    for (const home of REGIONS) {
      const user = userHomedIn(home);
      for (const country of ['DE', 'JP', 'US', 'BR']) {
        const r = await asClient(router.port, clientFor(country).ip, { path: '/users/me', headers: { 'x-user-id': user } });
        assert.equal(served(r), home, `${user} from ${country}`);
        assert.equal(r.headers['x-meridian-reason'], 'home-hash');
      }
    }
  });

  test('the user key from the uid cookie works the same way', async () => {
    const user = userHomedIn('ap-southeast', 'c');
    for (const country of ['FR', 'CA']) {
      const r = await asClient(router.port, clientFor(country).ip, { path: '/users/me', headers: { cookie: `theme=dark; uid=${user}` } });
      assert.equal(served(r), 'ap-southeast', `${user} from ${country}`);
      assert.equal(r.headers['x-meridian-reason'], 'home-hash');
    }
  });

  test('users spread over all regions', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await asClient(router.port, clientFor('DE').ip, { path: '/users/me', headers: { 'x-user-id': `spread-${i}` } });
      seen.add(served(r));
    }
    assert.deepEqual([...seen].sort(), [...REGIONS].sort());
  });

  test('an explicit x-home-region header or home_region cookie wins over the hash and over distance', async () => {
    const user = userHomedIn('us-east', 'x');
    const byHeader = await asClient(router.port, clientFor('JP').ip, {
      path: '/users/me',
      headers: { 'x-user-id': user, 'x-home-region': 'eu-west' },
    });
    assert.equal(served(byHeader), 'eu-west');
    assert.equal(byHeader.headers['x-meridian-reason'], 'home-explicit');
    const byCookie = await asClient(router.port, clientFor('US').ip, {
      path: '/users/me',
      headers: { cookie: 'home_region=ap-southeast' },
    });
    assert.equal(served(byCookie), 'ap-southeast');
    assert.equal(byCookie.headers['x-meridian-reason'], 'home-explicit');
  });

  test('an unknown home region is ignored: the hash (or nearest without a key) decides', async () => {
    const user = userHomedIn('ap-southeast', 'u');
    const hashed = await asClient(router.port, clientFor('DE').ip, {
      path: '/users/me',
      headers: { 'x-user-id': user, 'x-home-region': 'mars-north' },
    });
    assert.equal(served(hashed), 'ap-southeast');
    assert.equal(hashed.headers['x-meridian-reason'], 'home-hash');
    const nearest = await asClient(router.port, clientFor('DE').ip, { path: '/users/me', headers: { 'x-home-region': 'mars-north' } });
    assert.equal(served(nearest), 'eu-west');
    assert.equal(nearest.headers['x-meridian-reason'], 'nearest');
  });
});

describe('reads and writes', () => {
  test('read-local-write-global: GET is served locally, POST goes to the write region', async () => {
    const read = await asClient(router.port, clientFor('JP').ip, { path: '/api/items' });
    assert.equal(served(read), 'ap-southeast');
    assert.equal(read.headers['x-meridian-reason'], 'nearest');
    const write = await asClient(router.port, clientFor('JP').ip, {
      method: 'POST',
      path: '/api/items',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(served(write), 'us-east');
    assert.equal(write.headers['x-meridian-reason'], 'write-primary');
    assert.equal(write.json.method, 'POST');
    assert.equal(write.json.bodyBytes, 7);
    const del = await asClient(router.port, clientFor('DE').ip, { method: 'DELETE', path: '/api/items/1' });
    assert.equal(served(del), 'us-east');
  });

  test('active-passive: reads and writes both go to the write region', async () => {
    for (const [country, method] of [
      ['JP', 'GET'],
      ['DE', 'GET'],
      ['SG', 'POST'],
    ] as const) {
      const r = await asClient(router.port, clientFor(country).ip, {
        method,
        path: '/api/payments/42',
        body: method === 'POST' ? 'x' : undefined,
      });
      assert.equal(served(r), 'us-east', `${method} from ${country}`);
      assert.equal(r.headers['x-meridian-reason'], 'write-primary');
    }
  });

  test('active-active: a write from Japan stays in ap-southeast', async () => {
    const r = await asClient(router.port, clientFor('JP').ip, { method: 'POST', path: '/other', body: 'x' });
    assert.equal(served(r), 'ap-southeast');
    assert.equal(r.headers['x-meridian-reason'], 'nearest');
  });
});
