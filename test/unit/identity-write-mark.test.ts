import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteMarkCodec, generateSecret, WRITE_MARK_MAX_SKEW_MS } from '../../src/identity/write-mark.js';

const T = 1_700_000_000_000;
const codec = createWriteMarkCodec('s3cret');

test('sign/verify round trip', () => {
  const v = codec.sign('eu-west', T);
  assert.match(v, /^v1\.eu-west\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(codec.verify(v, T + 1000, 10_000), { region: 'eu-west', at: T });
  assert.deepEqual(codec.verify(v, T + 10_000, 10_000), { region: 'eu-west', at: T }, 'window is inclusive');
});

test('region names with dots and odd characters survive', () => {
  for (const r of ['eu.west.1', 'ap southeast', 'ü-region', 'a%b']) {
    assert.deepEqual(codec.verify(codec.sign(r, T), T, 1000), { region: r, at: T }, r);
  }
});

test('expired and future-dated marks are rejected', () => {
  const v = codec.sign('us-east', T);
  assert.equal(codec.verify(v, T + 10_001, 10_000), null, 'expired');
  assert.notEqual(codec.verify(v, T - WRITE_MARK_MAX_SKEW_MS, 10_000), null, 'small skew tolerated');
  assert.equal(codec.verify(v, T - WRITE_MARK_MAX_SKEW_MS - 1, 10_000), null, 'future beyond skew');
});

test('forged, tampered and malformed values are rejected, never thrown', () => {
  const v = codec.sign('us-east', T);
  const [, region, at, sig] = v.split('.') as [string, string, string, string];
  const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const bad = [
    `v1.eu-west.${at}.${sig}`, // region swapped
    `v1.${region}.${(T + 5000).toString(36)}.${sig}`, // time moved
    `v1.${region}.${at}.${flip(sig)}`, // signature altered
    `v1.${region}.${at}.${sig.slice(0, -1)}`, // truncated signature
    `v1.${region}.${at}.${sig}A`,
    `v2.${region}.${at}.${sig}`,
    `v1..${at}.${sig}`,
    `v1.${region}.${sig}`,
    `v1.${region}.ZZ.${sig}`,
    `${v}.extra`,
    '',
    'v1.',
    'v1...',
    'garbage',
    'v1.%E0%A4%A.1.' + sig,
    'x'.repeat(10_000),
  ];
  for (const b of bad) {
    assert.doesNotThrow(() => codec.verify(b, T, 10_000));
    assert.equal(codec.verify(b, T, 10_000), null, b.slice(0, 60));
  }
  assert.equal(codec.verify(undefined, T, 10_000), null);
});

test('a different secret does not verify', () => {
  const other = createWriteMarkCodec('other-secret');
  assert.equal(other.verify(codec.sign('us-east', T), T, 10_000), null);
  const buf = createWriteMarkCodec(Buffer.from('s3cret'));
  assert.notEqual(buf.verify(codec.sign('us-east', T), T, 10_000), null, 'Buffer and string keys agree');
  assert.throws(() => createWriteMarkCodec(''));
});

test('generateSecret: 32 random bytes base64url', () => {
  const a = generateSecret();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a, 'base64url').length, 32);
  assert.notEqual(a, generateSecret());
  const c = createWriteMarkCodec(a);
  assert.notEqual(c.verify(c.sign('x', T), T, 1), null);
});
