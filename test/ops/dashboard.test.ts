// deploy/grafana/meridian.json against a real Prometheus scraping a live router that carries
// traffic and failures: every panel query (and annotation) runs through Prometheus's HTTP API
// without error and returns data, and every metric it names is one the router exports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { from, metrics, ready, regionStatus } from '../helpers/failover.js';
import { startPrometheus } from '../helpers/prometheus.js';
import { REPO_ROOT, startRouter, waitFor } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

/**
 * Metrics that exist only when `fleet:` is configured; the router under test has no fleet, so
 * these names may be missing from its /metrics and their panels may be empty. Nothing else may.
 */
const FLEET_ONLY = new Set([
  'meridian_fleet_connected',
  'meridian_fleet_members',
  'meridian_fleet_leader',
  'meridian_write_epoch',
  'meridian_write_handover_seconds_bucket',
]);

interface Target {
  expr?: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  annotations: { list: { expr?: string; name: string }[] };
  templating: { list: { name: string; type: string; query?: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'meridian.json'), 'utf8')) as Dashboard;

/** Every query of the dashboard, named by where it sits. */
function queries(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: p.title, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const a of d.annotations.list) if (a.expr) out.push({ where: `annotation ${a.name}`, expr: a.expr });
  return out;
}

/** Grafana's variables as Grafana would fill them in for this Prometheus (1s scrapes). */
function resolve(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '15s')
    .replaceAll('$__range', '1m')
    .replaceAll('$job', 'meridian')
    .replaceAll('$instance', '.*');
}

/** Metric names (not functions, not labels) a PromQL expression reads. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  return [...new Set([...withoutStrings.matchAll(/\b((?:meridian|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1]!))];
}

test('the dashboard is a current Grafana dashboard with datasource, job and instance variables', () => {
  assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.get('datasource')?.type, 'datasource');
  assert.equal(vars.get('job')?.type, 'query');
  assert.equal(vars.get('instance')?.type, 'query');
  const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
  for (const want of [
    'region',
    'reason',
    'latency',
    'upstream',
    '5xx',
    'write region',
    'epoch',
    'lag',
    'retries',
    'ejections',
    'fleet',
    'endpoint',
  ]) {
    assert.ok(titles.includes(want), `a panel about ${want}`);
  }
  for (const { where, expr } of queries(dashboard)) {
    if (expr.includes('meridian_')) assert.match(expr, /job="\$job", instance=~"\$instance"/, `${where} is filtered by job and instance`);
  }
});

test('every dashboard query runs on a real Prometheus scraping a router with traffic and failures', async (t) => {
  const world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      `health: { interval: 200ms, timeout: 150ms, unhealthyThreshold: 2, healthyThreshold: 2, failbackDelay: 1s }
passive: { consecutiveFailures: 3, ejectFor: 30s, maxEjectedPercent: 50 }
writes: { regions: [us-east, eu-west], maxLag: 5s }
retry: { attempts: 1, on: [connect, 503], budget: 0.1, budgetMinPerWindow: 2, budgetWindow: 30s }
routes:
  - { name: api, match: { pathPrefix: /api }, mode: read-local-write-global }
  - { name: web, match: { pathPrefix: / }, mode: active-active }
`,
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  const target = `127.0.0.1:${router.adminPort}`;
  const prom = await startPrometheus([target]);
  t.after(() => prom.stop());

  // Normal traffic on both routes from three continents, writes to the write region, a 500.
  for (const country of ['DE', 'US', 'SG']) {
    for (let i = 0; i < 4; i++) await from(router, country, { path: '/api/items' });
    await from(router, country, { path: '/page' });
  }
  await from(router, 'DE', { method: 'POST', path: '/api/orders', body: '{}' });
  assert.equal((await from(router, 'DE', { path: '/__status/500' })).status, 500);
  // A region whose live traffic fails: retried elsewhere, then ejected; the budget runs out.
  world.b('ap-southeast').trafficMode = 'fail';
  for (let i = 0; i < 8; i++) await from(router, 'SG', { path: '/api/items' });
  // A dead region: probes fail, the region goes down, its clients fail over.
  await world.b('us-east').kill();
  await regionStatus(router, 'us-east', 'unavailable');
  for (let i = 0; i < 3; i++) await from(router, 'US', { path: '/page' });

  const text = await metrics(router);
  assert.match(text, /^meridian_retries_total\{from="ap-southeast",to="[a-z-]+",reason="status"\} [1-9]/m, 'retries happened');
  assert.match(text, /^meridian_ejections_total\{region="ap-southeast",endpoint="[^"]+"\} [1-9]/m, 'an ejection happened');
  assert.match(text, /^meridian_retries_denied_total [1-9]/m, 'the budget refused a retry');

  // Prometheus has seen the router before and after the failures.
  await waitFor(async () => (await prom.scrapes(target)) >= 5, 30_000, 'five scrapes');
  const scrapedAt = Date.now();
  await waitFor(async () => (await prom.scrapes(target)) >= 5 + 3 && Date.now() - scrapedAt > 2_000, 30_000, 'scrapes after the failures');

  const exported = new Set(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => /^[^{\s]+/.exec(l)![0]),
  );
  const failures: string[] = [];
  for (const { where, expr } of queries(dashboard)) {
    const names = metricNames(expr);
    for (const n of names) if (!exported.has(n) && !FLEET_ONLY.has(n)) failures.push(`${where}: ${n} is not exported by the router`);
    const q = resolve(expr);
    assert.doesNotMatch(q, /\$/, `${where}: every Grafana variable is resolved`);
    try {
      const result = await prom.query(q);
      // An annotation marks events, so it is empty while none happened; panels must show data.
      const mayBeEmpty = where.startsWith('annotation ') || names.some((n) => FLEET_ONLY.has(n));
      if (result.length === 0 && !mayBeEmpty) failures.push(`${where}: no data for ${q}`);
    } catch (err) {
      failures.push(`${where}: ${(err as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});
