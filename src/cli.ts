#!/usr/bin/env node
import cluster from 'node:cluster';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { App } from './app.js';
import { ClusterPrimary, workerCount } from './cluster/primary.js';
import { formatConfigError, loadConfigFile, loadConfigText } from './config/load.js';
import { parseDuration } from './config/parse.js';
import { factsFromExplain } from './identity/facts.js';
import { createLogger, flushLogger, isLogLevel, type Logger } from './observability/logger.js';
import { decide } from './routing/decide.js';
import { explainJson, explainText } from './routing/explain.js';
import { HELP } from './cli-help.js';
import type { HealthView, Snapshot } from './types.js';
import { meridianVersion } from './version.js';

const DEMO_CONFIG = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));

class UsageError extends Error {}

function parse(args: string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

function requireConfig(values: Record<string, unknown>): string {
  const file = values.config;
  if (typeof file !== 'string' || file === '') throw new UsageError('--config FILE is required');
  if (!existsSync(file)) throw new UsageError(`config file not found: ${file}`);
  return file;
}

function logLevel(values: Record<string, unknown>, fallback = 'info'): string {
  const level = (values['log-level'] as string | undefined) ?? process.env.LOG_LEVEL ?? fallback;
  if (!isLogLevel(level)) throw new UsageError(`unknown log level "${level}" (fatal, error, warn, info, debug, trace, silent)`);
  return level;
}

/** A health view for explain: every region up unless named down. */
function staticView(snap: Snapshot, down: ReadonlySet<string>): HealthView {
  const up = (r: string): boolean => snap.regionByName.has(r) && !down.has(r);
  return {
    isAvailable: up,
    weight: () => 1,
    lagMs: () => null,
    writeRegion: snap.writes.regions.find(up) ?? null,
    availableEndpoints: (r) => (up(r) ? (snap.regionByName.get(r)?.endpoints ?? []) : []),
  };
}

async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } });
  if (values.help) return help('serve');
  const file = requireConfig(values);
  const workerIndex = cluster.isWorker ? Number(process.env.MERIDIAN_WORKER_INDEX ?? 0) : null;
  const logger = createLogger(logLevel(values), workerIndex === null ? {} : { worker: workerIndex });
  if (cluster.isWorker) {
    // node:cluster started this process with the primary's own argv: serve as one of its workers.
    const { runWorker } = await import('./cluster/worker.js');
    runWorker(logger);
    return -1;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  const loaded = loadConfigText(text, file);
  if (!loaded.ok) throw invalidConfig(loaded.errors.map(formatConfigError), logger);
  const workers = workerCount(loaded.snapshot, availableParallelism());
  const service =
    workers > 1 ? await startPrimary(file, logger, workers, loaded.snapshot, text, loaded.warnings) : await startApp(file, logger);
  installSignals(service, logger);
  return -1; // keep running
}

function invalidConfig(errors: string[], logger: Logger): UsageError {
  for (const e of errors) logger.error({ event: 'config-invalid' }, e);
  flushLogger(logger);
  return new UsageError(`invalid config (${errors.length} error(s)):\n${errors.join('\n')}`);
}

function listenError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES') return new UsageError(`cannot listen: ${e.message}`);
  return err;
}

// The single-process router is imported on demand: it loads GeoIP (~150 MB), which a cluster
// primary never needs.
async function startApp(file: string, logger: Logger): Promise<App> {
  const { App, ConfigInvalidError } = await import('./app.js');
  try {
    return await App.start({ configFile: file, logger });
  } catch (err) {
    if (err instanceof ConfigInvalidError) throw invalidConfig(err.errors, logger);
    throw listenError(err);
  }
}

async function startPrimary(
  file: string,
  logger: Logger,
  workers: number,
  snap: Snapshot,
  text: string,
  warnings: readonly string[],
): Promise<ClusterPrimary> {
  for (const w of warnings) logger.warn({ file }, w);
  try {
    return await ClusterPrimary.start({ configFile: file, logger, workers }, snap, text);
  } catch (err) {
    throw listenError(err);
  }
}

/** What `serve` runs: one process (App) or a cluster primary; both reload and drain alike. */
interface Service {
  reload(): unknown;
  shutdown(): Promise<void>;
}

