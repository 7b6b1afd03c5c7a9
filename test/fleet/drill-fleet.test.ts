// `meridian drill --fleet`: the real CLI against the real etcd binary (three router processes, three
// demo backends), its JSON report and exit code; without etcd, exit 2 with how to install it. The
// report's arithmetic (overlap, lost, applied twice) is checked on hand-made records first, so a drill
// that reports zeros is known to be able to report something else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyse, overlapIntervals, spansOf, type FleetDrillReport, type PhaseWindow } from '../../src/demo/fleet-drill/report.js';
import type { Sent } from '../../src/demo/fleet-drill/load.js';
import type { RouterEvent } from '../../src/demo/fleet-drill/router-proc.js';
import type { AppliedWrite } from '../../src/demo/fleet-drill/world.js';
import { runCli } from '../helpers/router-process.js';

const W: PhaseWindow[] = [
  { name: 'one', title: 'first', did: 'nothing', start: 0, end: 100 },
  { name: 'two', title: 'second', did: 'nothing', start: 100, end: 200 },
];
const write = (id: string, start: number, status: number): Sent => ({
  kind: 'write',
  router: 'a',
  id,
  start,
  end: start + 1,
  status,
  detail: '-',
});
const applied = (id: string, region: string, epoch: number, at: number): AppliedWrite => ({ id, region, epoch, at });
const ev = (event: string, epoch: number, time: number, router: string, byLeader: boolean): RouterEvent => ({
  router,
  time,
  event,
  epoch,
  byLeader,
  line: { event, epoch, from: 'us-east', to: 'eu-west' },
});

test('report: two regions taking writes in intersecting spans is overlap, and fails the drill', () => {
  const sent = [write('w1', 10, 200), write('w2', 20, 200), write('w3', 30, 200), write('w4', 40, 200)];
  const apps = [
    applied('w1', 'us-east', 1, 11),
    applied('w2', 'eu-west', 2, 21),
    applied('w3', 'us-east', 1, 31),
    applied('w4', 'eu-west', 2, 41),
  ];
  assert.deepEqual(overlapIntervals(spansOf(apps)), [[21, 31]]);
  const r = analyse(W, sent, apps, []);
  assert.equal(r.total.overlapMs, 10);
  assert.equal(r.total.overlapWrites, 2, 'w2 inside us-east [11, 31], w3 inside eu-west [21, 41]');
  assert.equal(r.pass, false);
  assert.match(r.failures.join(';'), /overlap/);
});

test('report: spans one after the other are no overlap; lost, applied twice and failed reads are counted per phase', () => {
  const sent: Sent[] = [
    write('w1', 10, 200),
    write('w2', 20, 503),
    write('w3', 110, 200), // lost: 2xx, no backend record
    write('w4', 120, 200), // applied twice
    write('w5', 130, 0), // failed at the client, applied all the same
    { kind: 'read', router: 'b', id: 'r1', start: 150, end: 151, status: 502, detail: 'upstream' },
  ];
  const apps = [
    applied('w1', 'us-east', 1, 11),
    applied('w4', 'eu-west', 2, 121),
    applied('w4', 'eu-west', 2, 122),
    applied('w5', 'eu-west', 2, 131),
  ];
  const r = analyse(W, sent, apps, [ev('write-handover-start', 2, 50, 'a', true), ev('write-handover-done', 2, 80, 'a', true)]);
  assert.deepEqual(overlapIntervals(spansOf(apps)), []);
  const [one, two] = r.phases;
  assert.deepEqual(one!.writes, { sent: 2, ok: 1, unavailable: 1, other: 0, byAnswer: { '200 -': 1, '503 -': 1 } });
  assert.deepEqual(one!.handovers, [{ epoch: 2, from: 'us-east', to: 'eu-west', ms: 30, source: 'leader log' }]);
  assert.deepEqual([two!.lost, two!.appliedTwice, two!.failedButApplied, two!.reads.failed], [1, 1, 1, 1]);
  assert.deepEqual(two!.acceptedPerEpoch, { 'eu-west': { '2': 3 } });
  assert.equal(r.total.overlapMs, 0);
  assert.deepEqual(r.failures, ['writes lost: 1', 'writes applied twice: 1', 'reads failed: 1']);
});

