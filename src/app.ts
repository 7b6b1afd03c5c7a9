import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer, type AdminTarget } from './admin/admin.js';
import { errorBody } from './errors.js';
import { systemClock, type Clock } from './clock.js';
import { formatConfigError, loadConfigFile } from './config/load.js';
import type { HealthEvents } from './health/events.js';
import { HealthStore } from './health/store.js';
import { compileTrustedProxies } from './identity/client-ip.js';
import { factsFromExplain } from './identity/facts.js';
import { GeoLookup } from './identity/geoip.js';
import { createWriteMarkCodec, generateSecret } from './identity/write-mark.js';
import type { Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { RetryBudget } from './proxy/retry-budget.js';
import { Router, type Runtime } from './proxy/router.js';
import { decide } from './routing/decide.js';
import { explainJson } from './routing/explain.js';
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
  private readonly geo = new GeoLookup();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private generatedSecret: string | null = null;
  private budget: RetryBudget | null = null;
  private snap: Snapshot;
  private closing = false;

  private constructor(
    private readonly opts: AppOptions,
    snap: Snapshot,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    this.snap = snap;
    this.health = new HealthStore({ clock: this.clock, events: this.healthEvents() });
    this.health.applySnapshot(snap);
    this.metrics.seedRegions(snap.regions, snap.writes.regions);
    this.router = new Router(this.runtime(snap), this.health, this.geo, this.metrics, this.logger, this.clock);
    this.server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      if (this.closing) res.setHeader('connection', 'close');
      this.router.handle(req, res);
    });
    this.server.on('upgrade', (req, socket, head) => this.router.handleUpgrade(req, socket, head));
    // CONNECT (forward-proxy tunnelling) has no place in a reverse proxy: say so instead of hanging up.
    this.server.on('connect', (_req, socket) => {
      socket.on('error', () => socket.destroy());
      const body = errorBody('connect_not_supported');
      socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // A request Node could not parse: answer as Node's default would (431 / 408 / 400), never crash.
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const status =
        err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    this.admin = createAdminServer(this);
  }

  static async start(opts: AppOptions): Promise<App> {
    const loaded = loadConfigFile(opts.configFile);
    if (!loaded.ok) throw new ConfigInvalidError(loaded.errors.map(formatConfigError));
    for (const w of loaded.warnings) opts.logger.warn({ file: opts.configFile }, w);
    const app = new App(opts, loaded.snapshot);
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
      { event: 'listening', listen: addr.listen, admin: addr.admin, config: s.file, regions: s.regions.map((r) => r.name), routes: s.routes.map((r) => r.name) },
      'meridian listening',
    );
  }

  private runtime(snap: Snapshot): Runtime {
    let secret = snap.readYourWrites.secret;
    const usesMarks = snap.routes.some((r) => r.readYourWritesMs > 0);
    if (usesMarks && secret === null) {
      if (this.generatedSecret === null) {
        this.generatedSecret = generateSecret();
        this.logger.info(
          { event: 'ryw-secret-generated' },
          'readYourWrites.secret is not set: generated a random key for this process; set the same secret on every router or their read-your-writes cookies will not verify on each other',
        );
      }
      secret = this.generatedSecret;
    }
    const markCookieSuffix = new Map<string, string>();
    for (const r of snap.routes) {
      if (r.readYourWritesMs > 0) markCookieSuffix.set(r.name, `; Path=/; Max-Age=${Math.ceil(r.readYourWritesMs / 1000)}; HttpOnly; SameSite=Lax`);
    }
    return {
      snap,
      trusted: compileTrustedProxies(snap.trustedProxies),
      // Keep the sliding window's counts across reloads: a reload must not reset the storm guard.
      budget: this.budget ? (this.budget.configure(snap.retry), this.budget) : (this.budget = new RetryBudget(snap.retry, this.clock)),
      marks: usesMarks && secret !== null ? createWriteMarkCodec(secret) : null,
      markCookieSuffix,
    };
  }

  /** Map health events to one log line and the matching metric change each. */
  private healthEvents(): HealthEvents {
    const m = this.metrics;
    const log = (): Logger => this.logger;
    const tap = this.opts.onHealthEvent;
    const ev: HealthEvents = {
      probe: (e) => {
        m.probes.labels(e.region, e.endpoint, e.ok ? 'pass' : 'fail').inc();
        m.probeDuration.labels(e.region).observe(e.durationMs / 1000);
        log().debug({ event: 'probe', ...e }, 'probe');
      },
      endpointTransition: (e) => {
        m.transitions.labels('endpoint', e.endpoint, e.from, e.to).inc();
        // Probe verdict only: an ejection (passive) shows in meridian_ejections_total, not here.
        if (e.to === 'up' || e.to === 'down') m.endpointUp.labels(e.region, e.endpoint).set(e.to === 'up' ? 1 : 0);
        log().info({ event: 'endpoint-transition', ...e }, `endpoint ${e.endpoint} ${e.from} -> ${e.to}`);
      },
      regionTransition: (e) => {
        m.transitions.labels('region', e.region, e.from, e.to).inc();
        m.regionUp.labels(e.region).set(e.to === 'available' ? 1 : 0);
        m.regionFailbackWait.labels(e.region).set(e.to === 'failback-wait' ? 1 : 0);
        log().info({ event: 'region-transition', ...e }, `region ${e.region} ${e.from} -> ${e.to}`);
      },
      ejected: (e) => {
        m.ejections.labels(e.region, e.endpoint).inc();
        log().warn({ event: 'ejected', ...e }, `endpoint ${e.endpoint} ejected for ${e.forMs}ms`);
      },
      ejectionRefused: (e) => log().warn({ event: 'ejection-refused', ...e }, `endpoint ${e.endpoint} not ejected: ${e.reason}`),
      lag: (e) => {
        m.lag.labels(e.region).set(e.lagMs / 1000);
      },
      writeRegionChanged: (e) => {
        for (const w of this.snap.writes.regions) m.writeRegion.labels(w).set(w === e.to ? 1 : 0);
        // The first assignment at start-up is routine, not a change; every later change is worth a warning.
        const initial = e.from === null && e.reason === 'initial';
        if (!initial) m.failovers.labels(e.from ?? 'none', e.to ?? 'none').inc();
        const level = initial ? 'info' : 'warn';
        log()[level]({ event: 'write-region', ...e }, `write region ${e.from ?? 'none'} -> ${e.to ?? 'none'}`);
      },
      suppression: (e) => {
        m.regionSuppressed.labels(e.region).set(e.suppressed ? 1 : 0);
        log().warn({ event: 'suppression', ...e }, `region ${e.region} ${e.suppressed ? 'suppressed (flapping)' : 'reused'}`);
      },
      drain: (e) => {
        m.regionDrained.labels(e.region).set(e.drained ? 1 : 0);
        log().warn({ event: 'drain', ...e }, `region ${e.region} ${e.drained ? 'drained' : 'undrained'}`);
      },
    };
    if (!tap) return ev;
    const tapped = {} as Record<string, (e: unknown) => void>;
    for (const [k, fn] of Object.entries(ev) as [keyof HealthEvents, (e: unknown) => void][]) {
      tapped[k] = (e) => {
        fn(e);
        tap(k, e);
      };
    }
    return tapped as unknown as HealthEvents;
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
    return { config: this.snap.file, ...(this.health.state() as object) };
  }

  explain(params: URLSearchParams): unknown {
    const get = (k: string): string | undefined => params.get(k) ?? undefined;
    const now = this.clock.now();
    const rt = this.router.runtime;
    const facts = factsFromExplain(
      { ip: get('ip'), method: get('method'), path: get('path'), host: get('host'), userKey: get('userKey'), homeRegion: get('homeRegion') },
      this.snap,
      { geo: this.geo, marks: rt.marks, now },
    );
    return explainJson(decide(this.snap, facts, this.health.view(), now), facts);
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
  reload(): { ok: true } | { ok: false; errors: string[] } {
    const loaded = loadConfigFile(this.opts.configFile);
    if (!loaded.ok) {
      const errors = loaded.errors.map(formatConfigError);
      this.metrics.reloads.labels('failure').inc();
      this.logger.error({ event: 'reload', result: 'failure', errors }, `config reload failed, keeping the running config (${errors.length} error(s))`);
      return { ok: false, errors };
    }
    const next = loaded.snapshot;
    const prev = this.snap;
    for (const w of loaded.warnings) this.logger.warn({ event: 'reload', file: this.opts.configFile }, w);
    // Everything that can still fail is built before anything is swapped: a reload applies whole or not at all.
    const runtime = this.runtime(next);
    if (next.listen.host !== prev.listen.host || next.listen.port !== prev.listen.port || next.admin.host !== prev.admin.host || next.admin.port !== prev.admin.port) {
      this.logger.warn({ event: 'reload' }, 'listen and admin.listen changes take effect only after a restart');
    }
    // Seed only series that are new, and before the health store applies the snapshot (which may
    // set them): health state survives the reload, so must its gauges.
    this.metrics.seedRegions(
      next.regions.filter((r) => !prev.regionByName.has(r.name)),
      next.writes.regions.filter((w) => !prev.writes.regions.includes(w)),
    );
    this.metrics.forgetRegions(
      prev.regions.filter((r) => !next.regionByName.has(r.name)).map((r) => r.name),
      prev.writes.regions.filter((w) => !next.writes.regions.includes(w)),
    );
    this.snap = next;
    this.health.applySnapshot(next);
    this.router.swap(runtime);
    this.metrics.reloads.labels('success').inc();
    this.logger.info({ event: 'reload', result: 'success', regions: next.regions.map((r) => r.name), routes: next.routes.map((r) => r.name) }, 'config reloaded');
    return { ok: true };
  }

  /** Stop accepting, let in-flight requests finish up to the grace period, then close everything. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const grace = this.snap.shutdownGraceMs;
    this.logger.info({ event: 'shutdown', graceMs: grace }, 'shutting down: no new connections, waiting for in-flight requests');
    this.health.stop();
    const drained = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => {
      this.server.closeAllConnections();
      this.router.closeTunnels(); // upgraded sockets are not among the server's HTTP connections
    }, grace);
    await drained;
    clearTimeout(timer);
    await new Promise<void>((resolve) => {
      this.admin.close(() => resolve());
      this.admin.closeAllConnections();
    });
    this.router.close();
    this.logger.info({ event: 'shutdown' }, 'stopped');
  }
}

function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
