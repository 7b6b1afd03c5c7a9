// deploy/grafana/meridian.json against a real Prometheus scraping a live router (in a fleet, with a
// real etcd) that carries traffic and failures: every panel query (and annotation) runs through
// Prometheus's HTTP API without error and returns data, and every metric it names is one the router
// exports. Then the dashboard is drawn from the same Prometheus (each panel's queries over the test's
// span, laid out by gridPos) in Chromium and saved as test-results/dashboard.png — docs/dashboard.png
// is a copy of it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { dashboardHtml, legendOf, type PanelData } from '../helpers/dashboard-picture.js';
import { startEtcd } from '../helpers/etcd.js';
import { from, metrics, ready, regionStatus } from '../helpers/failover.js';
import { startPrometheus, type Prometheus } from '../helpers/prometheus.js';
import { admin, REPO_ROOT, startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld } from '../helpers/world.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH ?? ''].find((p) => p !== '' && existsSync(p));

interface Target {
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
}
interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
  options?: { textMode?: string };
  fieldConfig?: {
    defaults?: { unit?: string; mappings?: { type: string; options: Record<string, { text: string; color: string }> }[] };
  };
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

/** Steady traffic from two continents on both routes until stopped, so rates have a shape (the failures are provoked from a third). */
function background(router: RouterProc): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    for (let i = 0; on; i++) {
      const country = i % 2 === 0 ? 'DE' : 'US';
      await from(router, country, { path: i % 4 === 0 ? '/page' : '/api/items' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

/** Each panel's queries over [start, end] as the picture draws them. */
async function panelData(prom: Prometheus, d: Dashboard, start: number, end: number): Promise<PanelData[]> {
  const out: PanelData[] = [];
  for (const p of d.panels) {
    const series: PanelData['series'][number][] = [];
    for (const t of p.targets ?? []) {
      if (!t.expr) continue;
      const q = resolve(t.expr).replaceAll('[1m]', '[15s]');
      if (t.instant) {
        for (const r of await prom.query(q))
          series.push({ labels: r.metric, legend: legendOf(t.legendFormat, r.metric), points: [[r.value[0], Number(r.value[1])]] });
      } else {
        for (const r of await prom.queryRange(q, start, end, 1))
          series.push({
            labels: r.metric,
            legend: legendOf(t.legendFormat, r.metric),
            points: r.values.map(([ts, v]) => [ts, Number(v)] as const),
          });
      }
    }
    const mappings = Object.assign({}, ...(p.fieldConfig?.defaults?.mappings ?? []).map((m) => m.options)) as PanelData['mappings'];
    out.push({
      type: p.type,
      title: p.title,
      gridPos: p.gridPos,
      unit: p.fieldConfig?.defaults?.unit ?? 'short',
      showName: p.options?.textMode === 'name',
      mappings,
      series,
    });
  }
  return out;
}

test('every dashboard query runs on a real Prometheus scraping a fleet router with traffic and failures; the picture shows every panel', async (t) => {
  assert.ok(CHROMIUM, 'Chromium is needed for this test: apt-get install -y chromium (or set CHROMIUM_PATH)');
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(
      world,
      `health: { interval: 200ms, timeout: 150ms, unhealthyThreshold: 2, healthyThreshold: 2, failbackDelay: 1s }
passive: { consecutiveFailures: 3, ejectFor: 30s, maxEjectedPercent: 50 }
writes: { regions: [us-east, eu-west], maxLag: 5s }
retry: { attempts: 1, on: [connect, 503], budget: 0.001, budgetMinPerWindow: 2, budgetWindow: 30s }
routes:
  - { name: api, match: { pathPrefix: /api }, mode: read-local-write-global }
  - { name: web, match: { pathPrefix: / }, mode: active-active }
fleet:
  etcd: { endpoints: [${etcd.endpoint}], prefix: /meridian/dashboard/ }
  id: edge-1
  lease: 2s
`,
    ),
  );
  t.after(() => router.stop());
  await ready(router);
  const target = `127.0.0.1:${router.adminPort}`;
  const prom = await startPrometheus([target]);
  t.after(() => prom.stop());
  const start = Math.floor(Date.now() / 1000);
  const stopLoad = background(router);
  t.after(stopLoad);

  // Normal traffic on both routes from three continents, writes to the write region, a 500.
  for (const country of ['DE', 'US', 'SG']) {
    for (let i = 0; i < 4; i++) await from(router, country, { path: '/api/items' });
    await from(router, country, { path: '/page' });
  }
  await from(router, 'DE', { method: 'POST', path: '/api/orders', body: '{}' });
  assert.equal((await from(router, 'DE', { path: '/__status/500' })).status, 500);
  await waitFor(async () => (await prom.scrapes(target)) >= 5, 30_000, 'five scrapes');
  // The fleet moves the write region by hand: a handover, epoch 2.
  assert.equal((await admin(router, 'POST', '/admin/write-region', undefined, '{"region": "eu-west"}')).status, 200);
  await waitFor(async () => /^meridian_write_epoch 2$/m.test(await metrics(router)), 15_000, 'epoch 2');
  await from(router, 'DE', { method: 'POST', path: '/api/orders', body: '{}' });
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
  assert.match(text, /^meridian_fleet_connected 1$/m, 'in the fleet');

  // Prometheus has seen the router before and after the failures.
  const scrapedAt = Date.now();
  const before = await prom.scrapes(target);
  await waitFor(
    async () => (await prom.scrapes(target)) >= before + 3 && Date.now() - scrapedAt > 2_000,
    30_000,
    'scrapes after the failures',
  );
  await stopLoad();

  const exported = new Set(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => /^[^{\s]+/.exec(l)![0]),
  );
  const failures: string[] = [];
  for (const { where, expr } of queries(dashboard)) {
    const names = metricNames(expr);
    for (const n of names) if (!exported.has(n)) failures.push(`${where}: ${n} is not exported by the router`);
    const q = resolve(expr);
    assert.doesNotMatch(q, /\$/, `${where}: every Grafana variable is resolved`);
    try {
      const result = await prom.query(q);
      // An annotation marks events; the write region moved within the range, so it has one too.
      if (result.length === 0) failures.push(`${where}: no data for ${q}`);
    } catch (err) {
      failures.push(`${where}: ${(err as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);

  // The picture: every panel drawn from the same Prometheus, in a real browser.
  const panels = await panelData(prom, dashboard, start, Math.ceil(Date.now() / 1000));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.setViewport({ width: 1420, height: 900 });
  await page.setContent(dashboardHtml('Meridian (deploy/grafana/meridian.json)', panels, [start, Math.ceil(Date.now() / 1000)]), {
    waitUntil: 'load',
  });
  const drawn = await page.$$eval('section[data-panel]', (els) =>
    els.map((e) => ({ title: e.getAttribute('data-panel') ?? '', series: e.querySelectorAll('[data-series]').length })),
  );
  const charts = panels.filter((p) => p.type !== 'row');
  assert.equal(drawn.length, charts.length, 'one box per panel');
  assert.deepEqual(
    drawn.filter((d) => d.series === 0).map((d) => d.title),
    [],
    'every panel drew at least one series',
  );
  assert.deepEqual(
    requests.filter((u) => !u.startsWith('about:')),
    [],
    'the picture loads nothing',
  );
  const dir = join(REPO_ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'dashboard.png');
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(statSync(file).size > 10_000, 'a screenshot with content');
});
