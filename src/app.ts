import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer, type AdminTarget } from './admin/admin.js';
import { explainQuery } from './admin/explain.js';
import { systemClock, type Clock } from './clock.js';
import { formatConfigError, loadConfigFile } from './config/load.js';
import type { HealthEvents } from './health/events.js';
import { HealthStore } from './health/store.js';
import { openGeo } from './identity/geo-open.js';
import type { GeoLookup } from './identity/geoip.js';
import { registerGeoDataAge } from './observability/geo-metrics.js';
import { healthEventsFor } from './observability/health-events.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import type { Router } from './proxy/router.js';
import { RuntimeBuilder } from './proxy/runtime.js';
import { closePublicServer, listenOn } from './proxy/server.js';
import { buildRequestPath } from './proxy/wiring.js';
import { reloadConfig, type ReloadResult } from './reload.js';
import type { Snapshot } from './types.js';

export interface AppOptions {
  configFile: string;
  logger: Logger;
  clock?: Clock;
  /** Extra health listener (the drill uses it to time detection). */
  onHealthEvent?: (name: keyof HealthEvents, payload: unknown) => void;
}

/** Thrown by App.start when the config is invalid: every error, formatted `file:line:col key: message`. */
export class ConfigInvalidError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('\n'));
  }
}

/**
 * The running router: config snapshot, health store, request path, admin API, and their
 * lifecycle (start, reload, shutdown). `meridian serve` and `meridian demo` both run one.
 */
export class App implements AdminTarget {
  readonly metrics = new Metrics();
  readonly health: HealthStore;
  readonly router: Router;
  readonly server: http.Server;
  readonly admin: http.Server;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runtimes: RuntimeBuilder;
  private snap: Snapshot;
  private closing = false;

  private constructor(
    private readonly opts: AppOptions,
    snap: Snapshot,
    private readonly geo: GeoLookup,
    private readonly stopGeoWatch: () => void,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    this.snap = snap;
    this.health = new HealthStore({ clock: this.clock, events: this.healthEvents() });
    this.health.applySnapshot(snap);
    this.metrics.seed(snap);
    registerGeoDataAge(this.metrics.registry, () => this.geo);
    this.runtimes = new RuntimeBuilder(this.clock, this.logger);
    const env = { health: this.health, geo: this.geo, metrics: this.metrics, logger: this.logger, clock: this.clock };
    const path = buildRequestPath(this.runtimes.build(snap), { ...env, closing: () => this.closing });
    this.router = path.router;
    this.server = path.server;
    this.admin = createAdminServer(this);
  }

  static async start(opts: AppOptions): Promise<App> {
    const loaded = loadConfigFile(opts.configFile);
    if (!loaded.ok) throw new ConfigInvalidError(loaded.errors.map(formatConfigError));
    for (const w of loaded.warnings) opts.logger.warn({ file: opts.configFile }, w);
    const { geo, stop } = await openGeo(loaded.snapshot, opts.logger);
    const app = new App(opts, loaded.snapshot, geo, stop);
    await app.listen();
    app.health.start();
    return app;
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  address(): { listen: string; admin: string; port: number; adminPort: number } {
    const a = this.server.address() as AddressInfo;
    const b = this.admin.address() as AddressInfo;
    const fmt = (x: AddressInfo): string => `http://${x.family === 'IPv6' ? `[${x.address}]` : x.address}:${x.port}`;
    return { listen: fmt(a), admin: fmt(b), port: a.port, adminPort: b.port };
  }

  private async listen(): Promise<void> {
    const s = this.snap;
    await listenOn(this.server, s.listen.host, s.listen.port);
    await listenOn(this.admin, s.admin.host, s.admin.port);
    const addr = this.address();
    this.logger.info(
      {
        event: 'listening',
        listen: addr.listen,
        admin: addr.admin,
        config: s.file,
        regions: s.regions.map((r) => r.name),
        routes: s.routes.map((r) => r.name),
      },
      'meridian listening',
    );
  }

  private healthEvents(): HealthEvents {
    return healthEventsFor(this.metrics, this.logger, () => this.snap.writes.regions, this.opts.onHealthEvent);
  }

  // ---- AdminTarget ----

  ready(): { ready: boolean; detail: unknown } {
    const ready = this.health.ready() && !this.closing;
    return { ready, detail: { probedOnce: this.health.ready(), shuttingDown: this.closing } };
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
  }

  state(): unknown {
    return { config: this.snap.file, ...this.health.state() };
  }

  explain(params: URLSearchParams): unknown {
    return explainQuery(params, this.router.runtime, this.geo, this.health.view(), this.clock.now());
  }

  drain(region: string): boolean {
    return this.health.drain(region);
  }

  undrain(region: string): boolean {
    return this.health.undrain(region);
  }

  setWriteRegion(region: string): { ok: true } | { ok: false; status: number; reason: string } {
    const r = this.health.setWriteRegion(region);
    if (r.ok) this.logger.warn({ event: 'write-region-set', region }, `operator set the write region to ${region}`);
    return r.ok ? r : { ok: false, status: 400, reason: r.reason };
  }

  token(): string | null {
    return this.snap.admin.token;
  }

  /** Re-read the config file; an invalid file changes nothing and says why. */
  reload(): Promise<ReloadResult> {
    const deps = { file: this.opts.configFile, logger: this.logger, metrics: this.metrics, health: this.health, runtimes: this.runtimes };
    return reloadConfig(deps, this.snap, {
      install: (next, runtime) => {
        this.snap = next;
        this.router.swap(runtime);
      },
    });
  }

  /** Stop accepting, let in-flight requests finish up to the grace period, then close everything. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const grace = this.snap.shutdownGraceMs;
    this.logger.info({ event: 'shutdown', graceMs: grace }, 'shutting down: no new connections, waiting for in-flight requests');
    this.health.stop();
    this.stopGeoWatch();
    await closePublicServer(this.server, this.router, grace);
    await new Promise<void>((resolve) => {
      this.admin.close(() => resolve());
      this.admin.closeAllConnections();
    });
    this.logger.info({ event: 'shutdown' }, 'stopped');
  }
}
