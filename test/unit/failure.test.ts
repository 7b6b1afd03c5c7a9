// The one classifier of failed upstream attempts and probes: which origin (upstream or this host),
// which kind, what it counts as against the endpoint, and the short word probes report.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyFailure, type FailureFacts } from '../../src/failure.js';

const err = (code: string): Error => Object.assign(new Error(`failed: ${code}`), { code });

function row(f: FailureFacts): [string, string, string | null, string] {
  const c = classifyFailure(f);
  return [c.origin, c.kind, c.counted, c.detail];
}

test('errors of the region side: connect, reset, timeout, bad response', () => {
  const table: [string, [string, string, string | null, string]][] = [
    ['ECONNREFUSED', ['upstream', 'connect', 'connect', 'refused']],
    ['EHOSTUNREACH', ['upstream', 'connect', 'connect', 'EHOSTUNREACH']],
    ['ENETUNREACH', ['upstream', 'connect', 'connect', 'ENETUNREACH']],
    ['ENOTFOUND', ['upstream', 'connect', 'connect', 'ENOTFOUND']],
    ['EAI_AGAIN', ['upstream', 'connect', 'connect', 'EAI_AGAIN']],
    ['ECONNRESET', ['upstream', 'reset', 'reset', 'reset']],
    ['EPIPE', ['upstream', 'reset', 'reset', 'reset']],
    ['ECONNABORTED', ['upstream', 'reset', 'reset', 'ECONNABORTED']],
    ['ETIMEDOUT', ['upstream', 'timeout', 'timeout', 'timeout']],
    ['HPE_INVALID_CONSTANT', ['upstream', 'bad_response', 'bad_response', 'HPE_INVALID_CONSTANT']],
    ['HPE_HEADER_OVERFLOW', ['upstream', 'bad_response', 'bad_response', 'HPE_HEADER_OVERFLOW']],
    ['ESOMETHINGNEW', ['upstream', 'reset', 'reset', 'ESOMETHINGNEW']],
  ];
  for (const [code, want] of table) assert.deepEqual(row({ error: err(code) }), want, code);
});

test('errors of this host are local and never counted against the endpoint', () => {
  const table: [string, [string, string, string | null, string]][] = [
    ['EMFILE', ['local', 'fd_limit', null, 'EMFILE']],
    ['ENFILE', ['local', 'fd_limit', null, 'ENFILE']],
    ['ENOBUFS', ['local', 'no_buffers', null, 'ENOBUFS']],
    ['ENOMEM', ['local', 'no_buffers', null, 'ENOMEM']],
    ['EADDRNOTAVAIL', ['local', 'no_local_port', null, 'EADDRNOTAVAIL']],
  ];
  for (const [code, want] of table) assert.deepEqual(row({ error: err(code) }), want, code);
});

test('our own timers: connect timeout, response timeout, and a full pool', () => {
  assert.deepEqual(row({ timer: 'connect', error: err('ECONNECT_TIMEOUT') }), ['upstream', 'connect', 'connect', 'connect-timeout']);
  assert.deepEqual(row({ timer: 'response', error: err('ECONNRESET') }), ['upstream', 'timeout', 'timeout', 'timeout']);
  // No socket from the pool by the response deadline: nothing reached the region.
  assert.deepEqual(row({ timer: 'response', waitingForSocket: true }), ['local', 'pool_full', null, 'pool-full']);
  // Waiting for a socket matters only when the response timer ended the attempt.
  assert.deepEqual(row({ error: err('ECONNREFUSED'), waitingForSocket: true }), ['upstream', 'connect', 'connect', 'refused']);
});

test('a client that went away is local and not counted, whatever error the upstream request got', () => {
  for (const f of [{ error: err('ECONNRESET') }, { timer: 'response' as const }, { error: err('EMFILE') }, {}]) {
    assert.deepEqual(row({ ...f, clientGone: true }), ['local', 'client_gone', null, 'client-gone']);
  }
});

test('statuses and unrelayable responses', () => {
  assert.deepEqual(row({ status: 503 }), ['upstream', 'status', 'status', 'status']);
  assert.deepEqual(row({ unrelayable: true, error: err('ERR_INVALID_CHAR') }), [
    'upstream',
    'bad_response',
    'bad_response',
    'ERR_INVALID_CHAR',
  ]);
  assert.deepEqual(row({ unrelayable: true, error: new Error('x') }), ['upstream', 'bad_response', 'bad_response', 'unrelayable']);
});

test('errors without a code: the message is the detail; non-errors do not throw', () => {
  assert.deepEqual(row({ error: new Error('socket hang up') }), ['upstream', 'reset', 'reset', 'socket hang up']);
  assert.deepEqual(row({ error: 'a string' }), ['upstream', 'reset', 'reset', 'error']);
  assert.deepEqual(row({ error: { code: 42 } }), ['upstream', 'reset', 'reset', 'error']);
  assert.deepEqual(row({ error: null }), ['upstream', 'reset', 'reset', 'error']);
});

test('results are frozen, so a caller cannot change what the next failure is classified as', () => {
  const c = classifyFailure({ error: err('ECONNREFUSED') });
  assert.ok(Object.isFrozen(c));
  assert.equal(classifyFailure({ error: err('ECONNREFUSED') }), c, 'known codes share one result');
});
