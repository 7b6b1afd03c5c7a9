// The values around the protocol: the fleet config's defaults and errors, records read back from etcd
// (junk is ignored, never thrown), the fleet state and its events, and the shared-state port for a
// router on its own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultFleetId, FLEET_DEFAULTS, resolveFleetConfig } from '../../src/fleet/config.js';
import { fleetEvents } from '../../src/fleet/fleet-events.js';
import { readFleetState, type StoredEntry } from '../../src/fleet/fleet-state.js';
import { LocalSharedState } from '../../src/fleet/local-state.js';
import { encode, KEYS, parseDial, parseView, parseWriteKey, segment } from '../../src/fleet/records.js';
import { dialPercent, evacuationDial, mayWrite } from '../../src/fleet/shared-state.js';
import { FakeClock } from '../helpers/fake-clock.js';

test('fleet config: defaults, and every error named by its key', () => {
  const r = resolveFleetConfig({ etcd: { endpoints: ['http://10.0.0.5:2379'], prefix: '/meridian/prod' } });
  assert.ok(r.ok);
  assert.equal(r.config.etcd.prefix, '/meridian/prod/', 'the prefix always ends with /');
  assert.equal(r.config.leaseMs, FLEET_DEFAULTS.leaseMs);
  assert.equal(r.config.quorum, 'majority');
  assert.equal(r.config.writesWithoutEtcd, 'stop');
  assert.equal(r.config.id, defaultFleetId());
  assert.match(defaultFleetId('edge fra/1', 42), /^edge-fra-1-42$/);
  const bad = resolveFleetConfig({
    etcd: { endpoints: ['http://a:2379', 'https://b:2379', 'nope'], prefix: '/', username: 'u', tls: { ca: 'ca.pem', cert: 'c.pem' } },
    id: 'has/slash',
    leaseMs: 500,
    quorum: 0,
  });
  assert.ok(!bad.ok);
  const keys = bad.errors.map((e) => e.split(':')[0]);
  for (const k of [
    'fleet.etcd.endpoints',
    'fleet.etcd.prefix',
    'fleet.etcd',
    'fleet.etcd.tls',
    'fleet.id',
    'fleet.lease',
    'fleet.quorum',
  ]) {
    assert.ok(keys.includes(k), `no error for ${k}: ${bad.errors.join(' | ')}`);
  }
  assert.ok(bad.errors.some((e) => /mixes http and https/.test(e)));
});

test('records read back from etcd: the right shape or nothing', () => {
  assert.deepEqual(parseWriteKey(encode({ region: 'us', epoch: 3, state: 'active' })), { region: 'us', epoch: 3, state: 'active' });
  for (const junk of [
    '',
    'null',
    '[]',
    '{"region":"us","epoch":0,"state":"active"}',
    '{"region":"us","epoch":1.5,"state":"active"}',
    '{"region":"us","epoch":1,"state":"maybe"}',
    '{"epoch":1,"state":"active"}',
  ]) {
    assert.equal(parseWriteKey(junk), null, junk);
  }
  assert.deepEqual(parseDial('{"percent":30,"ramp":null}'), { percent: 30, ramp: null });
  assert.equal(parseDial('{"percent":101}'), null);
  assert.equal(parseDial('{"percent":0,"ramp":{"from":100,"to":0,"startedAt":-1,"overMs":5}}'), null);
  const v = parseView('{"at":1,"regions":{"us":{"up":true,"lagMs":12},"eu":{"up":false,"lagMs":"x"},"ap":"junk"}}');
  assert.deepEqual(v, { at: 1, regions: { us: { up: true, lagMs: 12 }, eu: { up: false, lagMs: null } } });
});

function entries(kv: Record<string, string>): { get(k: string): StoredEntry | undefined; under(s: string): [string, StoredEntry][] } {
  const m = new Map(
    Object.entries(kv).map(([k, v], i) => [k, { value: Buffer.from(v), modRevision: i + 1, createRevision: i + 1, lease: '7' }]),
  );
  return { get: (k) => m.get(k), under: (s) => [...m].filter(([k]) => k.startsWith(s)).map(([k, e]) => [k.slice(s.length), e]) };
}

test('the fleet state read from the entries; a member record filed under another id is ignored', () => {
  const member = (id: string) => encode({ id, site: 'fra', version: '1', startedAt: 5 });
  const st = readFleetState(
    entries({
      [KEYS.members + 'a']: member('a'),
      [KEYS.members + 'b']: member('someone-else'),
      [KEYS.views + 'a']: encode({ at: 1, regions: { us: { up: true, lagMs: null } } }),
      [KEYS.drains + segment('eu west')]: encode({ at: 1 }),
      [KEYS.drains + 'ap']: encode({ at: 1 }),
      [KEYS.dials + 'us']: encode({ percent: 40, ramp: null }),
      [KEYS.dials + 'eu']: 'junk',
      [KEYS.leader]: encode({ id: 'a' }),
      [KEYS.writeRegion]: encode({ region: 'us', epoch: 2, state: 'handover' }),
      [KEYS.manualWriteRegion]: encode({ region: 'us', at: 1 }),
      [KEYS.readYourWritesKey]: 'k3y',
    }),
  );
  assert.deepEqual([...st.members.keys()], ['a']);
  assert.deepEqual(st.drains, ['ap', 'eu west']);
  assert.deepEqual(st.dials, { us: { percent: 40, ramp: null } });
  assert.equal(st.leader, 'a');
  assert.deepEqual(st.writeKey, { region: 'us', epoch: 2, state: 'handover' });
  assert.ok(st.writeKeyRevision > 0);
  assert.equal(st.manualWriteRegion, 'us');
  assert.equal(st.readYourWritesKey, 'k3y');
  assert.equal(st.views.get('a')?.regions.us?.up, true);
});

