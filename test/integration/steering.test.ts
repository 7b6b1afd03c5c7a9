// Traffic steering from outside: dials keep a stable share of the clients that prefer a region,
// a drain {"over"} lowers that share step by step (and undrain {"over"} raises it again), a region
// at maxInFlight spills new requests over, and neither crosses residency nor read-your-writes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { from, metrics, ready, sample, state } from '../helpers/failover.js';
import { admin, startRouter, type Answer, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const TOKEN = 'steering-test-token';
let world: World;
let router: RouterProc;

before(async () => {
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  router = await startRouter(
    configYaml(
      world,
      `health: { interval: 200ms, timeout: 150ms }
writes: { regions: [us-east] }
readYourWrites: { secret: steering-test-secret-0123456789, cookie: ryw }
residency:
  - name: gdpr
    countries: [EU]
    regions: [eu-west]
routes:
  - name: app
    match: { pathPrefix: / }
    mode: read-local-write-global
    readYourWrites: 30s
`,
    ).replace('admin:\n  listen: 127.0.0.1:0\n', `admin:\n  listen: 127.0.0.1:0\n  token: ${TOKEN}\n`),
  );
  await ready(router);
});
after(async () => {
  await router.stop();
  await world.stop();
});

const post = (path: string, body?: unknown): Promise<Answer> =>
  admin(router, 'POST', path, TOKEN, body === undefined ? undefined : JSON.stringify(body));

/** GET / as each user from `country` (a few at a time); the region that answered each. */
async function regionsOf(users: readonly string[], country: string): Promise<Map<string, Answer>> {
  const out = new Map<string, Answer>();
  for (let i = 0; i < users.length; i += 25) {
    const batch = users.slice(i, i + 25);
    const answers = await Promise.all(batch.map((u) => from(router, country, { path: '/s', headers: { 'x-user-id': u } })));
    batch.forEach((u, j) => out.set(u, answers[j]!));
  }
  return out;
}

const share = (answers: Map<string, Answer>, region: string): number =>
  [...answers.values()].filter((a) => a.headers['x-meridian-region'] === region).length / answers.size;

test('dial 30: 25-35 % of 1,000 clients stay, the same ones on repeat, the rest dialed to the next region', async () => {
  const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
  // Brazilians prefer us-east (nearest) and are under no residency rule.
  const before = await regionsOf(users, 'BR');
  assert.equal(share(before, 'us-east'), 1, 'without a dial every Brazilian client lands in us-east');

  const set = await post('/admin/regions/us-east/dial', { percent: 30 });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.json.dial.percent, 30);

  const first = await regionsOf(users, 'BR');
  const kept = share(first, 'us-east');
  assert.ok(kept >= 0.25 && kept <= 0.35, `us-east kept ${(kept * 100).toFixed(1)} % of the clients`);
  for (const a of first.values()) {
    assert.equal(a.status, 200, 'no request fails');
    if (a.headers['x-meridian-region'] !== 'us-east') assert.equal(a.headers['x-meridian-reason'], 'dialed');
  }
  const again = await regionsOf(users, 'BR');
  for (const u of users) {
    assert.equal(again.get(u)!.headers['x-meridian-region'], first.get(u)!.headers['x-meridian-region'], `${u} stays where it was`);
  }

  const st = await state(router);
  assert.equal(st.steering.dials['us-east'].percent, 30);
  assert.equal(st.steering.dials['eu-west'].percent, 100);
  assert.equal(sample(await metrics(router), 'meridian_region_dial_percent', { region: 'us-east' }), 30);
  const m = await metrics(router);
  assert.ok((sample(m, 'meridian_requests_total', { route: 'app', region: 'eu-west', reason: 'dialed' }) ?? 0) > 0, 'dialed counted');

  const back = await post('/admin/regions/us-east/undrain');
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.dial.percent, 100);
  assert.equal(share(await regionsOf(users.slice(0, 200), 'BR'), 'us-east'), 1, 'undrain restores 100 % at once');
});

