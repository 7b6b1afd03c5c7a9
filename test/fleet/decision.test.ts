// The leader's write-region decision, as tables: quorum, lag and maxLag, manual failover, failback
// after failbackDelay (time from an injected clock), and when nothing may move.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Quorum } from '../../src/fleet/config.js';
import {
  decideWriteRegion,
  emptyMemory,
  quorumSize,
  type FleetView,
  type LeaderMemory,
  type WritePolicy,
} from '../../src/fleet/decision.js';
import type { WriteKey } from '../../src/fleet/records.js';
import { FakeClock } from '../helpers/fake-clock.js';

const POLICY: WritePolicy = {
  regions: ['us', 'eu', 'ap'],
  failover: 'automatic',
  failback: 'automatic',
  maxLagMs: 5000,
  allowUnknownLag: false,
  failbackDelayMs: 10_000,
};

type Opinion = Record<string, { up: boolean; lagMs?: number | null }>;
function fleet(live: number, ...views: Opinion[]): FleetView {
  return {
    liveMembers: live,
    views: views.map((v) => ({
      regions: Object.fromEntries(Object.entries(v).map(([r, o]) => [r, { up: o.up, lagMs: o.lagMs ?? null }])),
    })),
  };
}
const up = (lagMs: number | null = 100) => ({ up: true, lagMs });
const down = { up: false };
const key = (region: string, epoch = 1): WriteKey => ({ region, epoch, state: 'active' });

function decide(
  view: FleetView,
  current: WriteKey | null,
  o: { policy?: Partial<WritePolicy>; quorum?: Quorum; memory?: LeaderMemory; now?: number } = {},
) {
  return decideWriteRegion({ ...POLICY, ...o.policy }, o.quorum ?? 'majority', view, current, o.memory ?? emptyMemory(), o.now ?? 0);
}

test('quorum sizes: majority of the live members, or the integer given', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => quorumSize('majority', n)),
    [1, 2, 2, 3, 3],
  );
  assert.equal(quorumSize(2, 7), 2);
});

test('the first key: the first candidate a quorum sees up, else nothing', () => {
  assert.deepEqual(decide(fleet(3, { us: down, eu: up() }, { us: up(), eu: up() }, { eu: up() }), null).decision, {
    kind: 'create',
    region: 'eu',
    why: 'initial',
  });
  assert.deepEqual(decide(fleet(3, { us: up() }, { eu: up() }), null).decision.kind, 'keep', 'no region has two views saying up');
  assert.equal(decide(fleet(3), null).decision.kind, 'keep', 'no views yet');
});

test('one member seeing the write region down is not a quorum; two of three are', () => {
  const everyoneElse = { eu: up(50), ap: up(20) };
  const one = fleet(3, { us: down, ...everyoneElse }, { us: up(), ...everyoneElse }, { us: up(), ...everyoneElse });
  assert.equal(decide(one, key('us')).decision.kind, 'keep');
  const two = fleet(3, { us: down, ...everyoneElse }, { us: down, ...everyoneElse }, { us: up(), ...everyoneElse });
  assert.deepEqual(decide(two, key('us')).decision, { kind: 'move', region: 'ap', why: 'failover: us seen down by a quorum' });
  // an integer quorum of 3 needs all three
  assert.equal(decide(two, key('us'), { quorum: 3 }).decision.kind, 'keep');
  // a quorum larger than the fleet can never be reached: nothing moves
  assert.match(decide(two, key('us'), { quorum: 4 }).decision.why, /exceeds/);
});

