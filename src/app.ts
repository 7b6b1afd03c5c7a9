import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminTarget } from './admin/admin.js';
import { AdminListeners } from './admin/listeners.js';
import { explainQuery } from './admin/explain.js';
import { systemClock, type Clock } from './clock.js';
import { formatConfigError, loadConfigFile } from './config/load.js';
import type { HealthEvents } from './health/events.js';
import { HealthStore } from './health/store.js';
import { openGeo } from './identity/geo-open.js';
import type { GeoLookup } from './identity/geoip.js';
import { registerGeoDataAge } from './observability/geo-metrics.js';
import { healthEventsFor } from './observability/health-events.js';
import { RecentEvents } from './observability/recent-events.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import type { Router } from './proxy/router.js';
import { RuntimeBuilder } from './proxy/runtime.js';
import { closePublicServer, listenOn } from './proxy/server.js';
import { SharedGate } from './proxy/shared-gate.js';
import { buildRequestPath } from './proxy/wiring.js';
import { reloadConfig, type ReloadResult } from './reload.js';
import { SharedHost } from './state-host.js';
import type { DialAnswer, DialChange } from './admin/steering-routes.js';
import { dialPercent } from './fleet/shared-state.js';
import { registerDialPercent } from './observability/dial-metrics.js';
import { dialsJson } from './operator-dials.js';
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
  private readonly listeners: AdminListeners;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runtimes: RuntimeBuilder;
  /** Drains, dials and (in a fleet) the write region: operator and fleet state. */
  private readonly shared: SharedHost;
  private readonly gate: SharedGate;
  private snap: Snapshot;
  /** The last state changes, for /admin/state and the status page. */
  private readonly recent = new RecentEvents();
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
    this.health = new HealthStore({ clock: this.clock, events: this.healthEvents(), onView: (v) => this.shared.publishView(v) });
    // before the store's first view: applySnapshot publishes it
    this.shared = new SharedHost({
      snap,
      health: this.health,
      logger: this.logger,
      registry: this.metrics.registry,
      clock: this.clock,
      onFenced: () => this.gate.abortPrimary(),
      memberProcess: true,
    });
    this.health.applySnapshot(snap);
    this.metrics.seed(snap);
    registerGeoDataAge(this.metrics.registry, () => this.geo);
    registerDialPercent(
      this.metrics.registry,
      () => this.snap.regions.map((r) => r.name),
      (r) => dialPercent(this.shared.snapshot().dials[r], this.clock.now()),
    );
    this.gate = new SharedGate(this.shared, this.clock, this.shared.hooks);
    this.runtimes = new RuntimeBuilder(this.clock, this.logger);
    const env = { health: this.health, geo: this.geo, metrics: this.metrics, logger: this.logger, clock: this.clock, shared: this.gate };
    const path = buildRequestPath(this.runtimes.build(snap), { ...env, closing: () => this.closing });
    this.router = path.router;
    this.server = path.server;
    this.listeners = new AdminListeners(this, snap);
    this.admin = this.listeners.admin;
  }

  static async start(opts: AppOptions): Promise<App> {
    const loaded = loadConfigFile(opts.configFile);
    if (!loaded.ok) throw new ConfigInvalidError(loaded.errors.map(formatConfigError));
    for (const w of loaded.warnings) opts.logger.warn({ file: opts.configFile }, w);
    const { geo, stop } = await openGeo(loaded.snapshot, opts.logger);
    const app = new App(opts, loaded.snapshot, geo, stop);
    await app.listen();
    app.health.start();
    await app.joinFleet();
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
    const admins = await this.listeners.listen(s);
    const addr = this.address();
    this.logger.info(
      {
        event: 'listening',
        listen: addr.listen,
        ...admins,
        config: s.file,
        regions: s.regions.map((r) => r.name),
        routes: s.routes.map((r) => r.name),
      },
      'meridian listening',
    );
  }

  /** In a fleet: join it, and sign read-your-writes cookies with the fleet's key when the config names none. */
  private async joinFleet(): Promise<void> {
    const s = this.snap;
    const candidate = s.fleet !== null && s.readYourWrites.secret === null ? this.runtimes.secretFor(s) : null;
    const key = await this.shared.start(candidate);
    if (key !== null && key !== candidate) {
      this.runtimes.adoptSecret(key);
      this.router.swap(this.runtimes.build(this.snap));
    }
  }

  private healthEvents(): HealthEvents {
    const tap = this.opts.onHealthEvent;
    return healthEventsFor(
      this.metrics,
      this.logger,
      () => this.snap.writes.regions,
      (name, payload) => {
        this.recent.add(name, payload);
        tap?.(name, payload);
      },
    );
  }

  // ---- AdminTarget ----

  ready(): { ready: boolean; detail: unknown } {
    const ready = this.health.ready() && this.shared.ready() && !this.closing;
    const fleet = this.snap.fleet === null ? {} : { fleetSettled: this.shared.ready() };
    return { ready, detail: { probedOnce: this.health.ready(), shuttingDown: this.closing, ...fleet } };
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() };
  }

  state(): unknown {
    const now = this.clock.now();
    const steering = { dials: dialsJson(this.snap, this.shared.snapshot().dials, now), inFlight: this.gate.source.inFlightNow() };
    return { config: this.snap.file, ...this.shared.adminState(this.health.state()), steering, events: this.recent.list() };
  }

  explain(params: URLSearchParams): unknown {
    const now = this.clock.now();
    const rt = this.router.runtime;
    const s = this.gate.snapshot();
    const view = this.gate.healthView(this.health.view(), s);
    return explainQuery(params, rt, this.geo, view, now, this.gate.steering(s, rt.snap, now));
  }

  dial(region: string, change: DialChange): Promise<DialAnswer | null> {
    return this.shared.dial(region, change);
  }

  drain(region: string): Promise<boolean> {
    return this.shared.drain(region, true);
  }

  undrain(region: string): Promise<boolean> {
    return this.shared.drain(region, false);
  }

  fleet(): unknown {
    return this.shared.status();
  }

  async setWriteRegion(region: string): Promise<{ ok: true } | { ok: false; status: number; reason: string }> {
    const inFleet = await this.shared.setWriteRegion(region);
    if (inFleet !== null) return inFleet;
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
      settle: () => {
        this.shared.configure(this.snap);
        return Promise.resolve({});
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
    // after the last request: leaving revokes the lease, so the fleet need not wait for it to expire
    await this.shared.close();
    await this.listeners.close();
    this.logger.info({ event: 'shutdown' }, 'stopped');
  }
}