test('dial answers: percent must be an integer 0-100, an unknown region is 404, a missing token 401', async () => {
  for (const body of [{ percent: 101 }, { percent: -1 }, { percent: 2.5 }, { percent: '30' }, {}]) {
    const r = await post('/admin/regions/us-east/dial', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status}`);
    assert.equal(r.json.error, 'bad_request');
  }
  assert.equal((await post('/admin/regions/nowhere/dial', { percent: 10 })).status, 404);
  assert.equal((await admin(router, 'POST', '/admin/regions/us-east/dial', undefined, '{"percent": 10}')).status, 401);
  const badOver = await post('/admin/regions/us-east/drain', { over: '10' });
  assert.equal(badOver.status, 400);
  assert.match(badOver.json.message, /over/);
  assert.equal((await state(router)).steering.dials['us-east'].percent, 100, 'nothing changed');
});

test('drain {"over"}: the share falls step by step to 0; undrain {"over"} brings it back; nothing fails', async () => {
  const users = Array.from({ length: 200 }, (_, i) => `evac-${i}`);
  const r = await post('/admin/regions/us-east/drain', { over: '3s' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.dial.target, 0);
  const shares: number[] = [];
  for (;;) {
    const answers = await regionsOf(users, 'BR');
    assert.ok(
      [...answers.values()].every((a) => a.status === 200),
      'no failed request during the evacuation',
    );
    shares.push(share(answers, 'us-east'));
    if (shares.at(-1) === 0) break;
    assert.ok(shares.length < 200, 'the evacuation ends');
  }
  for (let i = 1; i < shares.length; i++) assert.ok(shares[i]! <= shares[i - 1]!, `share never rises: ${shares.join(' ')}`);
  assert.ok(new Set(shares).size >= 3, `a ramp, not a cliff: ${shares.join(' ')}`);

  const up = await post('/admin/regions/us-east/undrain', { over: '2s' });
  assert.equal(up.status, 200, up.text);
  const rising: number[] = [];
  for (;;) {
    rising.push(share(await regionsOf(users, 'BR'), 'us-east'));
    if (rising.at(-1) === 1) break;
    assert.ok(rising.length < 200, 'the return ends');
  }
  for (let i = 1; i < rising.length; i++) assert.ok(rising[i]! >= rising[i - 1]!, `share never falls: ${rising.join(' ')}`);
});

test('a dial never crosses residency, and a read-your-writes read keeps its write region', async () => {
  const zero = await post('/admin/regions/eu-west/dial', { percent: 0 });
  assert.equal(zero.status, 200);
  // German clients may only be served by eu-west: dialed to 0, they stay.
  const de = await regionsOf(['de-1', 'de-2', 'de-3'], 'DE');
  for (const a of de.values()) assert.equal(a.headers['x-meridian-region'], 'eu-west');
  await post('/admin/regions/eu-west/undrain');

  // A US writer: the write region is us-east; dial us-east to 0 and its next read stays there.
  const w = await from(router, 'US', { method: 'POST', path: '/cart', body: '{}', headers: { 'x-user-id': 'writer' } });
  assert.equal(w.json.region, 'us-east');
  const cookie = /^ryw=([^;]+);/.exec(String(w.headers['set-cookie']?.[0]))![1]!;
  assert.equal((await post('/admin/regions/us-east/dial', { percent: 0 })).status, 200);
  const plain = await from(router, 'US', { path: '/read', headers: { 'x-user-id': 'reader' } });
  assert.notEqual(plain.headers['x-meridian-region'], 'us-east', 'a reader without the cookie is dialed away');
  assert.equal(plain.headers['x-meridian-reason'], 'dialed');
  const ryw = await from(router, 'US', { path: '/read', headers: { 'x-user-id': 'writer', cookie: `ryw=${cookie}` } });
  assert.equal(ryw.headers['x-meridian-region'], 'us-east', 'the writer reads its own write');
  // Writes follow the write region, whatever the dial.
  const w2 = await from(router, 'BR', { method: 'POST', path: '/cart', body: '{}', headers: { 'x-user-id': 'other' } });
  assert.equal(w2.json.region, 'us-east');
  await post('/admin/regions/us-east/undrain');
});

test('explain shows the dial', async () => {
  await post('/admin/regions/us-east/dial', { percent: 0 });
  const e = await admin(router, 'GET', '/admin/explain?ip=201.6.0.1&path=/x&userKey=u-1');
  assert.equal(e.status, 200, e.text);
  assert.equal(e.json.reason, 'dialed', e.text);
  assert.match(JSON.stringify(e.json), /dialed to 0%/);
  await post('/admin/regions/us-east/undrain');
});
