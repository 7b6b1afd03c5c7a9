import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyProbe, initialEndpointState, type EndpointState } from '../../src/health/endpoint-state.js';

const T = { healthyThreshold: 2, unhealthyThreshold: 3 };

function run(results: boolean[], s: EndpointState = initialEndpointState) {
  const transitions: string[] = [];
  for (const ok of results) {
    const r = applyProbe(s, ok, T);
    s = r.state;
    if (r.transition) transitions.push(`${r.transition.from}->${r.transition.to}`);
  }
  return { s, transitions };
}

test('startup: first passing probe makes an endpoint UP at once', () => {
  const { s, transitions } = run([true]);
  assert.equal(s.status, 'up');
  assert.deepEqual(transitions, ['unknown->up']);
  assert.equal(s.probes, 1);
});

test('startup: failures keep UNKNOWN until unhealthyThreshold, then DOWN; a pass before that is UP', () => {
  assert.equal(run([false, false]).s.status, 'unknown');
  assert.deepEqual(run([false, false, false]).transitions, ['unknown->down']);
  assert.deepEqual(run([false, false, true]).transitions, ['unknown->up']);
});

test('UP goes DOWN after exactly unhealthyThreshold consecutive failures', () => {
  const up = run([true]).s;
  assert.equal(run([false, false], up).s.status, 'up');
  const r = run([false, false, false], up);
  assert.equal(r.s.status, 'down');
  assert.deepEqual(r.transitions, ['up->down']);
});

test('failures must be truly consecutive: a pass resets the count', () => {
  const up = run([true]).s;
  const r = run([false, false, true, false, false, true, false, false], up);
  assert.equal(r.s.status, 'up');
  assert.deepEqual(r.transitions, []);
  assert.equal(r.s.fails, 2);
});

test('DOWN goes UP after healthyThreshold consecutive passes; a failure resets the count', () => {
  const down = run([true, false, false, false]).s;
  assert.equal(down.status, 'down');
  assert.equal(run([true], down).s.status, 'down');
  assert.equal(run([true, false, true], down).s.status, 'down');
  const r = run([true, false, true, true], down);
  assert.equal(r.s.status, 'up');
  assert.deepEqual(r.transitions, ['down->up']);
});

test('counters reset on a transition and probes accumulate', () => {
  const r = run([true, false, false, false]);
  assert.deepEqual({ passes: r.s.passes, fails: r.s.fails, probes: r.s.probes }, { passes: 0, fails: 0, probes: 4 });
});

test('thresholds below 1 behave as 1', () => {
  const up = applyProbe(initialEndpointState, true, { healthyThreshold: 0, unhealthyThreshold: 0 }).state;
  const down = applyProbe(up, false, { healthyThreshold: 0, unhealthyThreshold: 0 });
  assert.equal(down.state.status, 'down');
  assert.equal(applyProbe(down.state, true, { healthyThreshold: 0, unhealthyThreshold: 0 }).state.status, 'up');
});
