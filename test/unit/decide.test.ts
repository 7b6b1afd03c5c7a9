import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision, Geo, Mode, RequestFacts, Snapshot, WriteMark } from '../../src/types.js';
import { decide, requestKind } from '../../src/routing/decide.js';
import { rendezvousOrder, rendezvousTop } from '../../src/routing/rendezvous.js';
import { bundledGeoData } from '../../src/identity/geo-bundled.js';
import { GeoLookup } from '../../src/identity/geoip.js';
import { clientFor } from '../helpers/clients.js';
import { threeRegions, type ConfigInput } from '../helpers/config.js';
import { healthView, type HealthInput } from '../helpers/health-view.js';

const NOW = 1_700_000_000_000;
const geoip = new GeoLookup(bundledGeoData());
const REGION_NAMES = threeRegions().regions.map((r) => r.name);

/** Real GeoIP record of the test client for a country. */
function geoOf(country: string, family: 4 | 6 = 4): { ip: string; geo: Geo } {
  const c = clientFor(country, family);
  const geo = geoip.lookup(c.ip);
  assert.ok(geo !== null, `${c.ip} must resolve`);
  return { ip: c.ip, geo };
}

interface FactsInput {
  country?: string | null; // real client of that country; null = unknown location
  family?: 4 | 6;
  geo?: Geo | null; // hand-made geo instead of country
  method?: string;
  path?: string;
  userKey?: string | null;
  homeRegion?: string | null;
  homeTrusted?: boolean;
  writeMark?: WriteMark | null;
  rand?: number;
}

function facts(f: FactsInput = {}): RequestFacts {
  let ip: string | null = null;
  let geo: Geo | null = null;
  if (f.geo !== undefined) geo = f.geo;
  else if (f.country !== null) ({ ip, geo } = geoOf(f.country ?? 'DE', f.family));
  return {
    method: f.method ?? 'GET',
    path: f.path ?? '/',
    host: null,
    ip,
    geo,
    userKey: f.userKey ?? null,
    homeRegion: f.homeRegion ?? null,
    homeTrusted: f.homeTrusted ?? false,
    writeMark: f.writeMark ?? null,
    rand: f.rand ?? 0,
  };
}

/** A key whose rendezvous home over the three regions is `region`. */
function keyHomedIn(region: string): string {
  for (let i = 0; ; i++) if (rendezvousTop(`user-${i}`, REGION_NAMES) === region) return `user-${i}`;
}

interface Expect {
  region: string | null;
  reason: Decision['reason'];
  candidates?: string[];
  status?: 404 | 503 | null;
  rule?: string | null;
  detail?: RegExp;
  selector?: Decision['selector'];
  kind?: Decision['kind'];
}

interface Case {
  name: string;
  snap?: Snapshot;
  facts: RequestFacts;
  health?: HealthInput;
  now?: number;
  want: Expect;
}

function check(c: Case): Decision {
  const d = decide(c.snap ?? threeRegions(), c.facts, healthView(c.health), c.now ?? NOW);
  const w = c.want;
  const got = `${d.region} ${d.reason} [${d.candidates.join(',')}] ${d.status} (${d.detail})`;
  assert.equal(d.region, w.region, `${c.name}: region — got ${got}`);
  assert.equal(d.reason, w.reason, `${c.name}: reason — got ${got}`);
  assert.equal(d.status, w.status ?? null, `${c.name}: status — got ${got}`);
  if (w.candidates !== undefined) assert.deepEqual([...d.candidates], w.candidates, `${c.name}: candidates — got ${got}`);
  if (w.rule !== undefined) assert.equal(d.residencyRule, w.rule, `${c.name}: rule`);
  if (w.detail !== undefined) assert.match(d.detail, w.detail, `${c.name}: detail`);
  if (w.selector !== undefined) assert.equal(d.selector, w.selector, `${c.name}: selector`);
  if (w.kind !== undefined) assert.equal(d.kind, w.kind, `${c.name}: kind`);
  if (d.region !== null) assert.equal(d.candidates[0], d.region, `${c.name}: region is the first candidate`);
  assert.ok(d.detail.length > 0, `${c.name}: has a detail`);
  return d;
}