function installSignals(app: Service, logger: Logger): void {
  process.on('SIGHUP', () => {
    logger.info({ event: 'sighup' }, 'SIGHUP: reloading config');
    // reload() swaps nothing until everything is built; whatever failed, keep serving.
    Promise.resolve()
      .then(() => app.reload())
      .catch((err: unknown) =>
        logger.error({ event: 'reload', result: 'failure', err }, 'config reload failed, keeping the running config'),
      );
  });
  const stop = (signal: string): void => {
    logger.info({ event: 'signal', signal }, `${signal}: shutting down`);
    app.shutdown().then(
      () => {
        flushLogger(logger);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        flushLogger(logger);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function validate(args: string[]): number {
  const { values } = parse(args, { config: { type: 'string', short: 'c' } });
  if (values.help) return help('validate');
  const file = requireConfig(values);
  const r = loadConfigFile(file);
  if (!r.ok) {
    for (const e of r.errors) process.stdout.write(`${formatConfigError(e)}\n`);
    process.stderr.write(`${file}: ${r.errors.length} error(s)\n`);
    return 1;
  }
  for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
  const s = r.snapshot;
  process.stdout.write(`${file}: valid (${s.regions.length} regions, ${s.routes.length} routes)\n`);
  return 0;
}

async function explain(args: string[]): Promise<number> {
  const { values } = parse(args, {
    config: { type: 'string', short: 'c' },
    ip: { type: 'string' },
    method: { type: 'string' },
    path: { type: 'string' },
    header: { type: 'string', multiple: true },
    down: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  if (values.help) return help('explain');
  const file = requireConfig(values);
  if (typeof values.ip !== 'string') throw new UsageError('--ip IP is required');
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const i = h.indexOf('=');
    if (i <= 0) throw new UsageError(`--header takes K=V, got "${h}"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1);
  }
  const r = loadConfigFile(file);
  if (!r.ok) {
    for (const e of r.errors) process.stderr.write(`${formatConfigError(e)}\n`);
    return 1;
  }
  const snap = r.snapshot;
  const down = new Set((values.down as string[] | undefined) ?? []);
  for (const d of down) if (!snap.regionByName.has(d)) throw new UsageError(`--down names no region: ${d}`);
  const now = Date.now();
  const { GeoLookup } = await import('./identity/geoip.js');
  const { openGeoData } = await import('./identity/geo-data.js');
  const geo = new GeoLookup((await openGeoData(snap.geoip.database)).data);
  const facts = factsFromExplain(
    { ip: values.ip, method: values.method as string | undefined, path: values.path as string | undefined, headers },
    snap,
    { geo, marks: null, now },
  );
  const decision = decide(snap, facts, staticView(snap, down), now);
  process.stdout.write(values.json ? `${JSON.stringify(explainJson(decision, facts), null, 2)}\n` : `${explainText(decision, facts)}\n`);
  return 0;
}

async function demo(args: string[], forceDrill: boolean): Promise<number> {
  const { values } = parse(args, {
    drill: { type: 'boolean' },
    evacuate: { type: 'boolean' },
    fleet: { type: 'boolean' },
    json: { type: 'boolean' },
    over: { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (values.help) return help(forceDrill ? 'drill' : 'demo');
  if (values.fleet === true) {
    if (!forceDrill && values.drill !== true) throw new UsageError('--fleet goes with --drill (meridian demo --drill --fleet)');
    const { runFleetDrill } = await import('./demo/fleet-drill/run.js');
    const code = await runFleetDrill({ json: values.json === true });
    // A guard: when the drill's relay still reset sockets, one reset with a write queued left Node
    // spinning in its exit-time handle cleanup (the report was out, the process never ended; the
    // symptom of nodejs/node issue #47748). Everything the drill started is stopped by now and Node
    // writes stdout synchronously on Linux, so end here.
    process.exit(code);
  }
  if (values.json === true) throw new UsageError('--json goes with --fleet (meridian drill --fleet --json)');
  if (values.evacuate === true) {
    const over = parseDuration(typeof values.over === 'string' ? values.over : '10s');
    if (!over.ok || over.value < 1000 || over.value > 600_000)
      throw new UsageError('--over takes a duration from 1s to 10m, e.g. --over 10s');
    const { runEvacuationDrill } = await import('./demo/evacuate.js');
    return runEvacuationDrill(DEMO_CONFIG, over.value);
  }
  if (forceDrill || values.drill === true) {
    const { runDrill } = await import('./demo/drill.js');
    return runDrill(DEMO_CONFIG);
  }
  const { runDemo } = await import('./demo/demo.js');
  return runDemo({ configFile: DEMO_CONFIG, logLevel: logLevel(values, 'warn') });
}

function help(cmd: string): number {
  process.stdout.write(`${HELP[cmd] ?? HELP.main}\n`);
  return 0;
}

function version(): string {
  return meridianVersion();
}

async function schemaCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {});
  if (values.help) return help('schema');
  const { jsonSchemaText } = await import('./config/json-schema.js');
  process.stdout.write(jsonSchemaText());
  return 0;
}

async function fleet(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === undefined) return help('fleet');
  if (sub !== 'status') throw new UsageError(`unknown fleet command "${sub}" (status; see meridian fleet --help)`);
  const { values } = parse(rest, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) return help('fleet');
  const { fleetStatus } = await import('./cli-fleet.js');
  return fleetStatus(requireConfig(values), values.json === true);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return serve(rest);
    case 'validate':
      return validate(rest);
    case 'explain':
      return explain(rest);
    case 'schema':
      return schemaCommand(rest);
    case 'demo':
      return demo(rest, false);
    case 'drill':
      return demo(rest, true);
    case 'fleet':
      return fleet(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      return help('main');
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${cmd}" (serve, validate, explain, schema, demo, drill, fleet; see meridian --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`meridian: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`meridian: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
