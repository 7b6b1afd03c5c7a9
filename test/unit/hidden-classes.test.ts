// The objects the request path reads on every request keep one hidden class (V8 map) however many
// times they are made: decisions (decide(), steering, the fleet's write gate) and the fleet
// member's write state. On Node 20 an object spread that adds fields (`{ ...base, region, … }`)
// gave nearly every new decision a new map; in a fleet, where decisions are made again on every
// lease renewal, that left the request path megamorphic and deoptimising (src/routing/decision.ts).
// Checked in a child process with V8's own %HaveSameMap (--allow-natives-syntax).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const mod = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);

const SCRIPT = `
const { decide } = await import(${mod('../../src/routing/decide.js')});
const { SharedGate } = await import(${mod('../../src/proxy/shared-gate.js')});
const h = await import(${mod('../../src/fleet/handover.js')});
const { threeRegions } = await import(${mod('../helpers/config.js')});
const { healthView } = await import(${mod('../helpers/health-view.js')});

const snap = threeRegions({
  routes: [{ name: 'api', match: { pathPrefix: '/' }, mode: 'read-local-write-global', readYourWrites: '10s' }],
});
const DE = Object.freeze({ country: 'DE', eu: true, lat: 50.1, lon: 8.7 });
const facts = (method, o = {}) => ({ method, path: '/x', host: null, ip: '10.0.0.1', geo: DE, userKey: null, homeRegion: null, writeMark: null, rand: 0, ...o });
const counts = {};
const seen = {};
const note = (kind, o) => {
  const list = (seen[kind] ??= []);
  if (!list.some((x) => %HaveSameMap(x, o))) list.push(o);
  counts[kind] = list.length;
};
let shared;
const gate = new SharedGate({ snapshot: () => shared }, { now: () => 0 }, { fenceClock: { now: () => 0 }, beginPrimary() {}, endPrimary() {} });
const dialed = { idle: false, dialPercent: (r) => (r === 'eu-west' ? 0 : 100), full: () => false };
let ws = h.leaseReplaced(h.initialMemberState, 1);
for (let i = 0; i < 300; i++) {
  // a new health view and a new fleet snapshot every round, as every lease renewal brings
  const view = Object.freeze(healthView({ down: i % 3 === 0 ? ['us-east'] : [] }));
  const writable = i % 2 === 0;
  shared = Object.freeze({ version: i, drains: [], dials: {}, manualWriteRegion: null, writeRegion: { region: 'us-east', epoch: 1, state: 'active' },
    writable, writeRefusal: writable ? null : 'write-handover', writableUntil: null, readYourWritesKey: null });
  const fleetView = gate.healthView(view, shared);
  note('read', decide(snap, facts('GET'), fleetView, 0));
  note('write', decide(snap, facts('POST'), fleetView, 0));
  note('no-route', decide(threeRegions({ routes: [{ name: 'only', match: { pathPrefix: '/only' }, mode: 'active-active' }] }), facts('GET'), view, 0));
  note('steered', decide(snap, facts('GET', { ip: '10.0.0.' + (i % 200) }), view, 0, dialed));
  note('gated', gate.admit(decide(snap, facts('POST'), fleetView, 0), shared, view));
  ws = h.renewed(ws, 2 + i);
  if (i % 10 === 0) ws = h.observeKey(ws, { region: 'us-east', epoch: 1 + (i % 20 === 0 ? 1 : 0), state: i % 20 === 0 ? 'handover' : 'active' }, 10 + i, i);
  if (i % 50 === 0) ws = h.acknowledged(h.lostContact(ws), i);
  note('member state', ws);
}
console.log(JSON.stringify(counts));
`;

test('decisions and the member write state keep one hidden class each, however often they are made', () => {
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', SCRIPT], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const counts = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.deepEqual(Object.keys(counts).sort(), ['gated', 'member state', 'no-route', 'read', 'steered', 'write']);
  // A decision is frozen when decide() remembers it, a frozen object has a map of its own: two at most.
  for (const [kind, n] of Object.entries(counts)) assert.ok(n <= 2, `${kind}: ${n} hidden classes over 300 rounds`);
});