const modeSnap = (mode: Mode, extra: ConfigInput = {}): Snapshot => threeRegions({ routes: [{ name: 'default', mode }], ...extra });

test('requestKind', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS']) assert.equal(requestKind(m), 'read');
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) assert.equal(requestKind(m), 'write');
});

test('mode table: every mode, reads and writes', () => {
  const alice = keyHomedIn('ap-southeast');
  const cases: Case[] = [
    // active-active: nearest / nearest
    {
      name: 'aa read DE',
      snap: modeSnap('active-active'),
      facts: facts({ country: 'DE' }),
      want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west', 'us-east', 'ap-southeast'], selector: 'nearest', kind: 'read' },
    },
    {
      name: 'aa write DE',
      snap: modeSnap('active-active'),
      facts: facts({ country: 'DE', method: 'POST' }),
      want: { region: 'eu-west', reason: 'nearest', selector: 'nearest', kind: 'write' },
    },
    {
      name: 'aa read JP',
      snap: modeSnap('active-active'),
      facts: facts({ country: 'JP' }),
      want: { region: 'ap-southeast', reason: 'nearest' },
    },
    {
      name: 'aa write US (country pin)',
      snap: modeSnap('active-active'),
      facts: facts({ country: 'US', method: 'PUT' }),
      want: { region: 'us-east', reason: 'country' },
    },
    // home: home / home
    {
      name: 'home read hashed',
      snap: modeSnap('home'),
      facts: facts({ country: 'DE', userKey: alice }),
      want: { region: 'ap-southeast', reason: 'home-hash', candidates: rendezvousOrder(alice, REGION_NAMES), selector: 'home' },
    },
    {
      name: 'home write hashed',
      snap: modeSnap('home'),
      facts: facts({ country: 'DE', userKey: alice, method: 'DELETE' }),
      want: { region: 'ap-southeast', reason: 'home-hash', kind: 'write' },
    },
    {
      name: 'home explicit beats hash',
      snap: modeSnap('home'),
      facts: facts({ country: 'JP', userKey: alice, homeRegion: 'us-east' }),
      want: { region: 'us-east', reason: 'home-explicit', candidates: ['us-east', 'ap-southeast', 'eu-west'] },
    },
    {
      name: 'home without user key → nearest',
      snap: modeSnap('home'),
      facts: facts({ country: 'JP', method: 'POST' }),
      want: { region: 'ap-southeast', reason: 'nearest' },
    },
    // read-local-write-global: nearest / primary
    {
      name: 'rlwg read DE local',
      snap: modeSnap('read-local-write-global'),
      facts: facts({ country: 'DE' }),
      want: { region: 'eu-west', reason: 'nearest', selector: 'nearest' },
    },
    {
      name: 'rlwg write DE global',
      snap: modeSnap('read-local-write-global'),
      facts: facts({ country: 'DE', method: 'POST' }),
      health: { lag: { 'eu-west': 100 } },
      want: { region: 'us-east', reason: 'write-primary', candidates: ['us-east'], selector: 'primary' },
    },
    // active-passive: primary / primary
    {
      name: 'ap read JP goes to primary',
      snap: modeSnap('active-passive'),
      facts: facts({ country: 'JP' }),
      want: { region: 'us-east', reason: 'write-primary', candidates: ['us-east', 'eu-west'], selector: 'primary' },
    },
    {
      name: 'ap write JP goes to primary',
      snap: modeSnap('active-passive'),
      facts: facts({ country: 'JP', method: 'PATCH' }),
      want: { region: 'us-east', reason: 'write-primary', candidates: ['us-east'] },
    },
    {
      name: 'ap standby takes over when write region moved',
      snap: modeSnap('active-passive'),
      facts: facts({ country: 'US', method: 'POST' }),
      health: { down: ['us-east'], writeRegion: 'eu-west' },
      want: { region: 'eu-west', reason: 'write-primary', candidates: ['eu-west'] },
    },
    {
      name: 'ap read fails over to standby',
      snap: modeSnap('active-passive'),
      facts: facts({ country: 'US' }),
      health: { down: ['us-east'] },
      want: { region: 'eu-west', reason: 'failover', candidates: ['eu-west'] },
    },
  ];
  for (const c of cases) check(c);
});

