// The retry loop's decisions (src/proxy/retry.ts): where the next attempt goes, and whether there
// is a next attempt at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConfigError, loadConfigText } from '../../src/config/load.js';
import { isRetryableStatus, mayRetry, pickEndpoint, RoundRobin, selectTarget, type RetryState } from '../../src/proxy/retry.js';
import type { Decision, HealthView, Snapshot } from '../../src/types.js';

function snapshot(extra = ''): Snapshot {
  const text = `regions:
  - { name: a, location: { lat: 0, lon: 0 }, endpoints: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'] }
  - { name: b, location: { lat: 0, lon: 10 }, endpoints: ['http://127.0.0.1:9003'] }
  - { name: c, location: { lat: 0, lon: 20 }, endpoints: ['http://127.0.0.1:9004'] }
routes:
  - { name: r, match: { pathPrefix: / }, mode: active-active }
${extra}`;
  const r = loadConfigText(text, '/test/retry.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.snapshot;
}

/** A health view where `up` lists the available regions and `endpoints` the serving endpoints. */
function view(snap: Snapshot, up: string[], down: string[] = []): HealthView {
  return {
    isAvailable: (r) => up.includes(r),
    weight: () => 1,
    lagMs: () => null,
    writeRegion: null,
    availableEndpoints: (r) => (up.includes(r) ? (snap.regionByName.get(r)?.endpoints ?? []).filter((e) => !down.includes(e)) : []),
  };
}

function decision(candidates: string[], reason: Decision['reason'] = 'nearest'): Decision {
  return {
    route: null,
    kind: 'read',
    selector: 'nearest',
    region: candidates[0] ?? null,
    candidates,
    preference: [],
    reason,
    residencyRule: null,
    status: null,
    detail: '',
  };
}

test('round robin moves one step per pick and skips tried endpoints', () => {
  const rr = new RoundRobin();
  const list = ['x', 'y', 'z'];
  assert.deepEqual([rr.pick('a', list, new Set()), rr.pick('a', list, new Set()), rr.pick('a', list, new Set())], ['x', 'y', 'z']);
  assert.equal(rr.pick('a', list, new Set()), 'x', 'wraps around');
  assert.equal(rr.pick('a', list, new Set(['y'])), 'z', 'y was tried: the next one');
  assert.equal(rr.pick('b', list, new Set()), 'x', 'each region has its own position');
  assert.equal(rr.pick('a', list, new Set(list)), null, 'all tried');
  assert.equal(rr.pick('a', [], new Set()), null, 'nothing to pick');
});

test('selectTarget: another endpoint of the same region first, then the next available candidate', () => {
  const snap = snapshot();
  const d = decision(['a', 'b', 'c']);
  const rr = new RoundRobin();
  const v = view(snap, ['a', 'b', 'c']);
  assert.deepEqual(selectTarget(rr, snap, v, d, 'a', new Set(['http://127.0.0.1:9001'])), {
    region: 'a',
    endpoint: 'http://127.0.0.1:9002',
  });
  const tried = new Set(['http://127.0.0.1:9001', 'http://127.0.0.1:9002']);
  assert.deepEqual(selectTarget(rr, snap, v, d, 'a', tried), { region: 'b', endpoint: 'http://127.0.0.1:9003' });
  // b went down meanwhile: skipped; never back to a region before `from`.
  assert.deepEqual(selectTarget(rr, snap, view(snap, ['a', 'c']), d, 'b', new Set(['http://127.0.0.1:9003'])), {
    region: 'c',
    endpoint: 'http://127.0.0.1:9004',
  });
  assert.equal(selectTarget(rr, snap, view(snap, ['a']), d, 'b', new Set(['http://127.0.0.1:9003'])), null);
});

test('under allDown: try, unavailable regions and endpoints are still tried, in decision order', () => {
  const snap = snapshot();
  const d = decision(['b', 'c'], 'all-down');
  const rr = new RoundRobin();
  assert.deepEqual(selectTarget(rr, snap, view(snap, []), d, 'b', new Set()), { region: 'b', endpoint: 'http://127.0.0.1:9003' });
  assert.deepEqual(selectTarget(rr, snap, view(snap, []), d, 'b', new Set(['http://127.0.0.1:9003'])), {
    region: 'c',
    endpoint: 'http://127.0.0.1:9004',
  });
  // Outside all-down an endpoint the view does not serve is never picked.
  assert.equal(pickEndpoint(rr, snap, view(snap, ['a'], ['http://127.0.0.1:9001', 'http://127.0.0.1:9002']), 'a', new Set(), false), null);
  assert.equal(pickEndpoint(rr, snap, view(snap, []), 'a', new Set(['http://127.0.0.1:9001']), true), 'http://127.0.0.1:9002');
});

const fresh: RetryState = { attempts: 1, idempotent: true, replayable: true, answered: false };

test('mayRetry: connect, reset and bad responses follow retry.on connect; timeouts follow retry.on timeout', () => {
  const both = snapshot('retry: { attempts: 3, on: [connect, timeout, 503] }').retry;
  const connectOnly = snapshot('retry: { attempts: 3, on: [connect] }').retry;
  const timeoutOnly = snapshot('retry: { attempts: 3, on: [timeout] }').retry;
  for (const kind of ['connect', 'reset', 'bad_response'] as const) {
    assert.equal(mayRetry(both, kind, false, fresh), true, kind);
    assert.equal(mayRetry(connectOnly, kind, false, fresh), true, kind);
    assert.equal(mayRetry(timeoutOnly, kind, false, fresh), false, kind);
  }
  assert.equal(mayRetry(both, 'timeout', false, fresh), true);
  assert.equal(mayRetry(connectOnly, 'timeout', false, fresh), false);
  assert.equal(mayRetry(timeoutOnly, 'timeout', false, fresh), true);
});

test('mayRetry: a POST goes again only when nothing of it left this host', () => {
  const policy = snapshot('retry: { attempts: 3, on: [connect, timeout, 503] }').retry;
  const post = { ...fresh, idempotent: false };
  assert.equal(mayRetry(policy, 'reset', false, post), false, 'the upstream may have applied it');
  assert.equal(mayRetry(policy, 'reset', true, post), true, 'not sent: safe');
  assert.equal(mayRetry(policy, 'timeout', false, post), false);
  assert.equal(mayRetry(policy, 'status', false, post), false, 'a status means it was processed');
  assert.equal(mayRetry(policy, 'status', false, fresh), true, 'an idempotent request may go again after a 503');
});

test('mayRetry: never after the answer began, with a streamed body, or out of tries', () => {
  // One retry: two tries in all.
  const policy = snapshot('retry: { attempts: 1, on: [connect, timeout, 503] }').retry;
  assert.equal(mayRetry(policy, 'connect', true, { ...fresh, answered: true }), false);
  assert.equal(mayRetry(policy, 'connect', true, { ...fresh, replayable: false }), false);
  assert.equal(mayRetry(policy, 'connect', true, { ...fresh, attempts: 2 }), false, 'the retry is used up');
  assert.equal(mayRetry(policy, 'connect', true, { ...fresh, attempts: 1 }), true);
});

test('isRetryableStatus follows retry.on', () => {
  const policy = snapshot('retry: { attempts: 2, on: [connect, 502, 503] }').retry;
  assert.deepEqual(
    [502, 503, 504, 500, 200].map((s) => isRetryableStatus(policy, s)),
    [true, true, false, false, false],
  );
});
