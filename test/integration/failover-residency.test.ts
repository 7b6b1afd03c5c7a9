// Issue 3: residency is never crossed by failover or retries — a hard kill and a region answering 503
// both give the EU client a 503 naming the rule, and us-east never sees the request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessLines, from, ready, regionStatus } from '../helpers/failover.js';
import { startRouter, waitFor } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

const RESIDENCY = 'residency:\n  - name: gdpr\n    countries: [EU]\n    regions: [eu-west]\n';

test('residency with a hard kill: the German client gets 503 + Retry-After naming the rule, never us-east', async (t) => {
  const world = await startWorld(['us-east', 'eu-west']);
  t.after(() => world.stop());
  const router = await startRouter(configYaml(world, `health: { interval: 100ms, timeout: 80ms }\nallDown: try\n${RESIDENCY}`));
  t.after(() => router.stop());
  await ready(router);
  assert.equal((await from(router, 'DE', { path: '/r' })).json.region, 'eu-west');

  await world.b('eu-west').kill();
  // Right after the kill (before detection: connection refused, retry candidates) and after it.
  const early = await from(router, 'DE', { path: '/r' });
  assert.equal(early.status, 503, `got ${early.status} ${early.text}`);
  assert.equal(early.json.error, 'residency');
  assert.equal(early.json.rule, 'gdpr');
  await regionStatus(router, 'eu-west', 'unavailable');
  for (const method of ['GET', 'POST']) {
    const r = await from(router, 'DE', { method, path: '/r', body: method === 'POST' ? '{}' : undefined });
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After is set');
    assert.equal(r.json.error, 'residency');
    assert.equal(r.json.rule, 'gdpr');
  }
  assert.equal(world.b('us-east').requests.length, 0, 'us-east never saw an EU request');
  // A US client is unaffected (and a British one, not EU-flagged, fails over normally).
  assert.equal((await from(router, 'US', { path: '/r' })).json.region, 'us-east');
  assert.equal(world.b('us-east').requests.length, 1);
});

test('residency under retries: eu-west answering 503 is not retried across to us-east', async (t) => {
  const world = await startWorld(['us-east', 'eu-west']);
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      `health: { interval: 1m, timeout: 500ms }\nretry: { attempts: 3, on: [connect, timeout, 502, 503, 504] }\n${RESIDENCY}`,
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  world.b('eu-west').trafficMode = 'fail';
  for (let i = 0; i < 8; i++) {
    const r = await from(router, 'FR', { path: `/r${i}` });
    assert.equal(r.status, 503, `request ${i}: ${r.status} ${r.text}`);
    assert.notEqual(r.json?.region, 'us-east');
    assert.ok(
      r.json.error === 'residency' ? r.json.rule === 'gdpr' : r.headers['x-backend-region'] === 'eu-west',
      `request ${i}: the 503 is eu-west's own or the residency answer: ${r.text}`,
    );
  }
  assert.equal(world.b('us-east').requests.length, 0, 'no retry crossed the residency rule');
  const lines = await waitFor(
    () => {
      const x = accessLines(router).filter((l) => String(l.path).startsWith('/r'));
      return x.length >= 8 ? x : null;
    },
    5_000,
    'access lines',
  );
  assert.equal(lines.length, 8);
  assert.ok(lines.every((l) => l.status === 503));
  assert.ok(lines.every((l) => l.region === 'eu-west' || l.region === 'none'));
});