test('explicit reads/writes selectors', () => {
  const snap = threeRegions({ routes: [{ name: 'default', reads: 'home', writes: 'primary' }] });
  const bob = keyHomedIn('eu-west');
  check({
    name: 'reads home',
    snap,
    facts: facts({ country: 'US', userKey: bob }),
    want: { region: 'eu-west', reason: 'home-hash', selector: 'home' },
  });
  check({
    name: 'writes primary',
    snap,
    facts: facts({ country: 'JP', userKey: bob, method: 'POST' }),
    want: { region: 'us-east', reason: 'write-primary', selector: 'primary' },
  });
  const d = decide(snap, facts(), healthView(), NOW);
  assert.equal(d.route?.mode, null);
});

test('country pins, nearest ordering and distances', () => {
  const snap = threeRegions({
    regions: [
      { name: 'us-east', location: { lat: 39.04, lon: -77.49 }, endpoints: ['http://127.0.0.1:9001'], countries: ['US', 'CA'] },
      { name: 'eu-west', location: { lat: 53.35, lon: -6.26 }, endpoints: ['http://127.0.0.1:9002'] },
      { name: 'ap-southeast', location: { lat: 1.35, lon: 103.82 }, endpoints: ['http://127.0.0.1:9003'], countries: ['BR'] },
    ],
  });
  check({ name: 'CA pinned', snap, facts: facts({ country: 'CA' }), want: { region: 'us-east', reason: 'country' } });
  // BR is nearer us-east, but pinned to ap-southeast; the rest stays by distance.
  check({
    name: 'BR pinned far away',
    snap,
    facts: facts({ country: 'BR' }),
    want: { region: 'ap-southeast', reason: 'country', candidates: ['ap-southeast', 'us-east', 'eu-west'] },
  });
  check({
    name: 'BR unpinned → nearest',
    facts: facts({ country: 'BR' }),
    want: { region: 'us-east', reason: 'nearest', candidates: ['us-east', 'eu-west', 'ap-southeast'] },
  });
  check({ name: 'IN → ap-southeast', facts: facts({ country: 'IN' }), want: { region: 'ap-southeast', reason: 'nearest' } });
  check({ name: 'AU → ap-southeast', facts: facts({ country: 'AU' }), want: { region: 'ap-southeast', reason: 'nearest' } });
  check({ name: 'GB → eu-west', facts: facts({ country: 'GB' }), want: { region: 'eu-west', reason: 'nearest' } });
  check({
    name: 'pinned region down → next by distance',
    snap,
    facts: facts({ country: 'BR' }),
    health: { down: ['ap-southeast'] },
    want: { region: 'us-east', reason: 'failover', candidates: ['us-east', 'eu-west'] },
  });
  check({
    name: 'country pin without coordinates',
    facts: facts({ geo: { country: 'US', eu: false, lat: null, lon: null } }),
    want: { region: 'us-east', reason: 'country' },
  });

  const d = decide(threeRegions(), facts({ country: 'DE' }), healthView(), NOW);
  const dist = new Map(d.preference.map((c) => [c.region, c.distanceKm] as const));
  assert.ok(Math.abs((dist.get('eu-west') ?? 0) - 1320) < 80, `Berlin→Dublin ${dist.get('eu-west')}`);
  assert.ok((dist.get('us-east') ?? 0) > 6000 && (dist.get('ap-southeast') ?? 0) > 9000);
  const primary = decide(modeSnap('active-passive'), facts({ country: 'DE' }), healthView(), NOW);
  assert.ok(
    primary.preference.every((c) => typeof c.distanceKm === 'number'),
    'distances on primary preference too',
  );
});

test('IPv6 clients', () => {
  check({ name: 'DE v6', facts: facts({ country: 'DE', family: 6 }), want: { region: 'eu-west', reason: 'nearest' } });
  check({ name: 'JP v6', facts: facts({ country: 'JP', family: 6 }), want: { region: 'ap-southeast', reason: 'nearest' } });
});

