import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthStore } from '../../src/health/store.js';
import type { ProbeResult } from '../../src/health/prober.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { recorder, snapshot, type SnapOpts } from './health-fixtures.js';

const US1 = 'http://us1.test';
const US2 = 'http://us2.test';
const EU1 = 'http://eu1.test';
const AP1 = 'http://ap1.test';

function world(o: SnapOpts = {}) {
  const clock = new FakeClock();
  const events = recorder();
  const results = new Map<string, Partial<ProbeResult>>();
  const probed: string[] = [];
  const store = new HealthStore({
    clock,
    events,
    probe: (url): Promise<ProbeResult> => {
      probed.push(url);
      return Promise.resolve({ ok: true, durationMs: 1, ...results.get(url) });
    },
  });
  store.applySnapshot(snapshot(o));
  const set = (url: string, ok: boolean, lagMs?: number) => results.set(url, lagMs === undefined ? { ok } : { ok, lagMs });
  /** n probe rounds, 2 s apart (the first without advancing). */
  const rounds = async (n: number) => {
    for (let i = 0; i < n; i++) {
      if (i > 0) clock.advance(2000);
      await store.probeNow();
    }
  };
  return { clock, events, results, store, set, rounds, probed };
}

test('nothing available and not ready before the first probe round; ready after it', async () => {
  const w = world();
  assert.equal(w.store.ready(), false);
  assert.equal(w.store.view().isAvailable('us-east'), false);
  assert.equal(w.store.view().writeRegion, null);
  await w.store.probeNow();
  assert.equal(w.store.ready(), true);
  const v = w.store.view();
  for (const r of ['us-east', 'eu-west', 'ap-southeast']) assert.equal(v.isAvailable(r), true);
  assert.deepEqual(v.availableEndpoints('us-east'), [US1, US2]);
  assert.equal(v.weight('us-east'), 1);
  assert.equal(v.writeRegion, 'us-east');
  assert.deepEqual(w.events.of('writeRegionChanged'), [{ from: null, to: 'us-east', reason: 'initial' }]);
  assert.equal(w.events.of('probe').length, 4);
});

test('a failing first probe still counts for readiness', async () => {
  const w = world();
  w.set(EU1, false);
  await w.store.probeNow();
  assert.equal(w.store.ready(), true);
  assert.equal(w.store.view().isAvailable('eu-west'), false);
});

test('view() is cached until something changes', async () => {
  const w = world();
  await w.store.probeNow();
  const a = w.store.view();
  assert.equal(w.store.view(), a);
  w.clock.advance(60_000);
  assert.equal(w.store.view(), a);
  await w.store.probeNow(); // all pass again: nothing changed
  assert.equal(w.store.view(), a);
  assert.equal(w.store.drain('eu-west'), true);
  const b = w.store.view();
  assert.notEqual(b, a);
  assert.equal(b.isAvailable('eu-west'), false);
  assert.equal(a.isAvailable('eu-west'), true, 'old views are immutable');
});

test('drain / undrain take effect at once; unknown region → false', async () => {
  const w = world();
  w.set(EU1, true, 100);
  await w.store.probeNow();
  assert.equal(w.store.drain('mars'), false);
  assert.equal(w.store.undrain('mars'), false);
  assert.equal(w.store.drain('us-east'), true);
  assert.equal(w.store.view().isAvailable('us-east'), false);
  // the write region follows availability
  assert.equal(w.store.view().writeRegion, 'eu-west');
  assert.equal(w.store.undrain('us-east'), true);
  assert.equal(w.store.view().isAvailable('us-east'), true);
  assert.deepEqual(
    w.events
      .of('regionTransition')
      .filter((e) => e['region'] === 'us-east')
      .map((e) => [e['from'], e['to'], e['cause']]),
    [
      ['unknown', 'available', 'probe'],
      ['available', 'drained', 'drain'],
      ['drained', 'available', 'undrain'],
    ],
  );
});

test('region stays available while one of two endpoints is DOWN', async () => {
  const w = world();
  await w.rounds(1);
  w.set(US1, false);
  await w.rounds(4);
  const v = w.store.view();
  assert.equal(v.isAvailable('us-east'), true);
  assert.deepEqual(v.availableEndpoints('us-east'), [US2]);
  assert.deepEqual(
    w.events
      .of('endpointTransition')
      .filter((e) => e['endpoint'] === US1)
      .map((e) => e['to']),
    ['up', 'down'],
  );
});

