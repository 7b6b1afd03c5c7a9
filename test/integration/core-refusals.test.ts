// Answers when the router cannot or will not forward: a retryable upstream status with nowhere to
// retry reaches the client as the backend sent it; a refused WebSocket upgrade carries the same
// Retry-After and residency rule as a refused request; an oversized admin body gets its 413.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clientFor } from '../helpers/clients.js';
import { coreConfig, rawRequest } from '../helpers/core.js';
import { admin, request, startRouter, type RouterProc, waitReady } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = 'refusals-token-123456';
let world: World;
let router: RouterProc;

before(async () => {
  world = await startWorld(['us-east', 'eu-west']);
  router = await startRouter(
    coreConfig(world, {
      token: TOKEN,
      extra: `residency:
  - name: gdpr
    countries: [EU]
    regions: [eu-west]
routes:
  - name: default
    match: { pathPrefix: / }
    mode: active-active
`,
    }),
  );
  await waitReady(router);
});

after(async () => {
  await router?.stop();
  await world?.stop();
});

test('a retryable 503 with no other region allowed reaches the client as the backend sent it', async () => {
  // A German client may only use eu-west (gdpr): its 503 cannot be retried anywhere.
  const before = world.b('us-east').requests.length;
  const r = await request(router.port, { path: '/__status/503', headers: { 'x-forwarded-for': clientFor('DE').ip } });
  assert.equal(r.status, 503);
  assert.equal(r.headers['x-backend-region'], 'eu-west', 'the backend answer, not a router error');
  assert.equal(r.json.region, 'eu-west');
  assert.equal(r.json.error, undefined);
  assert.equal(world.b('us-east').requests.length, before, 'residency: never retried in us-east');
  const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/__status/503');
  assert.equal(line.attempts, 1);
});

test('a refused WebSocket upgrade carries Retry-After and names the residency rule', async () => {
  const drained = await admin(router, 'POST', '/admin/regions/eu-west/drain', TOKEN);
  assert.equal(drained.status, 200);
  try {
    const text = await rawRequest(
      router.port,
      `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Forwarded-For: ${clientFor('DE').ip}\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /\r\nretry-after: \d+\r\n/i);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: string; rule: string };
    assert.deepEqual([body.error, body.rule], ['residency', 'gdpr']);
  } finally {
    await admin(router, 'POST', '/admin/regions/eu-west/undrain', TOKEN);
  }
});

test('an admin body over 16 KiB gets 413 with a JSON body, not a reset', async () => {
  const r = await admin(router, 'POST', '/admin/write-region', TOKEN, JSON.stringify({ region: 'x'.repeat(20_000) }));
  assert.equal(r.status, 413);
  assert.equal(r.json.error, 'payload_too_large');
});

test('CONNECT gets a 405 with a JSON body, and the router keeps serving', async () => {
  const text = await rawRequest(router.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 405 /);
  assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error, 'connect_not_supported');
  assert.equal((await request(router.port, { path: '/after-connect' })).status, 200);
});