test('unknown location', () => {
  const snap = threeRegions({ unknownLocation: 'eu-west' });
  check({
    name: 'no geo',
    snap,
    facts: facts({ country: null }),
    want: { region: 'eu-west', reason: 'unknown-location', candidates: ['eu-west', 'us-east', 'ap-southeast'] },
  });
  check({
    name: 'country without pin and no coordinates',
    snap,
    facts: facts({ geo: { country: 'DE', eu: true, lat: null, lon: null } }),
    want: { region: 'eu-west', reason: 'unknown-location' },
  });
  check({
    name: 'pinned country still counts without coordinates',
    snap,
    facts: facts({ geo: { country: 'CA', eu: false, lat: null, lon: null } }),
    want: { region: 'us-east', reason: 'country', candidates: ['us-east', 'eu-west', 'ap-southeast'] },
  });
  check({
    name: 'unknownLocation down',
    snap,
    facts: facts({ country: null }),
    health: { down: ['eu-west'] },
    want: { region: 'us-east', reason: 'failover', candidates: ['us-east', 'ap-southeast'] },
  });
  check({
    name: 'default unknownLocation',
    snap: threeRegions({ unknownLocation: 'ap-southeast' }),
    facts: facts({ country: null }),
    want: { region: 'ap-southeast', reason: 'unknown-location', candidates: ['ap-southeast', 'us-east', 'eu-west'] },
  });
  const d = decide(snap, facts({ country: null }), healthView(), NOW);
  assert.ok(d.preference.every((c) => c.distanceKm === null));
});

test('per-snapshot caches do not leak between snapshots', () => {
  const geo: Geo = { country: null, eu: false, lat: 1.3, lon: 103.8 };
  const a = decide(threeRegions(), facts({ geo }), healthView(), NOW);
  const b = decide(
    threeRegions({
      regions: [
        { name: 'x', location: { lat: 50, lon: 0 }, endpoints: ['http://127.0.0.1:9001'] },
        { name: 'y', location: { lat: 0, lon: 100 }, endpoints: ['http://127.0.0.1:9002'] },
      ],
      writes: { regions: ['x'] },
    }),
    facts({ geo }),
    healthView(),
    NOW,
  );
  assert.equal(a.region, 'ap-southeast');
  assert.equal(b.region, 'y');
  assert.equal(decide(threeRegions(), facts({ geo }), healthView(), NOW).region, 'ap-southeast');
});

