// deploy/prometheus/alerts.yml checked by Prometheus's own promtool: the rules load, and the unit
// tests in alerts.test.yml make every alert fire on a synthetic failure and clear afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/router-process.js';

const DIR = join(REPO_ROOT, 'deploy', 'prometheus');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  input_series: { series: string }[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
}

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool could not run (Debian package "prometheus"; .ci/run installs it): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const rules = (parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

test('promtool check rules accepts alerts.yml', () => {
  const r = promtool('check', 'rules', 'alerts.yml');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('promtool test rules: every alert fires and clears in alerts.test.yml', () => {
  const r = promtool('test', 'rules', 'alerts.test.yml');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);

  const tests = (parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as { tests: RuleTest[] }).tests;
  for (const rule of rules) {
    const evals = tests
      .flatMap((t) => t.alert_rule_test ?? [])
      .filter((e) => e.alertname === rule.alert)
      .map((e) => ({ minutes: parseInt(e.eval_time, 10), fires: e.exp_alerts.length > 0 }));
    const firing = evals.filter((e) => e.fires).map((e) => e.minutes);
    assert.ok(firing.length > 0, `${rule.alert} is tested firing`);
    assert.ok(
      evals.some((e) => !e.fires && e.minutes > Math.min(...firing)),
      `${rule.alert} is tested clearing after it fired`,
    );
  }
});

test('the alerts an operator needs exist, each with a delay, a severity and text to act on', () => {
  const byName = new Map(rules.map((r) => [r.alert, r]));
  const wanted: [string, RegExp][] = [
    ['MeridianRegionDown', /meridian_region_up/],
    ['MeridianNoWriteRegion', /meridian_write_region/],
    ['MeridianWriteRegionWithoutFailover', /meridian_write_region/],
    ['MeridianReplicationLagHigh', /meridian_replication_lag_seconds[\s\S]*meridian_write_max_lag_seconds/],
    ['MeridianHigh5xxShare', /status_class="5xx"/],
    ['MeridianRetryBudgetExhausted', /meridian_retries_denied_total/],
    ['MeridianRouterNotScraped', /up\{job="meridian"\}/],
    ['MeridianFleetDisconnected', /meridian_fleet_connected/],
    ['MeridianWorkersRestarting', /meridian_worker_restarts_total/],
  ];
  for (const [name, expr] of wanted) {
    const r = byName.get(name);
    assert.ok(r, `${name} exists`);
    assert.match(r.expr, expr, name);
    assert.match(r.for ?? '', /^\d+[smh]$/, `${name} has a for: delay`);
    assert.match(r.labels?.severity ?? '', /^(critical|warning)$/, `${name} severity`);
    for (const k of ['summary', 'description', 'runbook']) assert.ok((r.annotations?.[k] ?? '').length > 20, `${name} ${k}`);
  }
});
