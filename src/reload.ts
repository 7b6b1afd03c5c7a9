// The one reload path, for both ways Meridian runs: a single process (App) and the cluster primary
// (ClusterPrimary). They differ only in where a new snapshot must go — the request path in-process,
// or every worker — so that is all a ReloadApply says; the order of the steps, the log lines and
// the `meridian_config_reloads_total` count are the same for both.
import { formatConfigError, loadConfigText, readConfigFile } from './config/load.js';
import type { HealthStore } from './health/store.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { certificateProblems } from './proxy/tls.js';
import type { Snapshot } from './types.js';

export type ReloadResult = { ok: true } | { ok: false; errors: string[] };

/** What a reload works with, the same in both ways Meridian runs. */
export interface ReloadDeps<Runtime> {
  /** The config file to re-read. */
  readonly file: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthStore;
  /** Builds the request path for a snapshot: what can still fail in a reload fails here, before anything changes. */
  readonly runtimes: { build(next: Snapshot): Runtime };
}

/** Where a new snapshot must go besides the health store: the request path, or every worker. */
export interface ReloadApply<Runtime> {
  /** Makes `next` (loaded from `text`) the running config; the health store applies it right after. */
  install(next: Snapshot, runtime: Runtime, text: string): void;
  /** Waits until whatever else must take the new config has it; extra fields for the success line. */
  settle?(): Promise<Record<string, unknown>>;
}

/** Settings read only at start: a reload that changes them says so instead of pretending. */
const RESTART_ONLY: ReadonlyArray<{ readonly changed: (prev: Snapshot, next: Snapshot) => boolean; readonly message: string }> = [
  {
    changed: (prev, next) =>
      next.listen.host !== prev.listen.host ||
      next.listen.port !== prev.listen.port ||
      next.admin.host !== prev.admin.host ||
      next.admin.port !== prev.admin.port ||
      next.admin.metrics?.host !== prev.admin.metrics?.host ||
      next.admin.metrics?.port !== prev.admin.metrics?.port,
    message: 'listen, admin.listen and admin.metricsListen changes take effect only after a restart',
  },
  { changed: (prev, next) => next.workers !== prev.workers, message: 'a change of workers takes effect only after a restart' },
  {
    // the member's etcd client, lease and id are made once at start
    changed: (prev, next) => JSON.stringify(next.fleet) !== JSON.stringify(prev.fleet),
    message: 'a change of fleet takes effect only after a restart',
  },
  {
    changed: (prev, next) => next.geoip.database !== prev.geoip.database,
    message: 'a change of geoip.database takes effect only after a restart (a replaced file at the same path is re-read by itself)',
  },
];

/**
 * Re-read the config file and apply it in place of `prev` whole, or not at all: an invalid file,
 * or a TLS certificate or key it names that cannot be used, changes nothing and says why. A runtime build that throws also changes nothing; the error goes
 * to the caller.
 */
export async function reloadConfig<Runtime>(t: ReloadDeps<Runtime>, prev: Snapshot, apply: ReloadApply<Runtime>): Promise<ReloadResult> {
  const read = readConfigFile(t.file);
  if (!read.ok) return failed(t, read.errors.map(formatConfigError));
  const loaded = loadConfigText(read.text, t.file);
  if (!loaded.ok) return failed(t, loaded.errors.map(formatConfigError));
  const next = loaded.snapshot;
  // The listener re-reads these once the snapshot is installed, and keeps the old ones if it
  // cannot: checked here, a broken file fails the reload instead of being only logged.
  const tlsProblems = certificateProblems(next.tls);
  if (tlsProblems.length > 0)
    return failed(
      t,
      tlsProblems.map((p) => `${t.file}: ${p}`),
    );
  for (const w of loaded.warnings) t.logger.warn({ event: 'reload', file: t.file }, w);
  const runtime = t.runtimes.build(next);
  for (const r of RESTART_ONLY) if (r.changed(prev, next)) t.logger.warn({ event: 'reload' }, r.message);
  // New regions' series are seeded before the health store applies the snapshot (which may set them).
  t.metrics.reloadRegions(prev, next);
  apply.install(next, runtime, read.text);
  t.health.applySnapshot(next);
  const settled = apply.settle ? await apply.settle() : {};
  t.metrics.reloads.labels('success').inc();
  t.logger.info(
    { event: 'reload', result: 'success', regions: next.regions.map((r) => r.name), routes: next.routes.map((r) => r.name), ...settled },
    'config reloaded',
  );
  return { ok: true };
}

function failed(t: { readonly metrics: Metrics; readonly logger: Logger }, errors: string[]): ReloadResult {
  t.metrics.reloads.labels('failure').inc();
  t.logger.error(
    { event: 'reload', result: 'failure', errors },
    `config reload failed, keeping the running config (${errors.length} error(s))`,
  );
  return { ok: false, errors };
}
