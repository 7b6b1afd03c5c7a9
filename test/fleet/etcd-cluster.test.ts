// Against a real three-member etcd cluster, as production runs it: with one etcd member down the fleet
// keeps its leases, keeps writing and accepts operator changes (calls to the dead member fail fast and go
// to another); with two down etcd has no quorum, so every router fences itself; with the members back,
// the fleet is writing again within 5 s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { allUp, newMember, waitFor, type Member } from './fleet-world.js';

const LEASE_MS = 5000;
let cluster: EtcdCluster;
const ms: Member[] = [];
const writing = (m: Member): boolean => m.member.status().connected && m.member.snapshot().writable;

before(async () => {
  cluster = await startEtcdCluster(3);
  for (const id of ['edge-a', 'edge-b']) {
    const m = newMember({ etcd: { endpoints: [...cluster.endpoints], prefix: '/meridian/cluster/' }, id, leaseMs: LEASE_MS });
    ms.push(m);
    assert.deepEqual(await m.member.start(), { synced: true });
    m.member.publishView(allUp());
  }
  await waitFor(() => ms.every(writing), 'a writable fleet');
});
after(async () => {
  for (const m of ms) await m.member.close();
  await cluster.stop();
});

test('one etcd member down: no router fences, operator changes keep working', async (t) => {
  await cluster.nodes[0]!.pause();
  const started = Date.now();
  const slowest: number[] = [];
  // longer than a fence period with the member down, an operator change every 300 ms
  for (let i = 0; Date.now() - started < (LEASE_MS * 2) / 3 + 1000; i++) {
    const at = Date.now();
    await ms[i % 2]!.member.setDial('ap-southeast', i % 100);
    slowest.push(Date.now() - at);
    assert.ok(ms.every(writing), `a router stopped writing ${Date.now() - started} ms after one etcd member went down`);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(ms[0]!.fenced + ms[1]!.fenced, 0);
  t.diagnostic(`${slowest.length} operator changes with one of three etcd members down, slowest ${Math.max(...slowest)} ms`);
});

test('two etcd members down (no quorum): every router fences itself; back: writing within 5 s', async (t) => {
  const lostAt = Date.now();
  await cluster.nodes[1]!.pause();
  await waitFor(() => ms.every((m) => !m.member.snapshot().writable), 'every router fenced', LEASE_MS);
  const fencedMs = Date.now() - lostAt;
  await assert.rejects(ms[0]!.member.drain('eu-west'), /etcd did not accept/);
  const restartAt = Date.now();
  await Promise.all([cluster.nodes[0]!.resume(), cluster.nodes[1]!.resume()]);
  const backAt = Date.now();
  await waitFor(() => ms.every(writing), 'every router writing again', 5000);
  t.diagnostic(
    `quorum lost: all fenced ${fencedMs} ms after the second member was stopped (2/3 lease = ${Math.floor((LEASE_MS * 2) / 3)} ms); ` +
      `etcd members restarted and healthy after ${backAt - restartAt} ms, routers writing ${Date.now() - backAt} ms later`,
  );
});
