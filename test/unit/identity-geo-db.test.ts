// MaxMind databases as the GeoIP source: records become locations the way geoip-lite's do; a
// Country database gives countries without coordinates; a lying database's (0, 0)-ish locations
// are unknown; a file that is missing or not a database is refused with a clear message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readMaxmindDatabase } from '../../src/identity/geo-data.js';
import { GeoLookup } from '../../src/identity/geoip.js';
import { cityRecord, countryRecord, writeMmdb } from '../helpers/mmdb.js';
import { REPO_ROOT } from '../helpers/router-process.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-geo-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'geoip');
const BUILT = new Date('2026-11-20T00:00:00Z');

test('a City database: country, EU flag and coordinates; an unknown address is no location', () => {
  const file = join(dir, 'city.mmdb');
  writeMmdb(file, {
    databaseType: 'GeoLite2-City',
    buildEpoch: BUILT,
    networks: [
      { cidr: '5.9.0.0/16', data: cityRecord('DE', 50.11, 8.68, true) },
      { cidr: '1.0.16.0/20', data: cityRecord('JP', 35.69, 139.69) },
    ],
  });
  const data = readMaxmindDatabase(file);
  assert.equal(data.builtAt.getTime(), BUILT.getTime());
  assert.match(data.source, /GeoLite2-City .*city\.mmdb$/);
  const geo = new GeoLookup(data);
  assert.deepEqual(geo.lookup('5.9.0.1'), { country: 'DE', eu: true, lat: 50.11, lon: 8.68 });
  assert.deepEqual(geo.lookup('1.0.16.7'), { country: 'JP', eu: false, lat: 35.69, lon: 139.69 });
  assert.equal(geo.lookup('9.9.9.9'), null);
  assert.equal(geo.lookup('2001:db8::1'), null, 'an IPv6 address in an IPv4 database is no location, not an exception');
});

test('a Country database: a country (pins, residency) but no coordinates (no distances)', () => {
  const file = join(dir, 'country.mmdb');
  writeMmdb(file, {
    databaseType: 'GeoLite2-Country',
    buildEpoch: BUILT,
    networks: [{ cidr: '5.9.0.0/16', data: countryRecord('DE', true) }],
  });
  assert.deepEqual(new GeoLookup(readMaxmindDatabase(file)).lookup('5.9.0.1'), { country: 'DE', eu: true, lat: null, lon: null });
});

test("MaxMind's own test City database reads as documented", () => {
  const geo = new GeoLookup(readMaxmindDatabase(join(FIXTURES, 'GeoLite2-City-Test.mmdb')));
  assert.deepEqual(geo.lookup('81.2.69.142'), { country: 'GB', eu: false, lat: 51.5142, lon: -0.0931 });
  assert.equal(geo.lookup('2001:218::1')?.country, 'JP');
  assert.equal(geo.lookup('8.8.8.8'), null);
});

test('a database whose coordinates decode to ~0 gives the country and no location', () => {
  const geo = new GeoLookup(readMaxmindDatabase(join(FIXTURES, 'GeoIP2-City-Test-Broken-Double-Format.mmdb')));
  assert.deepEqual(geo.lookup('81.2.69.142'), { country: 'GB', eu: false, lat: null, lon: null });
});

test('a missing file, a file that is not a database, and a database of another kind are refused', () => {
  assert.throws(() => readMaxmindDatabase(join(dir, 'nope.mmdb')), /cannot read the GeoIP database: .*ENOENT/);
  const text = join(dir, 'text.mmdb');
  writeFileSync(text, 'not a database\n');
  assert.throws(() => readMaxmindDatabase(text), /is not a MaxMind database/);
  const asn = join(dir, 'asn.mmdb');
  writeMmdb(asn, {
    databaseType: 'GeoLite2-ASN',
    buildEpoch: BUILT,
    networks: [{ cidr: '5.9.0.0/16', data: { autonomous_system_number: 24940 } }],
  });
  assert.throws(() => readMaxmindDatabase(asn), /GeoLite2-ASN database; a GeoIP2\/GeoLite2 City or Country database is needed/);
});

test('setData swaps the answers and forgets the cached ones', () => {
  const a = join(dir, 'a.mmdb');
  const b = join(dir, 'b.mmdb');
  writeMmdb(a, { databaseType: 'GeoLite2-City', buildEpoch: BUILT, networks: [{ cidr: '5.9.0.0/16', data: cityRecord('DE', 50, 8) }] });
  writeMmdb(b, {
    databaseType: 'GeoLite2-City',
    buildEpoch: BUILT,
    networks: [{ cidr: '5.9.0.0/16', data: cityRecord('FR', 48.85, 2.35) }],
  });
  const geo = new GeoLookup(readMaxmindDatabase(a));
  assert.equal(geo.lookup('5.9.0.1')?.country, 'DE');
  geo.setData(readMaxmindDatabase(b));
  assert.equal(geo.lookup('5.9.0.1')?.country, 'FR');
});