test('fleet events: joins, leaves, leader changes, handover start and done', () => {
  const m = (id: string) => encode({ id, site: null, version: '1', startedAt: 5 });
  const s1 = readFleetState(
    entries({ [KEYS.members + 'a']: m('a'), [KEYS.writeRegion]: encode({ region: 'us', epoch: 1, state: 'active' }) }),
  );
  const s2 = readFleetState(
    entries({
      [KEYS.members + 'b']: m('b'),
      [KEYS.leader]: encode({ id: 'b' }),
      [KEYS.writeRegion]: encode({ region: 'eu', epoch: 2, state: 'handover' }),
    }),
  );
  const s3 = readFleetState(
    entries({
      [KEYS.members + 'b']: m('b'),
      [KEYS.leader]: encode({ id: 'b' }),
      [KEYS.writeRegion]: encode({ region: 'eu', epoch: 2, state: 'active' }),
    }),
  );
  assert.deepEqual(
    fleetEvents(s1, s2, 'b', (e) => (e === 2 ? 'failover' : null)),
    [
      { event: 'fleet-member-joined', member: 'b', site: null },
      { event: 'fleet-member-left', member: 'a' },
      { event: 'fleet-leader', leader: 'b', self: true },
      { event: 'write-handover-start', from: 'us', to: 'eu', epoch: 2, why: 'failover' },
    ],
  );
  assert.deepEqual(
    fleetEvents(s2, s3, 'a', () => null),
    [{ event: 'write-handover-done', region: 'eu', epoch: 2 }],
  );
  assert.deepEqual(
    fleetEvents(s3, s3, 'a', () => null),
    [],
  );
});

test('dials: a linear ramp, clamped, in whole percent; an evacuation starts where the dial is', () => {
  const ramp = { percent: 0, ramp: { from: 80, to: 0, startedAt: 1000, overMs: 10_000 } };
  assert.equal(dialPercent(undefined, 0), 100);
  assert.equal(dialPercent({ percent: 30, ramp: null }, 0), 30);
  assert.deepEqual(
    [0, 1000, 6000, 11_000, 99_999].map((t) => dialPercent(ramp, t)),
    [80, 80, 40, 0, 0],
  );
  assert.deepEqual(evacuationDial(ramp, 5000, 6000), { percent: 0, ramp: { from: 40, to: 0, startedAt: 6000, overMs: 5000 } });
});

test('LocalSharedState: operator state in memory, epochs like the fleet, changes announced', async () => {
  const clock = new FakeClock(0);
  const local = new LocalSharedState(clock);
  const seen: number[] = [];
  const off = local.onChange((s) => seen.push(s.version));
  assert.equal(local.snapshot().writable, false);
  assert.equal(local.snapshot().writeRefusal, 'no-write-region');
  local.followLocalDecision('us');
  assert.deepEqual(local.snapshot().writeRegion, { region: 'us', epoch: 1, state: 'active' });
  assert.ok(mayWrite(local.snapshot(), clock.now()), 'no fence without a fleet');
  await local.setWriteRegion('eu');
  assert.deepEqual(local.snapshot().writeRegion, { region: 'eu', epoch: 2, state: 'active' });
  assert.equal(local.snapshot().manualWriteRegion, 'eu');
  await local.setWriteRegion('eu');
  assert.equal(local.snapshot().writeRegion?.epoch, 2, 'the same region again: same epoch');
  local.followLocalDecision(null);
  local.followLocalDecision('eu');
  assert.equal(local.snapshot().writeRegion?.epoch, 3, 'epochs never repeat, even across a spell without a region');
  assert.equal(local.snapshot().manualWriteRegion, null, 'an automatic move ends the manual choice');
  await local.drain('ap');
  await local.drain('ap');
  await local.setDial('us', 30);
  clock.advance(1000);
  await local.evacuate('us', 3000);
  assert.deepEqual(local.snapshot().drains, ['ap']);
  assert.deepEqual(local.snapshot().dials.us, { percent: 0, ramp: { from: 30, to: 0, startedAt: 1000, overMs: 3000 } });
  await local.setDial('us', 100);
  assert.equal(local.snapshot().dials.us, undefined);
  await assert.rejects(local.setDial('us', 12.5), RangeError);
  assert.equal(await local.ensureReadYourWritesKey('k1'), 'k1');
  assert.equal(await local.ensureReadYourWritesKey('k2'), 'k1');
  assert.ok(Object.isFrozen(local.snapshot()));
  off();
  const before = seen.length;
  await local.undrain('ap');
  assert.equal(seen.length, before, 'unsubscribed');
  assert.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
    'versions only grow',
  );
});
