import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { Geo } from '../../src/types.js';
import { buildFacts, factsFromExplain, maxReadYourWritesMs, parseHost, splitTarget, type FactsDeps } from '../../src/identity/facts.js';
import { compileTrustedProxies } from '../../src/identity/client-ip.js';
import { createWriteMarkCodec } from '../../src/identity/write-mark.js';
import type { GeoSource } from '../../src/identity/geoip.js';
import { threeRegions } from '../helpers/config.js';

const NOW = 1_700_000_000_000;
const DE: Geo = { country: 'DE', eu: true, lat: 52.5, lon: 13.4 };
const fakeGeo: GeoSource & { asked: (string | null)[] } = {
  asked: [],
  lookup(ip) {
    this.asked.push(ip);
    return ip === '85.214.132.117' ? DE : null;
  },
};
const marks = createWriteMarkCodec('k');
const readYourWrites = { cookie: 'meridian_w' };
const snap = threeRegions({
  routes: [
    { name: 'api', match: { pathPrefix: '/api' }, readYourWrites: '10s' },
    { name: 'x', readYourWrites: '3s' },
  ],
  affinity: { homeRegion: { header: 'X-Home-Region', cookie: 'home' } },
  readYourWrites,
});
const deps: FactsDeps = { geo: fakeGeo, trusted: compileTrustedProxies(['127.0.0.1']), marks, now: NOW, rand: 0.25 };

function facts(url: string, headers: IncomingHttpHeaders = {}, peer = '127.0.0.1', method = 'get') {
  return buildFacts({ method, url, headers, peer }, snap, deps);
}

test('splitTarget: origin-form, absolute-form, odd forms', () => {
  const cases: [string, string, string | null][] = [
    ['/', '/', null],
    ['/api/x?y=1', '/api/x', null],
    ['/api/x#frag', '/api/x', null],
    ['/a?b#c', '/a', null],
    ['http://example.com/api/x?q', '/api/x', 'example.com'],
    ['https://user:pw@Example.com:8443/p', '/p', 'Example.com:8443'],
    ['http://example.com', '/', 'example.com'],
    ['http://example.com?x=1', '/', 'example.com'],
    ['*', '*', null],
    ['', '/', null],
  ];
  for (const [url, path, authority] of cases) assert.deepEqual(splitTarget(url), { path, authority }, url);
});

test('parseHost', () => {
  const cases: [string | undefined, string | null][] = [
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::1]', '[2001:db8::1]'],
    ['', null],
    [undefined, null],
    ['[::1', null],
  ];
  for (const [raw, want] of cases) assert.equal(parseHost(raw), want, String(raw));
});

test('buildFacts: method, path, host, ip via XFF, geo', () => {
  const f = facts('/api/items?id=3', { host: 'Shop.Example:443', 'x-forwarded-for': '85.214.132.117' });
  assert.equal(f.method, 'GET');
  assert.equal(f.path, '/api/items');
  assert.equal(f.host, 'shop.example');
  assert.equal(f.ip, '85.214.132.117');
  assert.equal(f.geo, DE);
  assert.equal(f.rand, 0.25);
  assert.equal(f.userKey, null);
  assert.equal(f.homeRegion, null);
  assert.equal(f.writeMark, null);
});

test('buildFacts: absolute-form target overrides Host', () => {
  const f = facts('http://api.example/api/x?q=1', { host: 'other.example' });
  assert.equal(f.path, '/api/x');
  assert.equal(f.host, 'api.example');
});

test('buildFacts: malformed XFF → unknown location', () => {
  const f = facts('/', { 'x-forwarded-for': 'evil' });
  assert.equal(f.ip, null);
  assert.equal(f.geo, null);
});

test('buildFacts: user key from header, then cookie', () => {
  assert.equal(facts('/', { 'x-user-id': ' u-1 ', cookie: 'uid=u-2' }).userKey, 'u-1');
  assert.equal(facts('/', { cookie: 'a=1; uid=u-2' }).userKey, 'u-2');
  assert.equal(facts('/', { 'x-user-id': '', cookie: 'uid=u-2' }).userKey, 'u-2');
  assert.equal(facts('/', { 'x-user-id': ['u-3', 'u-4'] as unknown as string }).userKey, 'u-3');
  assert.equal(facts('/', { cookie: 'uid=' }).userKey, null);
});

