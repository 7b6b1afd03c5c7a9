// Against a real etcd: the write region moves only when a quorum of live members sees it down, goes
// through a handover that waits for every member's in-flight primary requests (or timeouts.request),
// and is not moved at all when no candidate is seen up by a quorum.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { allUp, startWorld, waitFor, type Node, type World } from './fleet-world.js';

let w: World;
let a: Node, b: Node, c: Node;
const REQUEST_TIMEOUT_MS = 1500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const key = (n: Node): string => {
  const k = n.member.snapshot().writeRegion;
  return k ? `${k.region}@${k.epoch}:${k.state}` : 'none';
};
const everyone = (k: string): boolean => w.nodes.every((n) => key(n) === k);

before(async () => {
  w = await startWorld(3000);
  a = await w.add('edge-a', { requestTimeoutMs: REQUEST_TIMEOUT_MS });
  b = await w.add('edge-b', { requestTimeoutMs: REQUEST_TIMEOUT_MS });
  c = await w.add('edge-c', { requestTimeoutMs: REQUEST_TIMEOUT_MS });
  for (const n of w.nodes)
    n.member.publishView({ ...allUp(), 'eu-west': { up: true, lagMs: 50 }, 'ap-southeast': { up: true, lagMs: 900 } });
  await waitFor(() => everyone('us-east@1:active'), 'us-east@1 everywhere');
});
after(async () => {
  await w.stop();
});

const down = (region: string) => ({
  ...allUp(),
  'eu-west': { up: true, lagMs: 50 },
  'ap-southeast': { up: true, lagMs: 900 },
  [region]: { up: false, lagMs: null },
});

test('one member seeing the write region down does not move it', async () => {
  a.member.publishView(down('us-east'));
  // the leader decides every keep-alive interval (500 ms here): give it several rounds
  await sleep(2000);
  assert.ok(everyone('us-east@1:active'), `moved on one view: ${w.nodes.map(key).join(', ')}`);
  assert.ok(w.nodes.every((n) => n.member.snapshot().writable));
});

test('a quorum seeing it down moves writes, through a handover that waits for in-flight primary requests', async (t) => {
  c.member.beginPrimary('us-east'); // c has a write in flight to the old region
  const started = Date.now();
  b.member.publishView(down('us-east'));
  // lowest lag among the candidates a quorum sees up: eu-west (50 ms) over ap-southeast (900 ms)
  await waitFor(() => w.nodes.every((n) => n.member.snapshot().writeRegion?.epoch === 2), 'handover to epoch 2 everywhere', 3000);
  for (const n of w.nodes) {
    const s = n.member.snapshot();
    assert.deepEqual(s.writeRegion, { region: 'eu-west', epoch: 2, state: 'handover' });
    assert.equal(s.writable, false);
    assert.equal(s.writeRefusal, 'write-handover');
  }
  await sleep(600);
  assert.ok(everyone('eu-west@2:handover'), 'still in handover while c has a request in flight');
  c.member.endPrimary('us-east');
  await waitFor(() => everyone('eu-west@2:active'), 'eu-west@2 active everywhere', 3000);
  const total = Date.now() - started;
  assert.ok(w.nodes.every((n) => n.member.snapshot().writable));
  const leader = w.nodes.find((n) => n.id === a.member.status().leader)!;
  // observed when the leader's activating transaction returns, which can be after the watch told everyone
  await waitFor(() => leader.sink.handovers.length > 0, 'the leader to observe meridian_write_handover_seconds', 2000);
  assert.equal(leader.sink.handovers.length, 1);
  for (const n of w.nodes) {
    const ev = n.sink.events.filter((e) => e.event === 'write-handover-start' || e.event === 'write-handover-done').map((e) => e.event);
    assert.deepEqual(ev.slice(-2), ['write-handover-start', 'write-handover-done'], `${n.id}: ${ev.join(',')}`);
  }
  const start = leader.sink.events.find((e) => e.event === 'write-handover-start');
  assert.ok(
    start && start.event === 'write-handover-start' && start.from === 'us-east' && start.to === 'eu-west' && /quorum/.test(start.why ?? ''),
  );
  t.diagnostic(
    `quorum view to active: ${total} ms; handover observed by the leader: ${leader.sink.handovers[0]!.toFixed(3)} s (includes the 600 ms held by c's request)`,
  );
});

test('a member whose request never ends acknowledges after timeouts.request', async (t) => {
  a.member.beginPrimary('eu-west'); // never ended
  const started = Date.now();
  for (const n of w.nodes) n.member.publishView(down('eu-west'));
  await waitFor(() => everyone('us-east@3:handover') || everyone('ap-southeast@3:handover'), 'handover to epoch 3', 3000);
  await waitFor(
    () => w.nodes.every((n) => n.member.snapshot().writeRegion?.state === 'active'),
    'epoch 3 active',
    REQUEST_TIMEOUT_MS + 3000,
  );
  const took = Date.now() - started;
  assert.ok(took >= REQUEST_TIMEOUT_MS - 100, `activated after ${took} ms, before a's request could time out`);
  t.diagnostic(`with a request that never ends, the handover completed after ${took} ms (timeouts.request ${REQUEST_TIMEOUT_MS} ms)`);
  a.member.endPrimary('eu-west');
});

test('with no candidate a quorum sees up, the write region does not move', async () => {
  const region = a.member.snapshot().writeRegion!.region;
  const epoch = a.member.snapshot().writeRegion!.epoch;
  const allDown = Object.fromEntries(['us-east', 'eu-west', 'ap-southeast'].map((r) => [r, { up: false, lagMs: null }]));
  a.member.publishView(allDown);
  b.member.publishView(allDown);
  c.member.publishView({ ...allDown, 'eu-west': { up: true, lagMs: 0 } }); // one member alone is no quorum
  await sleep(2000);
  assert.ok(everyone(`${region}@${epoch}:active`), `moved without a quorum: ${w.nodes.map(key).join(', ')}`);
});