test('residency', () => {
  const gdpr = { name: 'gdpr', countries: ['EU'], regions: ['eu-west'] };
  const deOnly = { name: 'de', countries: ['DE'], regions: ['eu-west'] };
  const homes = { name: 'eu-homes', homeRegions: ['eu-west'], regions: ['eu-west'] };
  const rlwg = (extra: ConfigInput = {}) => modeSnap('read-local-write-global', extra);
  const cases: Case[] = [
    {
      name: 'country rule, nearest already allowed',
      snap: threeRegions({ residency: [deOnly] }),
      facts: facts({ country: 'DE' }),
      want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west'], rule: 'de' },
    },
    {
      name: 'EU flag matches FR: its write cannot go to the us-east write region',
      snap: rlwg({ residency: [gdpr] }),
      facts: facts({ country: 'FR', method: 'POST' }),
      health: { lag: { 'eu-west': 100 } },
      want: { region: null, reason: 'residency', status: 503, candidates: [], rule: 'gdpr', detail: /gdpr/ },
    },
    {
      name: 'EU write goes through once eu-west is the write region',
      snap: rlwg({ residency: [gdpr] }),
      facts: facts({ country: 'FR', method: 'POST' }),
      health: { writeRegion: 'eu-west' },
      want: { region: 'eu-west', reason: 'write-primary', candidates: ['eu-west'], rule: 'gdpr' },
    },
    {
      name: 'EU flag does not match GB (eu=0)',
      snap: rlwg({ residency: [gdpr] }),
      facts: facts({ country: 'GB', method: 'POST' }),
      health: { lag: { 'eu-west': 100 } },
      want: { region: 'us-east', reason: 'write-primary', rule: null },
    },
    {
      name: 'EU write with no allowed write candidate → 503 residency',
      snap: rlwg({ residency: [gdpr] }),
      facts: facts({ country: 'DE', method: 'POST' }),
      want: { region: null, reason: 'residency', status: 503, rule: 'gdpr', candidates: [] },
    },
    {
      name: 'failover never crosses residency',
      snap: threeRegions({ residency: [gdpr] }),
      facts: facts({ country: 'DE' }),
      health: { down: ['eu-west'] },
      want: { region: null, reason: 'residency', status: 503, rule: 'gdpr', detail: /gdpr/ },
    },
    {
      name: 'allDown try never crosses residency',
      snap: threeRegions({ residency: [gdpr], allDown: 'try' }),
      facts: facts({ country: 'DE' }),
      health: { down: ['eu-west'] },
      want: { region: null, reason: 'residency', status: 503, rule: 'gdpr' },
    },
    {
      name: 'everything down + try fails open inside residency',
      snap: threeRegions({ residency: [gdpr], allDown: 'try' }),
      facts: facts({ country: 'DE' }),
      health: { down: REGION_NAMES },
      want: { region: 'eu-west', reason: 'all-down', candidates: ['eu-west'], rule: 'gdpr' },
    },
    {
      name: 'everything down + reject with a rule → all-down',
      snap: threeRegions({ residency: [gdpr] }),
      facts: facts({ country: 'DE' }),
      health: { down: REGION_NAMES },
      want: { region: null, reason: 'all-down', status: 503, rule: 'gdpr' },
    },
    {
      name: 'explicit home region from a trusted proxy binds',
      snap: threeRegions({ residency: [homes] }),
      facts: facts({ country: 'US', homeRegion: 'eu-west', homeTrusted: true }),
      want: { region: 'eu-west', reason: 'residency', candidates: ['eu-west'], rule: 'eu-homes' },
    },
    {
      name: "a client's own explicit home region does not count for residency",
      snap: threeRegions({ residency: [homes] }),
      facts: facts({ country: 'US', homeRegion: 'eu-west' }),
      want: { region: 'us-east', reason: 'country', rule: null },
    },
    {
      name: "a client's own explicit home region cannot lift the hashed home's rule",
      snap: threeRegions({ residency: [homes] }),
      facts: facts({ country: 'US', userKey: keyHomedIn('eu-west'), homeRegion: 'us-east' }),
      want: { region: 'eu-west', reason: 'residency', candidates: ['eu-west'], rule: 'eu-homes' },
    },
    {
      name: 'hashed home region binds (nearest selector)',
      snap: threeRegions({ residency: [homes] }),
      facts: facts({ country: 'US', userKey: keyHomedIn('eu-west') }),
      want: { region: 'eu-west', reason: 'residency', candidates: ['eu-west'], rule: 'eu-homes' },
    },
    {
      name: 'hashed home elsewhere does not bind',
      snap: threeRegions({ residency: [homes] }),
      facts: facts({ country: 'US', userKey: keyHomedIn('ap-southeast') }),
      want: { region: 'us-east', reason: 'country', rule: null },
    },
    {
      name: 'first matching rule wins',
      snap: threeRegions({ residency: [{ name: 'us', countries: ['DE'], regions: ['us-east'] }, gdpr] }),
      facts: facts({ country: 'DE' }),
      want: { region: 'us-east', reason: 'residency', rule: 'us' },
    },
    {
      name: 'home selector filtered by residency',
      snap: modeSnap('home', { residency: [gdpr] }),
      facts: facts({ country: 'DE', userKey: keyHomedIn('ap-southeast') }),
      want: { region: 'eu-west', reason: 'residency', candidates: ['eu-west'] },
    },
    {
      name: 'IPv6 client matches EU rule',
      snap: threeRegions({ residency: [gdpr] }),
      facts: facts({ country: 'DE', family: 6 }),
      health: { down: ['eu-west'] },
      want: { region: null, reason: 'residency', status: 503 },
    },
  ];
  for (const c of cases) check(c);
});