test('failover picks the lowest lag a quorum sees up, within maxLag, ties by priority; the lag is the worst report', () => {
  const v = (eu: number | null, ap: number | null, euOther = eu) =>
    fleet(2, { us: down, eu: up(eu), ap: up(ap) }, { us: down, eu: up(euOther), ap: up(ap) });
  const pick = (view: FleetView, policy: Partial<WritePolicy> = {}) => {
    const d = decide(view, key('us'), { policy }).decision;
    return d.kind === 'move' ? d.region : null;
  };
  assert.equal(pick(v(100, 50)), 'ap');
  assert.equal(pick(v(50, 50)), 'eu', 'tie: priority order');
  assert.equal(pick(v(50, 80, 4000)), 'ap', "eu's worst report (4 s) counts, not its best");
  assert.equal(pick(v(6000, 7000)), null, 'both above maxLag');
  assert.equal(pick(v(null, null)), null, 'unknown lag does not qualify by default');
  assert.equal(pick(v(null, 7000), { allowUnknownLag: true }), 'eu', 'allowUnknownLag: unknown qualifies');
  assert.equal(pick(v(null, 100), { allowUnknownLag: true }), 'ap', 'and ranks after every known lag');
});

test('failover manual: a write region seen down stays until an operator moves it', () => {
  const v = fleet(2, { us: down, eu: up() }, { us: down, eu: up() });
  const d = decide(v, key('us'), { policy: { failover: 'manual' } }).decision;
  assert.equal(d.kind, 'keep');
  assert.match(d.why, /operator/);
});

test('no candidate seen up by a quorum: the write region does not move', () => {
  const v = fleet(3, { us: down, eu: down, ap: down }, { us: down, eu: down, ap: up() }, { us: down, eu: up(), ap: down });
  assert.equal(decide(v, key('us')).decision.kind, 'keep');
});

test('failback: to a higher-priority region that a quorum saw down, once it stayed up for failbackDelay', () => {
  const clock = new FakeClock();
  let memory = emptyMemory();
  const step = (view: FleetView, current: WriteKey) => {
    const r = decide(view, current, { memory, now: clock.now() });
    memory = r.memory;
    return r.decision;
  };
  const cur = key('eu', 2);
  // us is down (a quorum says so), then recovers
  assert.equal(step(fleet(2, { us: down, eu: up() }, { us: down, eu: up() }), cur).kind, 'keep');
  const recovered = fleet(2, { us: up(), eu: up() }, { us: up(), eu: up() });
  assert.equal(step(recovered, cur).kind, 'keep', 'just recovered');
  clock.advance(9_999);
  assert.equal(step(recovered, cur).kind, 'keep', 'one ms short of failbackDelay');
  // a flap resets the wait
  step(fleet(2, { us: up(), eu: up() }, { us: down, eu: up() }), cur);
  clock.advance(5_000);
  assert.equal(step(recovered, cur).kind, 'keep', 'the wait started again after the flap');
  clock.advance(10_000);
  assert.deepEqual(step(recovered, cur), { kind: 'move', region: 'us', why: 'failback: us recovered' });
  // but not when its lag is too high
  const laggy = fleet(2, { us: up(9000), eu: up() }, { us: up(9000), eu: up() });
  assert.equal(decide(laggy, cur, { memory, now: clock.now() }).decision.kind, 'keep');
  // failback manual: never
  assert.equal(decide(recovered, cur, { memory, now: clock.now(), policy: { failback: 'manual' } }).decision.kind, 'keep');
});

test('a region that was never seen down is not a failback target: an operator move or a new leader sticks', () => {
  const clock = new FakeClock();
  const healthy = fleet(2, { us: up(), eu: up() }, { us: up(), eu: up() });
  let memory = emptyMemory();
  for (let i = 0; i < 5; i++) {
    const r = decide(healthy, key('eu', 4), { memory, now: clock.advance(60_000) });
    memory = r.memory;
    assert.equal(r.decision.kind, 'keep');
  }
  // a new epoch starts the bookkeeping over: us seen down under epoch 4 is no target under epoch 5
  memory = decide(fleet(2, { us: down, eu: up() }, { us: down, eu: up() }), key('eu', 4), { memory, now: clock.now() }).memory;
  assert.ok(memory.wentDown.has('us'));
  const next = decide(healthy, key('eu', 5), { memory, now: clock.advance(60_000) });
  assert.equal(next.decision.kind, 'keep');
  assert.equal(next.memory.wentDown.size, 0);
});