test('failback delay after recovery; any DOWN during the wait restarts it; then slow start ramps', async () => {
  const w = world({ regions: { 'us-east': [US1, US2], 'eu-west': [EU1] }, health: { slowStart: '10s' } });
  await w.rounds(1);
  w.set(US1, false);
  w.set(US2, false);
  await w.rounds(4); // DOWN after the 3rd failure
  assert.equal(w.store.view().isAvailable('us-east'), false);
  w.set(US1, true);
  w.set(US2, true);
  w.clock.advance(2000);
  await w.store.probeNow();
  w.clock.advance(2000);
  await w.store.probeNow(); // 2nd pass: both UP → recovery, failback wait starts now
  const recoveredAt = w.clock.now();
  assert.equal(w.store.view().isAvailable('us-east'), false);
  // one endpoint goes DOWN during the wait (the other stays UP): wait restarts
  w.set(US2, false);
  for (let i = 0; i < 3; i++) {
    w.clock.advance(2000);
    await w.store.probeNow();
  }
  const restartedAt = w.clock.now();
  w.clock.set(recoveredAt + 10_000);
  assert.equal(w.store.view().isAvailable('us-east'), false, 'wait was restarted by the DOWN');
  w.clock.set(restartedAt + 9_999);
  assert.equal(w.store.view().isAvailable('us-east'), false);
  w.clock.set(restartedAt + 10_000);
  const v = w.store.view();
  assert.equal(v.isAvailable('us-east'), true, 'view invalidated by the deadline, no probe needed');
  assert.equal(v.weight('us-east'), 0.1);
  w.clock.advance(5_000);
  assert.ok(Math.abs(w.store.view().weight('us-east') - 0.55) < 0.05);
  w.clock.advance(5_000);
  assert.equal(w.store.view().weight('us-east'), 1);
});

test('passive ejection: consecutive failures eject at once, return on time, doubling on repeat', async () => {
  const w = world();
  await w.store.probeNow();
  for (let i = 0; i < 4; i++) w.store.reportResult(EU1, false, '502');
  assert.equal(w.store.view().isAvailable('eu-west'), true);
  w.store.reportResult(EU1, false, '502');
  assert.equal(w.store.view().isAvailable('eu-west'), false);
  assert.deepEqual(w.events.of('ejected'), [{ endpoint: EU1, region: 'eu-west', forMs: 10_000, multiplier: 1 }]);
  w.clock.advance(10_000);
  assert.equal(w.store.view().isAvailable('eu-west'), true);
  assert.deepEqual(
    w.events
      .of('endpointTransition')
      .filter((e) => e['endpoint'] === EU1 && e['cause'] === 'passive')
      .map((e) => [e['from'], e['to']]),
    [
      ['up', 'ejected'],
      ['ejected', 'up'],
    ],
  );
  for (let i = 0; i < 5; i++) w.store.reportResult(EU1, false);
  assert.equal(w.events.of('ejected')[1]?.['forMs'], 20_000);
  // a success resets the streak
  w.clock.advance(20_000);
  for (let i = 0; i < 4; i++) w.store.reportResult(EU1, false);
  w.store.reportResult(EU1, true);
  for (let i = 0; i < 4; i++) w.store.reportResult(EU1, false);
  assert.equal(w.events.of('ejected').length, 2);
});

test('passive ejection cap: 4 endpoints at 50% → 2 ejected at most, the rest refused once per streak', async () => {
  const w = world();
  await w.store.probeNow();
  const fail = (u: string) => {
    for (let i = 0; i < 5; i++) w.store.reportResult(u, false);
  };
  fail(US1);
  fail(EU1);
  fail(AP1);
  fail(AP1);
  assert.deepEqual(
    w.events.of('ejected').map((e) => e['endpoint']),
    [US1, EU1],
  );
  assert.equal(w.events.of('ejectionRefused').length, 1);
  assert.equal(w.store.view().isAvailable('ap-southeast'), true);
});

test('a single endpoint in total is never ejected (something must keep serving)', async () => {
  const w = world({ regions: { solo: [US1] }, writes: { regions: [] } });
  await w.store.probeNow();
  for (let i = 0; i < 20; i++) w.store.reportResult(US1, false);
  assert.equal(w.events.of('ejected').length, 0);
  assert.equal(w.store.view().isAvailable('solo'), true);
});

test('lag per region: latest reading of any endpoint; write failover uses it', async () => {
  const w = world({ writes: { regions: ['us-east', 'eu-west', 'ap-southeast'] } });
  w.set(EU1, true, 3000);
  w.set(AP1, true, 200);
  w.set(US1, true, 0);
  w.set(US2, true, 0);
  await w.store.probeNow();
  assert.equal(w.store.view().lagMs('eu-west'), 3000);
  assert.equal(w.store.view().lagMs('us-east'), 0);
  w.set(US1, false);
  w.set(US2, false);
  await w.rounds(3);
  const v = w.store.view();
  assert.equal(v.writeRegion, 'ap-southeast');
  const ch = w.events.of('writeRegionChanged');
  assert.deepEqual(ch.at(-1), { from: 'us-east', to: 'ap-southeast', reason: 'failover: us-east unavailable, ap-southeast lag 0.2s' });
  const st = w.store.state() as { writeRegion: { region: string; candidates: { region: string; lagMs: number | null }[] } };
  assert.equal(st.writeRegion.region, 'ap-southeast');
  assert.deepEqual(
    st.writeRegion.candidates.map((c) => c.lagMs),
    [0, 3000, 200],
  );
});

