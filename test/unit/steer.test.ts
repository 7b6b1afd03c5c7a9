// Traffic steering inside decide(): dials keep a stable share of the clients that prefer a region,
// spillover moves new requests off a full region, and neither touches primary decisions,
// read-your-writes reads or residency.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide } from '../../src/routing/decide.js';
import { NO_STEERING, stickyPoint, type Steering } from '../../src/routing/steer.js';
import type { Geo, RequestFacts } from '../../src/types.js';
import { threeRegions } from '../helpers/config.js';
import { healthView } from '../helpers/health-view.js';

const NOW = 1_700_000_000_000;
/** A client in Germany: eu-west first, then us-east, then ap-southeast. */
const DE: Geo = Object.freeze({ country: 'DE', eu: true, lat: 50.1, lon: 8.7 });
const snap = threeRegions({
  routes: [
    { name: 'api', match: { pathPrefix: '/api' }, mode: 'read-local-write-global', readYourWrites: '10s' },
    { name: 'default', match: { pathPrefix: '/' }, mode: 'active-active' },
  ],
});

function facts(ip: string, o: Partial<RequestFacts> = {}): RequestFacts {
  return { method: 'GET', path: '/', host: null, ip, geo: DE, userKey: null, homeRegion: null, writeMark: null, rand: 0, ...o };
}

function steering(dials: Record<string, number>, full: string[] = []): Steering {
  return { idle: false, dialPercent: (r) => dials[r] ?? 100, full: (r) => full.includes(r) };
}

const ips = Array.from({ length: 1000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.7`);

test('a dial of 30 keeps 25-35 % of 1,000 distinct clients, the same ones every time', () => {
  const s = steering({ 'eu-west': 30 });
  const kept = ips.filter((ip) => decide(snap, facts(ip), healthView(), NOW, s).region === 'eu-west');
  assert.ok(kept.length >= 250 && kept.length <= 350, `${kept.length} of 1000 kept`);
  const again = ips.filter((ip) => decide(snap, facts(ip), healthView(), NOW, s).region === 'eu-west');
  assert.deepEqual(again, kept);
  const moved = decide(snap, facts(ips.find((ip) => !kept.includes(ip))!), healthView(), NOW, s);
  assert.equal(moved.region, 'us-east');
  assert.equal(moved.reason, 'dialed');
  assert.deepEqual(moved.candidates, ['us-east', 'eu-west', 'ap-southeast'], 'the dialed region stays a retry candidate');
});

test('the user key decides when there is one, the IP otherwise', () => {
  assert.equal(stickyPoint('user-1'), stickyPoint('user-1'));
  const s = steering({ 'eu-west': 50 });
  const byKey = (ip: string): string | null => decide(snap, facts(ip, { userKey: 'alice' }), healthView(), NOW, s).region;
  assert.equal(new Set(ips.slice(0, 50).map(byKey)).size, 1, 'one user, one region, from any address');
});

test('dials 0 and 100; a client dialed away from two regions goes to the third under the same point', () => {
  assert.ok(ips.every((ip) => decide(snap, facts(ip), healthView(), NOW, steering({ 'eu-west': 0 })).region === 'us-east'));
  assert.ok(ips.every((ip) => decide(snap, facts(ip), healthView(), NOW, steering({ 'eu-west': 100 })).region === 'eu-west'));
  const s = steering({ 'eu-west': 20, 'us-east': 20 });
  for (const ip of ips.slice(0, 200)) {
    const p = stickyPoint(ip);
    assert.equal(decide(snap, facts(ip), healthView(), NOW, s).region, p < 20 ? 'eu-west' : 'ap-southeast', ip);
  }
});

test('when no other allowed region takes the client it stays (residency is never crossed)', () => {
  const gdpr = threeRegions({ residency: [{ name: 'gdpr', countries: ['EU'], regions: ['eu-west'] }] });
  const d = decide(gdpr, facts(ips[0]!), healthView(), NOW, steering({ 'eu-west': 0 }));
  assert.equal(d.region, 'eu-west');
  assert.match(d.detail, /no other allowed region/);
});

test('primary decisions and read-your-writes reads are never dialed', () => {
  const s = steering({ 'us-east': 0, 'eu-west': 0 });
  const write = decide(snap, facts(ips[0]!, { method: 'POST', path: '/api/x' }), healthView(), NOW, s);
  assert.equal(write.region, 'us-east');
  assert.equal(write.reason, 'write-primary');
  const ryw = decide(
    snap,
    facts(ips[0]!, { path: '/api/x', writeMark: { region: 'us-east', at: NOW - 1000 } }),
    healthView({ lag: { 'eu-west': 5000 } }),
    NOW,
    s,
  );
  assert.equal(ryw.region, 'us-east');
  assert.equal(ryw.reason, 'read-your-writes');
  // The writer's nearest region took the write: its reads stay there for the window, dial or not.
  const mark = { region: 'eu-west', at: NOW - 1000 };
  const local = decide(snap, facts(ips[0]!, { path: '/api/x', writeMark: mark }), healthView(), NOW, s);
  assert.equal(local.region, 'eu-west');
  assert.equal(local.reason, 'nearest');
  const later = decide(snap, facts(ips[0]!, { path: '/api/x', writeMark: mark }), healthView(), NOW + 20_000, s);
  assert.equal(later.region, 'ap-southeast', 'after the window the dials (eu-west and us-east at 0) apply again');
  assert.equal(later.reason, 'dialed');
});

test('spillover: a full region sends new requests to the next candidate; when all are full the first serves', () => {
  const one = decide(snap, facts(ips[0]!), healthView(), NOW, steering({}, ['eu-west']));
  assert.equal(one.region, 'us-east');
  assert.equal(one.reason, 'spillover');
  const all = decide(snap, facts(ips[0]!), healthView(), NOW, steering({}, ['eu-west', 'us-east', 'ap-southeast']));
  assert.equal(all.region, 'eu-west');
  assert.equal(all.reason, 'nearest');
  const write = decide(snap, facts(ips[0]!, { method: 'POST', path: '/api/x' }), healthView(), NOW, steering({}, ['us-east']));
  assert.equal(write.region, 'us-east', 'writes never spill');
});

test('without steering the decision is the remembered one, untouched', () => {
  const a = decide(snap, facts(ips[0]!), healthView(), NOW, NO_STEERING);
  assert.equal(a.region, 'eu-west');
  assert.equal(a.reason, 'nearest');
  assert.ok(Object.isFrozen(a));
});
