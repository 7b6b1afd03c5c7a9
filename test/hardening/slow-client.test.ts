// A client that uploads its body slowly is not a backend failure: the upstream response timeout
// starts once the body has been sent upstream, so a slow upload that keeps arriving is served,
// and a few such clients cannot eject a healthy region or move the write region.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawSession, worldAndRouter } from '../helpers/edge.js';
import { metrics, sample, state } from '../helpers/failover.js';

// Every body is streamed (nothing buffered), the upstream has 400 ms to answer, two failures eject.
const fx = worldAndRouter(
  ['us-east', 'eu-west'],
  `health: { interval: 1m, timeout: 500ms }
passive: { consecutiveFailures: 2, ejectFor: 1m }
retry: { maxBufferBytes: 0 }
timeouts: { request: 400ms }
writes: { regions: [us-east, eu-west] }
routes:
  - { name: app, mode: read-local-write-global }
`,
);

test('slow uploads (gaps longer than timeouts.request) are served and count against nobody', async () => {
  const head = 'POST /upload HTTP/1.1\r\nhost: x\r\nx-forwarded-for: 3.0.0.1\r\ncontent-length: 6\r\nconnection: close\r\n\r\n';
  for (let i = 0; i < 3; i++) {
    const r = await rawSession(fx.router.port, [head, 'ab', 'cd', 'ef'], { gapMs: 300, waitMs: 8_000 });
    assert.match(r.text, /^HTTP\/1\.1 200 /, `slow upload ${i} answered: ${r.text.slice(0, 200)}`);
    assert.match(r.text, /"bodyBytes":6/);
  }
  assert.equal(
    fx.router.logs.some((l) => l.event === 'ejected'),
    false,
    'no ejection',
  );
  const m = await metrics(fx.router);
  assert.equal(sample(m, 'meridian_upstream_errors_total', { region: 'us-east', kind: 'timeout' }) ?? 0, 0);
  const s = await state(fx.router);
  assert.equal(s.writeRegion.region, 'us-east');
});
