// Anti-flap hysteresis, the behaviour it is for: a backend whose probes alternate 3 fails / 3 passes for a
// minute (unhealthyThreshold 3, healthyThreshold 2, interval 2 s, failbackDelay 10 s) moves traffic
// away at most once and never bounces it back during the flapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthStore } from '../../src/health/store.js';
import type { ProbeResult } from '../../src/health/prober.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { recorder, snapshot, type SnapOpts } from './health-fixtures.js';

const FLAPPER = 'http://us1.test';

function world(o: SnapOpts = {}) {
  const clock = new FakeClock();
  const events = recorder();
  const results = new Map<string, boolean>();
  const store = new HealthStore({
    clock,
    events,
    probe: (url): Promise<ProbeResult> => Promise.resolve({ ok: results.get(url) ?? true, durationMs: 1 }),
  });
  store.applySnapshot(snapshot({ regions: { 'us-east': [FLAPPER], 'eu-west': ['http://eu1.test'] }, ...o }));
  return { clock, events, results, store };
}

async function flapMinute(o: SnapOpts = {}) {
  const w = world(o);
  await w.store.probeNow(); // start-up: first pass → available at once
  assert.equal(w.store.view().isAvailable('us-east'), true);
  const pattern = [false, false, false, true, true, true];
  const seq: boolean[] = [];
  for (let i = 0; i < 30; i++) {
    w.clock.advance(2000);
    w.results.set(FLAPPER, pattern[i % 6]!);
    await w.store.probeNow();
    seq.push(w.store.view().isAvailable('us-east'));
    // a view sampled between probes must agree (time-based deadlines)
    w.clock.advance(1000);
    seq.push(w.store.view().isAvailable('us-east'));
    w.clock.advance(-1000);
  }
  return { ...w, seq };
}

function changes(seq: boolean[]): number {
  let n = 0;
  for (let i = 1; i < seq.length; i++) if (seq[i] !== seq[i - 1]) n++;
  return n;
}

test('3 fails / 3 passes for a minute: traffic moves away once and never comes back while flapping', async () => {
  const { seq, events, store, clock, results } = await flapMinute();
  // available for the first two failures, then gone for the rest of the minute
  assert.deepEqual(seq.slice(0, 6), [true, true, true, true, false, false]);
  assert.equal(changes([true, ...seq]), 1);
  assert.equal(seq.at(-1), false);
  const regionMoves = events.of('regionTransition').filter((e) => e['region'] === 'us-east');
  assert.equal(regionMoves.filter((e) => e['to'] === 'available').length, 1); // the start-up one only
  assert.equal(regionMoves.filter((e) => e['from'] === 'available').length, 1);
  // the damping noticed: the region is suppressed by the end of the minute
  assert.deepEqual(
    events.of('suppression').map((e) => e['suppressed']),
    [true],
  );
  // eu-west was never disturbed
  assert.equal(store.view().isAvailable('eu-west'), true);

  // once the flapping stops, traffic returns — after the failback delay and the suppression
  results.set(FLAPPER, true);
  const stoppedAt = clock.now();
  let backAt: number | null = null;
  for (let i = 0; i < 200 && backAt === null; i++) {
    clock.advance(2000);
    await store.probeNow();
    if (store.view().isAvailable('us-east')) backAt = clock.now();
  }
  assert.ok(backAt !== null, 'region returns after the flapping stops');
  assert.ok(backAt - stoppedAt >= 10_000);
  assert.deepEqual(
    events.of('suppression').map((e) => e['suppressed']),
    [true, false],
  );
});

test('the failback delay alone (damping off) already prevents the bounce', async () => {
  // Damping that can never suppress: the penalty is capped at the suppress limit, and suppression needs more.
  const { seq, events } = await flapMinute({ health: { damping: { suppressLimit: 6000, maxPenalty: 6000 } } });
  assert.equal(changes([true, ...seq]), 1);
  assert.equal(seq.at(-1), false);
  assert.equal(events.of('suppression').length, 0);
  const statuses = events
    .of('regionTransition')
    .filter((e) => e['region'] === 'us-east')
    .map((e) => e['to']);
  // it goes to failback-wait each time it is UP again, but the wait never completes
  assert.ok(statuses.includes('failback-wait'));
  assert.equal(statuses.filter((s) => s === 'available').length, 1);
});

test('damping alone (no failback delay) suppresses the flapper after a few cycles', async () => {
  const { seq } = await flapMinute({ health: { failbackDelay: '0s' } });
  // without the delay it bounces at first, but suppression stops it within the minute
  const lastThird = seq.slice(-20);
  assert.ok(lastThird.every((a) => a === false));
});