test('health: failover and slow start', () => {
  check({
    name: 'first preference down',
    facts: facts({ country: 'DE' }),
    health: { down: ['eu-west'] },
    want: { region: 'us-east', reason: 'failover', candidates: ['us-east', 'ap-southeast'], detail: /eu-west/ },
  });
  check({
    name: 'non-first down keeps reason',
    facts: facts({ country: 'DE' }),
    health: { down: ['us-east'] },
    want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west', 'ap-southeast'] },
  });
  const slow = { weights: { 'eu-west': 0.3 } };
  check({
    name: 'slow start: rand below weight keeps it',
    facts: facts({ country: 'DE', rand: 0.1 }),
    health: slow,
    want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west', 'us-east', 'ap-southeast'] },
  });
  check({
    name: 'slow start: rand at weight diverts',
    facts: facts({ country: 'DE', rand: 0.3 }),
    health: slow,
    want: { region: 'us-east', reason: 'failover', candidates: ['us-east', 'eu-west', 'ap-southeast'], detail: /slow start/ },
  });
  check({
    name: 'slow start: rand above weight diverts',
    facts: facts({ country: 'DE', rand: 0.9 }),
    health: slow,
    want: { region: 'us-east', reason: 'failover', detail: /slow start/ },
  });
  check({
    name: 'slow start: sole candidate keeps traffic',
    facts: facts({ country: 'DE', rand: 0.9 }),
    health: { ...slow, down: ['us-east', 'ap-southeast'] },
    want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west'] },
  });
  check({
    name: 'all down, reject',
    facts: facts({ country: 'DE' }),
    health: { down: REGION_NAMES },
    want: { region: null, reason: 'all-down', status: 503, candidates: [] },
  });
  check({
    name: 'all down, try → first preference',
    snap: threeRegions({ allDown: 'try' }),
    facts: facts({ country: 'DE' }),
    health: { down: REGION_NAMES },
    want: { region: 'eu-west', reason: 'all-down', status: null, candidates: ['eu-west', 'us-east', 'ap-southeast'] },
  });
});

test('primary: manual vs automatic failover', () => {
  const manual = modeSnap('read-local-write-global', { writes: { failover: 'manual' } });
  const auto = modeSnap('read-local-write-global');
  const autoUnknown = modeSnap('read-local-write-global', { writes: { allowUnknownLag: true } });
  const post = facts({ country: 'DE', method: 'POST' });
  const cases: Case[] = [
    {
      name: 'manual: only the write region',
      snap: manual,
      facts: post,
      health: { lag: { 'eu-west': 0 } },
      want: { region: 'us-east', reason: 'write-primary', candidates: ['us-east'] },
    },
    {
      name: 'manual: write region down → 503, not moved',
      snap: manual,
      facts: post,
      health: { down: ['us-east'], lag: { 'eu-west': 0 } },
      want: { region: null, reason: 'all-down', status: 503 },
    },
    {
      name: 'manual: operator moved the write region',
      snap: manual,
      facts: post,
      health: { down: ['us-east'], writeRegion: 'eu-west' },
      want: { region: 'eu-west', reason: 'write-primary', candidates: ['eu-west'] },
    },
    {
      name: 'manual reads (active-passive) may use the standby',
      snap: modeSnap('active-passive', { writes: { failover: 'manual' } }),
      facts: facts({ country: 'DE' }),
      health: { down: ['us-east'] },
      want: { region: 'eu-west', reason: 'failover' },
    },
    {
      name: 'automatic: writes only to the write region, even with a fresh standby',
      snap: auto,
      facts: post,
      health: { lag: { 'eu-west': 0 } },
      want: { region: 'us-east', reason: 'write-primary', candidates: ['us-east'] },
    },
    {
      name: 'automatic, unknown lag allowed: still only the write region',
      snap: autoUnknown,
      facts: post,
      want: { region: 'us-east', candidates: ['us-east'], reason: 'write-primary' },
    },
    {
      name: 'automatic: write region down but not yet moved → 503, no router-local move',
      snap: auto,
      facts: post,
      health: { down: ['us-east'], lag: { 'eu-west': 10 } },
      want: { region: null, reason: 'all-down', status: 503 },
    },
    {
      name: 'write region moved to eu-west',
      snap: auto,
      facts: post,
      health: { writeRegion: 'eu-west', lag: { 'us-east': 10 } },
      want: { region: 'eu-west', reason: 'write-primary', candidates: ['eu-west'] },
    },
    {
      name: 'no write region → 503',
      snap: auto,
      facts: post,
      health: { writeRegion: null },
      want: { region: null, reason: 'all-down', status: 503, detail: /no write region available/ },
    },
    {
      name: 'no write region, try: a write still gets 503 (allDown: try never moves writes)',
      snap: modeSnap('read-local-write-global', { allDown: 'try' }),
      facts: post,
      health: { writeRegion: null },
      want: { region: null, reason: 'all-down', status: 503, detail: /no write region available/ },
    },
    {
      name: 'no write region, try: an active-passive read fails open to the first write candidate',
      snap: modeSnap('active-passive', { allDown: 'try' }),
      facts: facts({ country: 'JP' }),
      health: { writeRegion: null },
      want: { region: 'us-east', reason: 'all-down', status: null },
    },
    {
      name: 'reads unaffected by lag filter',
      snap: modeSnap('active-passive'),
      facts: facts({ country: 'DE' }),
      health: { lag: { 'eu-west': 60_000 } },
      want: { region: 'us-east', reason: 'write-primary', candidates: ['us-east', 'eu-west'] },
    },
  ];
  for (const c of cases) check(c);
});

