import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from '../../src/proxy/retry-budget.js';
import { FakeClock } from '../helpers/fake-clock.js';

const cfg = { budget: 0.2, budgetMinPerWindow: 3, budgetWindowMs: 10_000 };

function drain(b: RetryBudget): number {
  let n = 0;
  while (b.tryAcquireRetry()) n++;
  return n;
}

test('floor: budgetMinPerWindow retries with no traffic at all', () => {
  const b = new RetryBudget(cfg, new FakeClock(0));
  assert.equal(drain(b), 3);
});

test('share: retries up to budget × requests in the window', () => {
  const b = new RetryBudget(cfg, new FakeClock(0));
  for (let i = 0; i < 100; i++) b.recordRequest();
  assert.equal(drain(b), 20);
  assert.deepEqual(b.stats(), { requests: 100, retries: 20, allowed: 20 });
});

test('the window slides: old requests and retries fall out bucket by bucket', () => {
  const clock = new FakeClock(0);
  const b = new RetryBudget(cfg, clock);
  for (let i = 0; i < 100; i++) b.recordRequest();
  assert.equal(drain(b), 20);
  clock.advance(5_000);
  assert.equal(b.tryAcquireRetry(), false); // still inside the window
  for (let i = 0; i < 50; i++) b.recordRequest();
  assert.equal(drain(b), 10); // 150 requests → 30 allowed, 20 used
  clock.advance(5_000); // first bucket (100 requests, 20 retries) leaves the window
  assert.deepEqual(b.stats(), { requests: 50, retries: 10, allowed: 10 });
  assert.equal(b.tryAcquireRetry(), false);
  clock.advance(10_000); // everything gone
  assert.deepEqual(b.stats(), { requests: 0, retries: 0, allowed: 3 });
  assert.equal(drain(b), 3);
});

test('a long idle gap clears everything; a clock step back does not corrupt', () => {
  const clock = new FakeClock(1_700_000_000_000);
  const b = new RetryBudget(cfg, clock);
  for (let i = 0; i < 10; i++) b.recordRequest();
  clock.advance(1_000_000);
  assert.equal(b.stats().requests, 0);
  b.recordRequest();
  clock.advance(-5_000);
  b.recordRequest();
  assert.equal(b.stats().requests, 2);
});

test('configure: a new window resets counts, a new share applies at once', () => {
  const b = new RetryBudget(cfg, new FakeClock(0));
  for (let i = 0; i < 100; i++) b.recordRequest();
  b.configure({ ...cfg, budget: 0.5 });
  assert.equal(b.stats().allowed, 50);
  b.configure({ ...cfg, budgetWindowMs: 20_000 });
  assert.equal(b.stats().requests, 0);
});
