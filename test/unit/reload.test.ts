// The reload path shared by the single process and the cluster primary: what it does, in which
// order, and what it says, with a real config file, health store, metrics and logger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfigFile } from '../../src/config/load.js';
import { HealthStore } from '../../src/health/store.js';
import { Metrics } from '../../src/observability/metrics.js';
import { reloadConfig, type ReloadApply, type ReloadDeps } from '../../src/reload.js';
import type { Snapshot } from '../../src/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

const region = (name: string, port: number, lat: number): string =>
  `  - { name: ${name}, location: { lat: ${lat}, lon: 0 }, endpoints: ["http://127.0.0.1:${port}"] }\n`;
const V1 = `listen: 127.0.0.1:8080\nregions:\n${region('us-east', 9001, 39)}${region('eu-west', 9002, 53)}`;

interface Harness {
  file: string;
  logs: Record<string, unknown>[];
  steps: string[];
  metrics: Metrics;
  health: HealthStore;
  snap: () => Snapshot;
  /** A reload of the harness's file, with `runtimes` replaced when given. */
  reload: (apply?: Partial<ReloadApply<string>>, runtimes?: ReloadDeps<string>['runtimes']) => ReturnType<typeof reloadConfig>;
  cleanup: () => void;
}

function harness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-reload-'));
  const file = join(dir, 'meridian.yaml');
  writeFileSync(file, V1);
  const first = loadConfigFile(file, {});
  if (!first.ok) throw new Error('V1 must load');
  let snap = first.snapshot;
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) });
  const metrics = new Metrics();
  const health = new HealthStore({ clock: new FakeClock() });
  health.applySnapshot(snap);
  const steps: string[] = [];
  const regionsInHealth = (): string[] => (health.state() as { regions: { name: string }[] }).regions.map((r) => r.name);
  return {
    file,
    logs,
    steps,
    metrics,
    health,
    snap: () => snap,
    reload: (apply = {}, runtimes) => {
      const deps: ReloadDeps<string> = {
        file,
        logger,
        metrics,
        health,
        runtimes: runtimes ?? {
          build: (next) => {
            steps.push(`build ${next.regions.length}`);
            return 'runtime';
          },
        },
      };
      return reloadConfig(deps, snap, {
        install: (next, runtime, text) => {
          steps.push(
            `install ${runtime} (health has ${regionsInHealth().join(',')}) ${text.includes('ap-southeast') ? 'new text' : 'old text'}`,
          );
          snap = next;
        },
        ...apply,
      });
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function reloads(metrics: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.reloads.get()).values) out[String(v.labels['result'])] = v.value;
  return out;
}

test('a valid file is built, installed, applied to the health store, counted and logged', async (t) => {
  const h = harness();
  t.after(h.cleanup);
  writeFileSync(h.file, `${V1.replace('8080', '8081')}${region('ap-southeast', 9003, 1)}workers: 2\n`);
  const r = await h.reload({
    settle: () => {
      h.steps.push('settle');
      return Promise.resolve({ configVersion: 7 });
    },
  });
  assert.deepEqual(r, { ok: true });
  assert.deepEqual(h.steps, ['build 3', 'install runtime (health has us-east,eu-west) new text', 'settle']);
  assert.deepEqual(
    (h.health.state() as { regions: { name: string }[] }).regions.map((x) => x.name),
    ['us-east', 'eu-west', 'ap-southeast'],
  );
  assert.equal(h.snap().regions.length, 3);
  const warnings = h.logs.filter((l) => l['level'] === 40).map((l) => l['msg']);
  assert.deepEqual(warnings, [
    'listen, admin.listen and admin.metricsListen changes take effect only after a restart',
    'a change of workers takes effect only after a restart',
  ]);
  const done = h.logs.filter((l) => l['event'] === 'reload' && l['level'] === 30);
  assert.equal(done.length, 1);
  assert.equal(done[0]?.['result'], 'success');
  assert.deepEqual(done[0]?.['regions'], ['us-east', 'eu-west', 'ap-southeast']);
  assert.deepEqual(done[0]?.['routes'], ['default']);
  assert.equal(done[0]?.['configVersion'], 7, 'what settle returns goes on the success line');
  assert.deepEqual(await reloads(h.metrics), { success: 1, failure: 0 });
  assert.match(await h.metrics.registry.getSingleMetricAsString('meridian_region_drained'), /region="ap-southeast"\} 0/);
});

test('config warnings are logged with the file; an unchanged listen says nothing about restarts', async (t) => {
  const h = harness();
  t.after(h.cleanup);
  writeFileSync(h.file, `${V1}health: { interval: 1s, timeout: 1s }\n`);
  assert.deepEqual(await h.reload(), { ok: true });
  const warnings = h.logs.filter((l) => l['level'] === 40);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.['file'], h.file);
  assert.match(String(warnings[0]?.['msg']), /health\.timeout \(1000ms\) is not below health\.interval/);
});

test('an invalid file changes nothing: every error as file:line:col, one failure counted and logged', async (t) => {
  const h = harness();
  t.after(h.cleanup);
  const before = h.snap();
  writeFileSync(h.file, `${V1}allDown: maybe\nhelth: {}\n`);
  const r = await h.reload();
  assert.deepEqual(r, {
    ok: false,
    errors: [
      `${h.file}:5:10 allDown: expected one of reject, try; got "maybe"`,
      `${h.file}:6:1 helth: unknown key \`helth\`; did you mean \`health\`?`,
    ],
  });
  assert.deepEqual(h.steps, []);
  assert.equal(h.snap(), before);
  assert.deepEqual(await reloads(h.metrics), { success: 0, failure: 1 });
  const line = h.logs.find((l) => l['event'] === 'reload');
  assert.equal(line?.['result'], 'failure');
  assert.equal(line?.['level'], 50);
  assert.deepEqual(line?.['errors'], r.ok ? [] : r.errors);
  assert.equal(line?.['msg'], 'config reload failed, keeping the running config (2 error(s))');
});

test('an unreadable file is a failed reload that names the file', async (t) => {
  const h = harness();
  t.after(h.cleanup);
  rmSync(h.file);
  const r = await h.reload();
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : (r.errors[0] ?? ''), new RegExp(`^${h.file.replace(/[.\\/]/g, '\\$&')}:1:1: cannot read config file: ENOENT`));
  assert.deepEqual(h.steps, []);
  assert.deepEqual(await reloads(h.metrics), { success: 0, failure: 1 });
});

test('a build that throws changes nothing and reaches the caller', async (t) => {
  const h = harness();
  t.after(h.cleanup);
  const before = h.snap();
  writeFileSync(h.file, `${V1}${region('ap-southeast', 9003, 1)}`);
  const failing = {
    build: (): string => {
      throw new Error('no secret');
    },
  };
  await assert.rejects(h.reload({}, failing), /no secret/);
  assert.deepEqual(h.steps, []);
  assert.equal(h.snap(), before);
  assert.deepEqual(
    (h.health.state() as { regions: { name: string }[] }).regions.map((x) => x.name),
    ['us-east', 'eu-west'],
  );
  assert.deepEqual(await reloads(h.metrics), { success: 0, failure: 0 });
});