test('read-your-writes', () => {
  const rywRoute = { name: 'default', mode: 'read-local-write-global', readYourWrites: '10s' };
  const snap = threeRegions({ routes: [rywRoute] });
  const gdpr = { name: 'gdpr', countries: ['EU'], regions: ['eu-west'] };
  const mark = (region: string, ago: number): WriteMark => ({ region, at: NOW - ago });
  const read = (m: WriteMark | null, extra: FactsInput = {}) => facts({ country: 'DE', writeMark: m, ...extra });
  const cases: Case[] = [
    {
      name: 'inside window, local lag unknown',
      snap,
      facts: read(mark('us-east', 2000)),
      want: { region: 'us-east', reason: 'read-your-writes', candidates: ['us-east', 'eu-west', 'ap-southeast'], detail: /us-east/ },
    },
    {
      name: 'inside window, local lag above elapsed',
      snap,
      facts: read(mark('us-east', 2000)),
      health: { lag: { 'eu-west': 2500 } },
      want: { region: 'us-east', reason: 'read-your-writes' },
    },
    {
      name: 'local lag below elapsed → local is safe',
      snap,
      facts: read(mark('us-east', 2000)),
      health: { lag: { 'eu-west': 1500 } },
      want: { region: 'eu-west', reason: 'nearest' },
    },
    { name: 'outside window', snap, facts: read(mark('us-east', 10_001)), want: { region: 'eu-west', reason: 'nearest' } },
    {
      name: 'mark region unavailable',
      snap,
      facts: read(mark('us-east', 2000)),
      health: { down: ['us-east'] },
      want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west', 'ap-southeast'] },
    },
    { name: 'mark region is local', snap, facts: read(mark('eu-west', 2000)), want: { region: 'eu-west', reason: 'nearest' } },
    {
      name: 'local down: failover-local compared against mark',
      snap,
      facts: read(mark('ap-southeast', 2000)),
      health: { down: ['eu-west'], lag: { 'us-east': 0 } },
      want: { region: 'us-east', reason: 'failover' },
    },
    {
      name: 'writes ignore marks',
      snap,
      facts: read(mark('eu-west', 2000), { method: 'POST' }),
      health: { lag: { 'eu-west': 0 } },
      want: { region: 'us-east', reason: 'write-primary' },
    },
    {
      name: 'route without readYourWrites ignores marks',
      facts: read(mark('us-east', 2000)),
      want: { region: 'eu-west', reason: 'nearest' },
    },
    {
      name: 'never crosses residency',
      snap: threeRegions({ routes: [rywRoute], residency: [gdpr] }),
      facts: read(mark('us-east', 2000)),
      want: { region: 'eu-west', reason: 'nearest', candidates: ['eu-west'] },
    },
    {
      name: 'slightly future-dated mark counts as just written',
      snap,
      facts: read({ region: 'us-east', at: NOW + 1000 }),
      health: { lag: { 'eu-west': 1 } },
      want: { region: 'us-east', reason: 'read-your-writes' },
    },
  ];
  for (const c of cases) check(c);
});