test('buildFacts: explicit home region must name a configured region', () => {
  assert.equal(facts('/', { 'x-home-region': 'eu-west' }).homeRegion, 'eu-west');
  assert.equal(facts('/', { 'x-home-region': 'EU-West' }).homeRegion, 'eu-west');
  assert.equal(facts('/', { 'x-home-region': 'mars-1' }).homeRegion, null);
  assert.equal(facts('/', { 'x-home-region': 'mars-1', cookie: 'home=ap-southeast' }).homeRegion, 'ap-southeast');
  assert.equal(facts('/', { cookie: 'home=nowhere' }).homeRegion, null);
});

test('buildFacts: write mark verified with the largest route window', () => {
  assert.equal(maxReadYourWritesMs(snap), 10_000);
  const v = marks.sign('eu-west', NOW - 8_000);
  assert.deepEqual(facts('/', { cookie: `meridian_w=${v}` }).writeMark, { region: 'eu-west', at: NOW - 8_000 });
  const old = marks.sign('eu-west', NOW - 10_001);
  assert.equal(facts('/', { cookie: `meridian_w=${old}` }).writeMark, null);
  const forged = createWriteMarkCodec('other').sign('eu-west', NOW);
  assert.equal(facts('/', { cookie: `meridian_w=${forged}` }).writeMark, null);
  const gone = marks.sign('mars-1', NOW);
  assert.equal(facts('/', { cookie: `meridian_w=${gone}` }).writeMark, null, 'unconfigured region ignored');
  const noCodec = buildFacts({ method: 'GET', url: '/', headers: { cookie: `meridian_w=${v}` }, peer: '1.2.3.4' }, snap, {
    ...deps,
    marks: null,
  });
  assert.equal(noCodec.writeMark, null);
});

test('buildFacts: no readYourWrites route → cookie not consulted', () => {
  const plain = threeRegions({ readYourWrites });
  const v = marks.sign('eu-west', NOW);
  const f = buildFacts({ method: 'GET', url: '/', headers: { cookie: `meridian_w=${v}` }, peer: '1.2.3.4' }, plain, deps);
  assert.equal(f.writeMark, null);
});

test('buildFacts: hostile cookies and headers never throw', () => {
  const hostile = ['=', ';;;', 'uid', 'uid=%E0%A4%A', 'meridian_w=v1.%zz.1.x', '\u0000=\u0000', 'a='.repeat(5000)];
  for (const cookie of hostile) assert.doesNotThrow(() => facts('/', { cookie }), cookie.slice(0, 30));
  assert.doesNotThrow(() => facts('/', { host: '[' }));
});

test('factsFromExplain: ip taken directly, defaults, headers and cookies', () => {
  const v = marks.sign('ap-southeast', NOW - 1000);
  const f = factsFromExplain({ ip: '85.214.132.117', path: '/api/x?y', headers: { 'X-User-Id': 'u-9', Cookie: `meridian_w=${v}` } }, snap, {
    geo: fakeGeo,
    marks,
    now: NOW,
  });
  assert.equal(f.method, 'GET');
  assert.equal(f.path, '/api/x');
  assert.equal(f.ip, '85.214.132.117');
  assert.equal(f.geo, DE);
  assert.equal(f.userKey, 'u-9');
  assert.deepEqual(f.writeMark, { region: 'ap-southeast', at: NOW - 1000 });
  assert.equal(f.rand, 0);
  const g = factsFromExplain({ method: 'post', userKey: 'k', homeRegion: 'eu-west', ip: 'bogus' }, snap, {
    geo: fakeGeo,
    marks: null,
    now: NOW,
  });
  assert.equal(g.method, 'POST');
  assert.equal(g.path, '/');
  assert.equal(g.ip, null);
  assert.equal(g.geo, null);
  assert.equal(g.userKey, 'k');
  assert.equal(g.homeRegion, 'eu-west');
  assert.equal(factsFromExplain({ homeRegion: 'nope' }, snap, { geo: fakeGeo, marks: null, now: NOW }).homeRegion, null);
});