test('setWriteRegion: errors for unknown / unavailable regions, success moves writes', async () => {
  const w = world({ writes: { failover: 'manual', regions: ['us-east', 'eu-west', 'ap-southeast'] } });
  w.set(AP1, false);
  await w.rounds(3);
  assert.deepEqual(w.store.setWriteRegion('mars'), { ok: false, reason: 'unknown region' });
  assert.deepEqual(w.store.setWriteRegion('ap-southeast'), { ok: false, reason: 'region unavailable' });
  assert.deepEqual(w.store.setWriteRegion('eu-west'), { ok: true });
  assert.equal(w.store.view().writeRegion, 'eu-west');
  assert.deepEqual(w.events.of('writeRegionChanged').at(-1), { from: 'us-east', to: 'eu-west', reason: 'operator' });
});

test('reload keeps state of unchanged endpoints, drops removed ones, keeps drains and the write region', async () => {
  const w = world();
  w.set(EU1, false);
  await w.rounds(3); // eu1 DOWN
  w.store.drain('ap-southeast');
  assert.equal(w.store.setWriteRegion('us-east').ok, true);
  const before = w.store.state() as { regions: { name: string; endpoints: { url: string; state: string }[] }[] };
  assert.equal(before.regions.find((r) => r.name === 'eu-west')?.endpoints[0]?.state, 'down');

  w.store.applySnapshot(snapshot({ regions: { 'us-east': [US1, 'http://us3.test'], 'eu-west': [EU1], 'ap-southeast': [AP1] } }));
  const st = w.store.state() as {
    ready: boolean;
    regions: { name: string; drained: boolean; endpoints: { url: string; state: string }[] }[];
  };
  const us = st.regions.find((r) => r.name === 'us-east')!;
  assert.deepEqual(
    us.endpoints.map((e) => [e.url, e.state]),
    [
      [US1, 'up'],
      ['http://us3.test', 'unknown'],
    ],
  );
  assert.equal(st.regions.find((r) => r.name === 'eu-west')?.endpoints[0]?.state, 'down');
  assert.equal(st.regions.find((r) => r.name === 'ap-southeast')?.drained, true);
  assert.equal(st.ready, false, 'the new endpoint has not been probed yet');
  const v = w.store.view();
  assert.deepEqual(v.availableEndpoints('us-east'), [US1]);
  assert.equal(v.isAvailable('eu-west'), false);
  assert.equal(v.writeRegion, 'us-east');
  // a removed endpoint's passive reports are ignored; probes only hit current endpoints
  w.store.reportResult(US2, false);
  w.probed.length = 0;
  await w.store.probeNow();
  assert.deepEqual(w.probed.sort(), [AP1, EU1, US1, 'http://us3.test'].sort());

  // a region removed by reload disappears; a drain on it is gone with it
  w.store.applySnapshot(snapshot({ regions: { 'us-east': [US1], 'eu-west': [EU1] } }));
  assert.equal(w.store.drain('ap-southeast'), false);
  assert.equal(w.store.view().isAvailable('ap-southeast'), false);
});

test('a listener calling back into the store sees consistent state', async () => {
  const clock = new FakeClock();
  let seen: boolean | null = null;
  const ev = recorder();
  const store: HealthStore = new HealthStore({
    clock,
    events: {
      ...ev,
      regionTransition: (e) => {
        if (e.region === 'eu-west' && e.to === 'drained') seen = store.view().isAvailable('eu-west');
      },
    },
    probe: () => Promise.resolve({ ok: true, durationMs: 1 }),
  });
  store.applySnapshot(snapshot());
  await store.probeNow();
  store.drain('eu-west');
  assert.equal(seen, false);
});

test('start()/stop() with an injected scheduler: probers scheduled, everything cleared on stop', async () => {
  const pending = new Map<number, () => void>();
  let id = 0;
  const scheduler = {
    setTimeout: (fn: () => void) => {
      pending.set(++id, fn);
      return id;
    },
    clearTimeout: (h: unknown) => {
      pending.delete(h as number);
    },
  };
  const store = new HealthStore({
    clock: new FakeClock(),
    scheduler,
    random: () => 0.5,
    probe: () => Promise.resolve({ ok: true, durationMs: 1 }),
  });
  store.applySnapshot(snapshot());
  store.start();
  assert.equal(pending.size, 4);
  for (const [k, fn] of [...pending]) {
    pending.delete(k);
    fn();
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(store.ready(), true);
  assert.equal(pending.size, 4, 'each prober scheduled its next probe');
  store.stop();
  assert.equal(pending.size, 0);
});