test('report: a handover whose leader lines are missing is timed from the earliest lines across routers', () => {
  const events = [
    ev('write-handover-start', 3, 100, 'b', false),
    ev('write-handover-start', 3, 90, 'c', false),
    ev('write-handover-done', 3, 150, 'b', false),
  ];
  const r = analyse(W, [], [], events);
  assert.deepEqual(r.total.handovers, [{ epoch: 3, from: 'us-east', to: 'eu-west', ms: 60, source: 'router logs' }]);
});

test('meridian drill --fleet --json: every phase runs, the zeros hold, exit 0', { timeout: 160_000 }, async () => {
  const { code, stdout, stderr } = await runCli(['drill', '--fleet', '--json']);
  assert.equal(code, 0, `exit ${code}; stderr: ${stderr.slice(-3000)}`);
  const r = JSON.parse(stdout) as FleetDrillReport;
  assert.deepEqual(
    r.phases.map((p) => p.name),
    ['baseline', 'kill-write-region', 'cut-router', 'kill-leader', 'etcd-outage'],
  );
  for (const f of [...r.phases, r.total]) {
    assert.equal(f.writes.ok + f.writes.unavailable + f.writes.other, f.writes.sent, `${f.name}: writes add up`);
    assert.ok(f.writes.ok > 0, `${f.name}: some writes succeeded`);
    assert.ok(f.reads.sent > 0, `${f.name}: reads were sent`);
    assert.deepEqual([f.overlapMs, f.overlapWrites, f.lost, f.appliedTwice, f.reads.failed], [0, 0, 0, 0, 0], f.name);
  }
  const sum = (f: (p: FleetDrillReport['total']) => number): number => r.phases.reduce((n, p) => n + f(p), 0);
  assert.equal(
    sum((p) => p.writes.sent),
    r.total.writes.sent,
    'every write belongs to one phase',
  );
  assert.equal(
    sum((p) => p.reads.sent),
    r.total.reads.sent,
    'every read belongs to one phase',
  );
  assert.equal(r.pass, true);
  assert.deepEqual(r.failures, []);
  const phase = (name: string): FleetDrillReport['phases'][number] => r.phases.find((p) => p.name === name)!;
  // killing the write region moved writes: one handover, to another region, and writes applied under the new epoch there
  const [failover] = phase('kill-write-region').handovers;
  assert.ok(failover && failover.ms !== null && failover.from !== failover.to, JSON.stringify(failover));
  assert.ok((phase('kill-write-region').acceptedPerEpoch[failover.to!]?.[String(failover.epoch)] ?? 0) > 0);
  // the move made while router c was cut off completed, one epoch later
  const moved = phase('cut-router').handovers.at(-1);
  assert.ok(moved && moved.epoch > failover.epoch && moved.ms !== null, JSON.stringify(moved));
  assert.match(phase('cut-router').did, new RegExp(`-> ${moved.to}@${moved.epoch} through router a`));
  // writes were refused, not sent, while routers were fenced or the key was moving
  assert.ok(phase('cut-router').writes.unavailable > 0);
  assert.ok(phase('etcd-outage').writes.unavailable > 0);
  // spans: every region-epoch pair that took writes, none intersecting another region's
  assert.ok(r.spans.length >= 3);
});

test('meridian drill --fleet without etcd: exit 2 and how to install it', async () => {
  const { code, stdout, stderr } = await runCli(['drill', '--fleet'], { ETCD_BIN: '/nonexistent/etcd' });
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /\/nonexistent\/etcd/);
  assert.match(stderr, /apt-get install etcd-server/);
  assert.match(stderr, /github\.com\/etcd-io\/etcd\/releases/);
  assert.match(stderr, /ETCD_BIN/);
});
