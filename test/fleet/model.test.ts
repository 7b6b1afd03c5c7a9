// Model check of the write handover: fast-check drives a simulated fleet (test/fleet/model-sim.ts)
// through random interleavings of keep-alives (answered or lost), watch deliveries, primary requests
// starting and ending, acknowledgements, partitions, etcd outages, leader campaigns and changes,
// leader and operator moves (on stale reads), activations, crashes and clean leaves, with member
// clocks that run 10 % fast or slow. After every step and at every timed event: at most one region
// receives writes, nobody writes at an epoch older than the active one, epochs only grow.
//
// The second half shows the check has teeth: deliberately broken variants of the protocol (activate
// before every ack, acknowledge with writes in flight, fence after the lease can expire, no catch-up
// read after losing contact, writesWithoutEtcd: continue) are each caught.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { actions, FleetSim, realCore, Violation, type Action, type Core, type SimOptions } from './model-sim.js';

const RUNS = 2500;

const BASE: SimOptions = {
  members: 3,
  regions: ['us-east', 'eu-west', 'ap-southeast'],
  leaseMs: 3000,
  memberLeaseMs: 3000,
  // longer than the lease, so an acknowledgement by timeout and a lease expiry race each other
  requestTimeoutMs: 4000,
  drift: [-0.1, 0, 0.1],
  writesWithoutEtcd: 'stop',
};

function run(list: readonly Action[], o: SimOptions, core: Core, totals?: FleetSim['seen']): void {
  const sim = new FleetSim(o, core);
  try {
    for (const a of list) {
      sim.apply(a);
      sim.check();
    }
  } finally {
    if (totals) for (const k of Object.keys(totals) as (keyof FleetSim['seen'])[]) totals[k] += sim.seen[k];
  }
}

test('model: at no instant do two regions receive writes, and epochs only grow', (t) => {
  const totals = { writes: 0, acks: 0, activations: 0, fences: 0, expiries: 0, leasesLost: 0 };
  fc.assert(
    fc.property(actions(BASE.members), (list) => run(list, BASE, realCore, totals)),
    { numRuns: RUNS },
  );
  t.diagnostic(`exercised over ${RUNS} runs: ${JSON.stringify(totals)}`);
  // a generator that never reaches a handover, a fence or an expiry would prove nothing
  for (const [k, v] of Object.entries(totals)) assert.ok(v > 0, `the random schedules never produced any ${k}`);
});

test('model: five members with larger clock errors keep the invariant too', () => {
  const o: SimOptions = { ...BASE, members: 5, drift: [-0.3, -0.15, 0, 0.15, 0.3], requestTimeoutMs: 1000 };
  fc.assert(
    fc.property(actions(o.members), (list) => run(list, o, realCore)),
    { numRuns: 600 },
  );
});

const broken: [string, SimOptions, Core][] = [
  ['activate before every live member acknowledged', BASE, { ...realCore, activationReady: (k) => k.state === 'handover' }],
  [
    'acknowledge while primary requests are still in flight',
    BASE,
    { ...realCore, ackDue: (s, _n, t, now) => realCore.ackDue(s, 0, t, now) },
  ],
  ['fence only after the lease can have expired (members think it is twice as long)', { ...BASE, memberLeaseMs: 6000 }, realCore],
  [
    'write again after losing the lease, without reading the fleet state again',
    BASE,
    { ...realCore, lostContact: (s) => s, leaseReplaced: (s, sentAt) => ({ ...s, ackedEpoch: 0, lastRenewalSentAt: sentAt }) },
  ],
  [
    'ignore the handover state (write while a handover is in progress)',
    BASE,
    {
      ...realCore,
      writePermission: (s, f, now) => realCore.writePermission(s.key ? { ...s, key: { ...s.key, state: 'active' } } : s, f, now),
    },
  ],
  ['writesWithoutEtcd: continue (available rather than safe, as documented)', { ...BASE, writesWithoutEtcd: 'continue' }, realCore],
];

for (const [name, o, core] of broken) {
  test(`model catches a broken variant: ${name}`, (t) => {
    const r = fc.check(
      fc.property(actions(o.members), (list) => run(list, o, core)),
      { numRuns: 20_000, seed: 20261205 },
    );
    assert.ok(r.failed, `the model did not catch: ${name}`);
    assert.ok(r.errorInstance instanceof Violation, `failed for another reason: ${String(r.errorInstance)}`);
    t.diagnostic(`caught after ${r.numRuns} runs; shrunk to ${r.counterexample?.[0].length} steps: ${r.errorInstance.message}`);
  });
}
