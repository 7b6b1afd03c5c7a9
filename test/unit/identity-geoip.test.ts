import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUNDLED_VERSION, bundledGeoData } from '../../src/identity/geo-bundled.js';
import type { RawLookup } from '../../src/identity/geo-types.js';
import { GeoLookup, toGeo } from '../../src/identity/geoip.js';
import { CLIENTS, IPV6_CLIENTS, UNLOCATED_IPS } from '../helpers/clients.js';

const geo = new GeoLookup(bundledGeoData());

/** Data answering from `lookup`, for the cache tests. */
const fake = (lookup: RawLookup) => ({ lookup, builtAt: new Date(0), source: 'test' });

test('CLIENTS resolve to their country with coordinates (real geoip-lite data)', () => {
  const continents = new Set(CLIENTS.map((c) => c.continent));
  assert.ok(CLIENTS.length >= 8 && continents.size >= 3);
  for (const c of [...CLIENTS, ...IPV6_CLIENTS]) {
    const g = geo.lookup(c.ip);
    assert.ok(g !== null, `${c.ip} resolves`);
    assert.equal(g.country, c.country, c.ip);
    assert.equal(g.eu, c.eu, `${c.ip} eu flag`);
    assert.equal(typeof g.lat, 'number', `${c.ip} lat`);
    assert.equal(typeof g.lon, 'number', `${c.ip} lon`);
  }
});

test('continents are where they should be', () => {
  // Coarse sanity on coordinates: latitude sign and longitude sign per continent.
  const box: Record<string, (lat: number, lon: number) => boolean> = {
    Europe: (lat, lon) => lat > 35 && lon > -15 && lon < 40,
    'North America': (lat, lon) => lat > 15 && lon < -50,
    'South America': (lat, lon) => lat < 10 && lon < -30,
    Asia: (lat, lon) => lon > 60 && lon < 150,
    Oceania: (lat, lon) => lat < -10 && lon > 110,
  };
  for (const c of CLIENTS) {
    const g = geo.lookup(c.ip);
    assert.ok(g !== null && g.lat !== null && g.lon !== null);
    assert.ok(box[c.continent]?.(g.lat, g.lon), `${c.country} ${c.ip} at ${g.lat},${g.lon} not in ${c.continent}`);
  }
});

test('private, loopback, unknown and null → null', () => {
  for (const ip of UNLOCATED_IPS) assert.equal(geo.lookup(ip), null, ip);
  assert.equal(geo.lookup(null), null);
  assert.equal(geo.lookup(''), null);
  assert.equal(geo.lookup('not-an-ip'), null);
});

test('toGeo: a location out of range or at (0, 0) — exactly or nearly — is unknown', () => {
  for (const ll of [
    [91, 10],
    [-91, 10],
    [10, 181],
    [10, -181],
    [1.79e-52, 4.96e-91],
    [0.001, -0.004],
    [Number.NaN, 3],
  ]) {
    assert.deepEqual(toGeo({ country: 'GB', ll }), { country: 'GB', eu: false, lat: null, lon: null }, String(ll));
  }
  assert.deepEqual(toGeo({ country: 'GB', ll: [51.5, 0.001] }), { country: 'GB', eu: false, lat: 51.5, lon: 0.001 }, 'on the meridian');
  assert.deepEqual(toGeo({ country: 'EC', ll: [0.001, -78.5] }), { country: 'EC', eu: false, lat: 0.001, lon: -78.5 }, 'on the equator');
});

test('the bundled data is the pinned geoip-lite release its date belongs to', async () => {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../../../node_modules/geoip-lite/package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(pkg.version, BUNDLED_VERSION, 'geoip-lite changed: update BUNDLED_VERSION and its release date in geo-bundled.ts');
  assert.match(bundledGeoData().source, /^bundled geoip-lite /);
});

test('toGeo: empty country, missing or 0,0 coordinates, eu flag', () => {
  assert.equal(toGeo(null), null);
  assert.equal(toGeo({ country: '', eu: '0', ll: [null, null] }), null);
  assert.deepEqual(toGeo({ country: 'DE', eu: '1', ll: [0, 0] }), { country: 'DE', eu: true, lat: null, lon: null });
  assert.deepEqual(toGeo({ country: 'US', eu: '0', ll: [1, 2] }), { country: 'US', eu: false, lat: 1, lon: 2 });
  assert.deepEqual(toGeo({ country: '', eu: '', ll: [10, 20] }), { country: null, eu: false, lat: 10, lon: 20 });
  assert.deepEqual(toGeo({ country: 'JP' }), { country: 'JP', eu: false, lat: null, lon: null });
  assert.ok(Object.isFrozen(toGeo({ country: 'JP' })));
});

test('cache: repeated IPs hit the cache, nulls are cached, size is bounded (LRU)', () => {
  let calls = 0;
  const g = new GeoLookup(
    fake((ip) => {
      calls++;
      return ip.startsWith('10.') ? null : { country: 'US', eu: '0', ll: [1, 2] };
    }),
    { maxEntries: 3 },
  );
  const a = g.lookup('1.0.0.1');
  assert.equal(g.lookup('1.0.0.1'), a, 'same frozen object from cache');
  assert.equal(calls, 1);
  assert.equal(g.lookup('10.0.0.1'), null);
  assert.equal(g.lookup('10.0.0.1'), null);
  assert.equal(calls, 2, 'null cached');
  g.lookup('1.0.0.2'); // cache: 1.0.0.1, 10.0.0.1, 1.0.0.2
  g.lookup('1.0.0.1'); // refresh → 10.0.0.1 is now the oldest
  g.lookup('1.0.0.3'); // evicts 10.0.0.1
  assert.equal(g.size, 3);
  assert.equal(calls, 4);
  g.lookup('1.0.0.1');
  assert.equal(calls, 4, 'recently used entry kept');
  g.lookup('10.0.0.1');
  assert.equal(calls, 5, 'evicted entry looked up again');
});

test('cache: an address looked up between a stream of new ones is never evicted, and the cache stays bounded', () => {
  const dbCalls = new Map<string, number>();
  const g = new GeoLookup(
    fake((ip) => {
      dbCalls.set(ip, (dbCalls.get(ip) ?? 0) + 1);
      return { country: 'DE', eu: '1', ll: [50, 8] };
    }),
    { maxEntries: 16 },
  );
  for (let i = 0; i < 500; i++) {
    g.lookup('5.9.0.1');
    g.lookup(`1.0.${i >> 8}.${i & 255}`);
    assert.ok(g.size <= 16);
  }
  assert.equal(dbCalls.get('5.9.0.1'), 1, 'the hot address went to the database once');
  g.lookup('1.0.0.0');
  assert.equal(dbCalls.get('1.0.0.0'), 2, 'a cold address was evicted and looked up again');
});

test('a throwing database lookup is a null, not an exception', () => {
  const g = new GeoLookup(
    fake(() => {
      throw new Error('boom');
    }),
  );
  assert.equal(g.lookup('1.2.3.4'), null);
});
