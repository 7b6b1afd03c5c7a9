// limits.upstreamMaxSockets: a request that gets no connection to its endpoint before its response
// timeout is a local error (the router's own pool is full), answered 503 `overloaded` and counted
// in meridian_local_errors_total{kind="pool_full"}; it is not held against the endpoint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawSession, worldAndRouter } from '../helpers/edge.js';
import { metrics, sample } from '../helpers/failover.js';
import { request } from '../helpers/router-process.js';

// One connection per endpoint; one failure would eject; every body is streamed.
const fx = worldAndRouter(
  ['us-east', 'eu-west'],
  `health: { interval: 1m, timeout: 500ms }
passive: { consecutiveFailures: 1, ejectFor: 1m }
retry: { attempts: 0, maxBufferBytes: 0 }
timeouts: { request: 500ms }
limits: { upstreamMaxSockets: 1 }
`,
  { logLevel: 'info' },
);

test("a request that waited for a pooled connection too long is a local error, not the endpoint's", async () => {
  // A slow upload holds the only connection to us-east for about 1.5 s…
  const upload = rawSession(
    fx.router.port,
    ['POST /up HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\nconnection: close\r\n\r\n', 'a', 'b', 'c', 'd'],
    { gapMs: 400, waitMs: 8_000 },
  );
  await new Promise((r) => setTimeout(r, 200));
  // …so this one waits for it past timeouts.request.
  const waiting = await request(fx.router.port, { path: '/waiting' });
  assert.equal(waiting.status, 503);
  assert.equal(waiting.json.error, 'overloaded');
  assert.match((await upload).text, /^HTTP\/1\.1 200 /);
  assert.equal(
    fx.router.logs.some((l) => l.event === 'ejected'),
    false,
    'nothing was held against us-east',
  );
  const m = await metrics(fx.router);
  assert.ok((sample(m, 'meridian_local_errors_total', { kind: 'pool_full' }) ?? 0) >= 1);
  assert.equal(sample(m, 'meridian_upstream_errors_total', { region: 'us-east', kind: 'timeout' }) ?? 0, 0);
  assert.equal((await request(fx.router.port, { path: '/after' })).status, 200);
});