test('no route → 404', () => {
  const snap = threeRegions({
    routes: [
      { name: 'api', match: { pathPrefix: '/api' } },
      { name: 'static', match: { pathPrefix: '/static', methods: ['GET'] } },
    ],
  });
  check({ name: 'path', snap, facts: facts({ path: '/other' }), want: { region: null, reason: 'no-route', status: 404, candidates: [] } });
  check({
    name: 'method',
    snap,
    facts: facts({ path: '/static/a', method: 'POST' }),
    want: { region: null, reason: 'no-route', status: 404, kind: 'write' },
  });
  const d = decide(snap, facts({ path: '/other' }), healthView(), NOW);
  assert.equal(d.route, null);
  assert.equal(d.selector, null);
});

test('decide is pure: same inputs, same output; inputs untouched', () => {
  const snap = modeSnap('home');
  const f = facts({ country: 'DE', userKey: 'k1', rand: 0.99 });
  const h = healthView({ weights: { 'eu-west': 0.5, 'us-east': 0.5, 'ap-southeast': 0.5 } });
  const a = decide(snap, f, h, NOW);
  const b = decide(snap, f, h, NOW);
  assert.deepEqual(a, b);
  // Cached preference lists and remembered decisions are shared: a caller cannot mutate them, so
  // later decisions cannot be poisoned.
  const c1 = decide(snap, facts({ country: 'DE' }), healthView(), NOW);
  assert.throws(() => (c1.candidates as string[]).reverse(), TypeError);
  assert.deepEqual([...decide(snap, facts({ country: 'DE' }), healthView(), NOW).candidates], ['eu-west', 'us-east', 'ap-southeast']);
});

// ---- remembered decisions --------------------------------------------------------------------

test('a decision without user key, home region or write mark is remembered per health view, equal to a fresh one', () => {
  const snap = threeRegions();
  const view = healthView();
  const f = facts({ country: 'DE' });
  const a = decide(snap, f, view, NOW);
  const b = decide(snap, { ...f, path: '/other' }, view, NOW + 60_000);
  assert.equal(b, a, 'the same route, kind, location and view give the remembered decision');
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.candidates), 'a shared decision cannot be changed by a caller');
  assert.deepEqual(decide(snap, f, healthView(), NOW), a, 'what computing it again on an equal view gives');
  assert.notEqual(decide(snap, { ...f, method: 'POST' }, view, NOW), a, 'writes are remembered apart from reads');
});

test('a new health view is decided afresh: a region that went down is not served from memory', () => {
  const snap = threeRegions();
  const f = facts({ country: 'DE' });
  const up = decide(snap, f, healthView(), NOW);
  assert.equal(up.region, 'eu-west');
  const down = decide(snap, f, healthView({ down: ['eu-west'] }), NOW);
  assert.notEqual(down.region, 'eu-west');
  assert.equal(down.reason, 'failover');
});

test('slow start draws are never remembered; decisions with a user key are computed every time', () => {
  const snap = threeRegions();
  const view = healthView({ weights: { 'eu-west': 0.5 } });
  const low = decide(snap, facts({ country: 'DE', rand: 0.1 }), view, NOW);
  const high = decide(snap, facts({ country: 'DE', rand: 0.9 }), view, NOW);
  assert.equal(low.region, 'eu-west');
  assert.notEqual(high.region, 'eu-west', 'the same view and location, another draw, another answer');
  const keyed = facts({ country: 'DE', userKey: 'u-1' });
  assert.notEqual(decide(snap, keyed, healthView(), NOW), decide(snap, keyed, healthView(), NOW));
  const plainView = healthView();
  const k1 = decide(snap, keyed, plainView, NOW);
  assert.notEqual(decide(snap, keyed, plainView, NOW), k1, 'not remembered');
});

test('remembered locations per view are bounded', () => {
  const snap = threeRegions();
  const view = healthView();
  const geoAt = (i: number): Geo => Object.freeze({ country: 'DE', eu: true, lat: 50 + i / 10_000, lon: 8 });
  for (let i = 0; i < 4096; i++) decide(snap, facts({ geo: geoAt(i) }), view, NOW);
  const first = geoAt(-1);
  assert.notEqual(
    decide(snap, facts({ geo: first }), view, NOW),
    decide(snap, facts({ geo: first }), view, NOW),
    'the 4097th location is not remembered',
  );
});
