// The metrics an operator builds alerts and dashboards on, read from a live router's /metrics:
// build info, a 0 series for every counter before any event, route on the latency histograms,
// one meaning per label on the transition counters, and writes.maxLag as a gauge.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { from, metrics, ready, regionStatus, sample } from '../helpers/failover.js';
import { REPO_ROOT, startRouter, waitFor } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];
const ROUTES = `routes:
  - name: api
    match: { pathPrefix: /api }
    mode: read-local-write-global
  - name: web
    match: { pathPrefix: / }
    mode: active-active
`;
const EXTRA = `health: { interval: 100ms, timeout: 80ms, unhealthyThreshold: 2, healthyThreshold: 2, failbackDelay: 1s }
writes:
  regions: [us-east, eu-west]
  maxLag: 7s
${ROUTES}`;

/** Every family named `name` with its TYPE line. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

test('a fresh router exports build info, maxLag, and a 0 series for every counter and (route, region) pair', async (t) => {
  const world = await startWorld(REGIONS);
  t.after(() => world.stop());
  const router = await startRouter(configYaml(world, EXTRA));
  t.after(() => router.stop());
  await ready(router);
  const text = await metrics(router);

  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(sample(text, 'meridian_build_info', { version: pkg.version, node: process.version }), 1);
  assert.equal(sample(text, 'meridian_write_max_lag_seconds'), 7);

  for (const route of ['api', 'web']) {
    for (const region of REGIONS) {
      assert.equal(sample(text, 'meridian_requests_total', { route, region }), 0, `requests ${route}/${region}`);
    }
  }
  // Every counter family Meridian defines has at least one series before any request or event.
  const counters = [...families(text)].filter(([name, type]) => type === 'counter' && name.startsWith('meridian_')).map(([n]) => n);
  assert.ok(counters.length >= 10, `found counters: ${counters.join(', ')}`);
  for (const name of counters) {
    assert.notEqual(sample(text, name), null, `${name} has a series at start`);
  }
  for (const region of REGIONS) {
    assert.equal(sample(text, 'meridian_upstream_errors_total', { region, kind: 'connect' }), 0);
    assert.equal(sample(text, 'meridian_endpoint_transitions_total', { region, endpoint: world.b(region).url }), 0);
  }
  assert.equal(sample(text, 'meridian_write_region_changes_total', { from: 'us-east', to: 'eu-west' }), 0);
  assert.equal(sample(text, 'meridian_retries_denied_total'), 0);
  assert.doesNotMatch(text, /meridian_state_transitions_total/, 'the mixed-meaning family is gone');

  // A reload that adds a route seeds its pairs too.
  router.writeConfig(
    configYaml(world, EXTRA.replace('routes:\n', 'routes:\n  - name: admin-ui\n    match: { pathPrefix: /ui }\n    mode: active-active\n')),
  );
  router.proc.kill('SIGHUP');
  await router.waitForLog((l) => l.event === 'reload' && l.result === 'success');
  const after = await metrics(router);
  for (const region of REGIONS) assert.equal(sample(after, 'meridian_requests_total', { route: 'admin-ui', region }), 0);
});

test('latency histograms carry region and route; transitions have one meaning per label', async (t) => {
  const world = await startWorld(REGIONS);
  t.after(() => world.stop());
  const router = await startRouter(configYaml(world, EXTRA));
  t.after(() => router.stop());
  await ready(router);

  for (let i = 0; i < 3; i++) assert.equal((await from(router, 'DE', { path: '/api/x' })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await from(router, 'SG', { path: '/page' })).status, 200);
  const text = await metrics(router);
  assert.equal(sample(text, 'meridian_request_duration_seconds_count', { region: 'eu-west', route: 'api' }), 3);
  assert.equal(sample(text, 'meridian_request_duration_seconds_count', { region: 'ap-southeast', route: 'web' }), 2);
  assert.equal(sample(text, 'meridian_upstream_duration_seconds_count', { region: 'eu-west', route: 'api' }), 3);
  assert.equal(sample(text, 'meridian_upstream_duration_seconds_bucket', { region: 'ap-southeast', route: 'web', le: '+Inf' }), 2);
  const upstreamSum = sample(text, 'meridian_upstream_duration_seconds_sum', { region: 'eu-west', route: 'api' }) ?? -1;
  const totalSum = sample(text, 'meridian_request_duration_seconds_sum', { region: 'eu-west', route: 'api' }) ?? -1;
  assert.ok(upstreamSum > 0 && upstreamSum <= totalSum, `upstream ${upstreamSum}s within total ${totalSum}s`);
  assert.equal(families(text).get('meridian_upstream_duration_seconds'), 'histogram');

  await world.b('ap-southeast').kill();
  await regionStatus(router, 'ap-southeast', 'unavailable');
  const m = await waitFor(async () => {
    const x = await metrics(router);
    return (sample(x, 'meridian_region_transitions_total', { region: 'ap-southeast', from: 'available', to: 'unavailable' }) ?? 0) >= 1
      ? x
      : null;
  });
  const url = world.b('ap-southeast').url;
  assert.equal(sample(m, 'meridian_endpoint_transitions_total', { region: 'ap-southeast', endpoint: url, from: 'up', to: 'down' }), 1);
  // region is always a region name, endpoint always a URL.
  for (const line of m.split('\n').filter((l) => l.startsWith('meridian_region_transitions_total{'))) {
    assert.match(line, /region="(us-east|eu-west|ap-southeast)"/);
    assert.doesNotMatch(line, /endpoint=|scope=|name=/);
  }
  for (const line of m.split('\n').filter((l) => l.startsWith('meridian_endpoint_transitions_total{'))) {
    assert.match(line, /region="(us-east|eu-west|ap-southeast)",endpoint="http:\/\/127\.0\.0\.1:\d+"/);
  }
});
