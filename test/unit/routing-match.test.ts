import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute } from '../../src/routing/match.js';
import { haversineKm } from '../../src/routing/geo.js';
import { explainJson, explainText } from '../../src/routing/explain.js';
import { decide } from '../../src/routing/decide.js';
import { threeRegions } from '../helpers/config.js';
import { healthView } from '../helpers/health-view.js';
import type { RequestFacts } from '../../src/types.js';

const snap = threeRegions({
  routes: [
    { name: 'payments', match: { pathPrefix: '/api/payments' }, mode: 'active-passive' },
    { name: 'admin-host', match: { pathPrefix: '/', host: 'admin.example' } },
    { name: 'v6-host', match: { pathPrefix: '/', host: '::1' } },
    { name: 'uploads', match: { pathPrefix: '/upload', methods: ['PUT', 'POST'] } },
    { name: 'api', match: { pathPrefix: '/api' }, mode: 'read-local-write-global' },
    { name: 'default', match: { pathPrefix: '/' } },
  ],
});
const onlyRoute = threeRegions({ routes: [{ name: 'only', match: { pathPrefix: '/only' } }] });

test('matchRoute: first match in order, plain prefix, methods, host', () => {
  const cases: [string, string, string | null, string | null][] = [
    ['GET', '/api/payments/1', null, 'payments'],
    ['GET', '/api/paymentsX', null, 'payments'], // plain string prefix, not segment-bounded
    ['GET', '/api/users', null, 'api'],
    ['GET', '/apiary', null, 'api'],
    ['GET', '/', null, 'default'],
    ['GET', '/x', 'admin.example', 'admin-host'],
    ['GET', '/api/payments', 'admin.example', 'payments'],
    ['GET', '/x', 'other.example', 'default'],
    ['GET', '/x', '[::1]', 'v6-host'],
    ['PUT', '/upload/a', null, 'uploads'],
    ['GET', '/upload/a', null, 'default'],
    ['GET', '*', null, null],
  ];
  for (const [m, p, h, want] of cases) assert.equal(matchRoute(snap, m, p, h)?.name ?? null, want, `${m} ${p} ${h}`);
  assert.equal(matchRoute(onlyRoute, 'GET', '/other', null), null);
});

test('haversineKm: known distances', () => {
  assert.equal(haversineKm(10, 20, 10, 20), 0);
  // Dublin → Ashburn ≈ 5,470 km; London → Paris ≈ 344 km; quarter meridian ≈ 10,008 km.
  assert.ok(Math.abs(haversineKm(53.35, -6.26, 39.04, -77.49) - 5470) < 60);
  assert.ok(Math.abs(haversineKm(51.5074, -0.1278, 48.8566, 2.3522) - 344) < 5);
  assert.ok(Math.abs(haversineKm(0, 0, 90, 0) - 10008) < 5);
  assert.ok(Math.abs(haversineKm(0, 0, 0, 180) - 20015) < 5, 'antipodal');
});

test('explain renders route, reason, candidates, client', () => {
  const facts: RequestFacts = {
    method: 'GET',
    path: '/api/x',
    host: null,
    ip: '85.214.132.117',
    geo: { country: 'DE', eu: true, lat: 52.52, lon: 13.44 },
    userKey: null,
    homeRegion: null,
    writeMark: null,
    rand: 0,
  };
  const d = decide(snap, facts, healthView({ down: ['eu-west'] }), 0);
  const text = explainText(d, facts);
  assert.match(text, /route: +api/);
  assert.match(text, /selector: +nearest \(read\)/);
  assert.match(text, /decision: +us-east +reason=failover/);
  assert.match(text, /85\.214\.132\.117.*country DE \(EU\)/);
  assert.match(text, /eu-west .* km +skipped/);
  assert.match(text, /candidates: us-east → ap-southeast/);
  const j = explainJson(d, facts);
  assert.equal(j.region, 'us-east');
  assert.equal(j.reason, 'failover');
  assert.deepEqual(j.candidates, ['us-east', 'ap-southeast']);
  assert.deepEqual((j.route as { name: string }).name, 'api');
  assert.doesNotThrow(() => JSON.stringify(j));
  const none = decide(onlyRoute, facts, healthView(), 0);
  assert.match(explainText(none, facts), /decision: +404 +reason=no-route/);
});
