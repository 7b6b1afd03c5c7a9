// WorkerSync: the handover acknowledgement of a multi-worker router waits for workers that have not
// applied the latest snapshot — until they do, or until every writable snapshot they could hold has
// expired (its lease fence) and a request admitted under it has timed out (timeouts.request, 300 ms
// here); without a fence, until they do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerSync } from '../../src/fleet/member-parts.js';
import type { SharedSnapshot } from '../../src/fleet/shared-state.js';

const snap = (writable: boolean, writableUntil: number | null): SharedSnapshot => ({
  version: 1,
  drains: [],
  dials: {},
  manualWriteRegion: null,
  writeRegion: { region: 'us-east', epoch: 1, state: writable ? 'active' : 'handover' },
  writable,
  writeRefusal: writable ? null : 'write-handover',
  writableUntil,
  readYourWritesKey: null,
});

const REQUEST_MS = 300;

test('with every worker in sync the acknowledgement may go at once', () => {
  const s = new WorkerSync();
  s.built(snap(true, 1_000));
  assert.equal(s.mayAck(0, REQUEST_MS), true);
  s.hold();
  s.release();
  assert.equal(s.mayAck(0, REQUEST_MS), true);
});

test('a worker out of sync holds it until it applies the snapshot or the last writable one expired', () => {
  const s = new WorkerSync();
  s.built(snap(true, 500));
  s.built(snap(true, 1_000)); // a later renewal moves the fence
  s.built(snap(false, null)); // the handover: not writable, the fence stays the last writable one's
  s.hold();
  s.hold();
  assert.equal(s.mayAck(1_000, REQUEST_MS), false, 'the fence has passed, but a write admitted just before it may still be open');
  assert.equal(s.mayAck(1_299, REQUEST_MS), false);
  assert.equal(s.mayAck(1_300, REQUEST_MS), true, 'no write admitted under a snapshot sent before can be open any more');
  s.release();
  assert.equal(s.mayAck(999, REQUEST_MS), false, 'one worker still out of sync');
  s.release();
  assert.equal(s.mayAck(999, REQUEST_MS), true);
  s.release(); // a stray release never goes below zero
  s.hold();
  assert.equal(s.mayAck(999, REQUEST_MS), false);
});

test('without a fence (writesWithoutEtcd: continue) only the worker releases it', () => {
  const s = new WorkerSync();
  s.built(snap(true, null));
  s.hold();
  assert.equal(s.mayAck(Number.MAX_SAFE_INTEGER, REQUEST_MS), false);
  s.release();
  assert.equal(s.mayAck(0, REQUEST_MS), true);
});
