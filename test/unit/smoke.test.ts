import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/fake-clock.js';
test('fake clock advances', () => {
  const c = new FakeClock(0);
  c.advance(5);
  assert.equal(c.now(), 5);
});
