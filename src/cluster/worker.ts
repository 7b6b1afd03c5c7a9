// A cluster worker: serves traffic with the same Router as the single process, but its health view
// comes from the primary (which probes once for the whole group) and its passive signals go back
// to the primary, which alone decides ejections. Config arrives as text the primary has validated.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { explainQuery } from '../admin/explain.js';
import { systemClock } from '../clock.js';
import { formatConfigError, loadConfigText } from '../config/load.js';
import { errorData } from '../errors.js';
import { openGeo } from '../identity/geo-open.js';
import type { GeoLookup } from '../identity/geoip.js';
import { registerGeoDataAge } from '../observability/geo-metrics.js';
import { flushLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import type { Router } from '../proxy/router.js';
import { RuntimeBuilder, type HealthPort, type Runtime } from '../proxy/runtime.js';
import { closePublicServer, listenOn } from '../proxy/server.js';
import { SharedGate } from '../proxy/shared-gate.js';
import { buildRequestPath } from '../proxy/wiring.js';
import { BusyRegions } from '../fleet/busy-regions.js';
import type { SharedSnapshot } from '../fleet/shared-state.js';
import type { HealthView, Snapshot } from '../types.js';
import { EMPTY_VIEW, viewFromData, type ToPrimary, type ToWorker } from './protocol.js';

/** How often a worker tells the primary its memory use (shown in /admin/state). */
const STATS_INTERVAL_MS = 5_000;

/**
 * The health port of a worker. Success on an endpoint with no failure streak here costs one Set
 * lookup and no message: only failures, and the first success after this worker saw a failure
 * (which ends the streak at the primary), cross the IPC channel.
 */
export class RemoteHealth implements HealthPort {
  private current: HealthView = EMPTY_VIEW;
  private version = 0;
  private readonly failing = new Set<string>();

  constructor(private readonly send: (m: ToPrimary) => void) {}

  view(): HealthView {
    return this.current;
  }

  get viewVersion(): number {
    return this.version;
  }

  /** Apply a view unless it is older than the one in effect (messages may race a restart). */
  apply(version: number, view: HealthView): boolean {
    if (version <= this.version) return false;
    this.version = version;
    this.current = view;
    return true;
  }

  reportResult(endpoint: string, ok: boolean, kind?: string): void {
    if (ok) {
      if (this.failing.size === 0 || !this.failing.delete(endpoint)) return;
      this.send({ t: 'passive', endpoint, ok: true });
      return;
    }
    this.failing.add(endpoint);
    this.send(kind === undefined ? { t: 'passive', endpoint, ok: false } : { t: 'passive', endpoint, ok: false, kind });
  }
}

/** Until the primary's first shared state: nothing drained or dialed, no writes. */
const NO_SHARED: SharedSnapshot = Object.freeze({
  version: 0,
  drains: [],
  dials: {},
  manualWriteRegion: null,
  writeRegion: null,
  writable: false,
  writeRefusal: 'fleet-unavailable',
  writableUntil: null,
  readYourWritesKey: null,
});

/** One worker process: its request path, fed by the primary's config and health view. */
class WorkerProcess {
  private readonly clock = systemClock;
  private readonly health: RemoteHealth;
  private readonly metrics = new Metrics();
  private geo: GeoLookup | null = null;
  private snap: Snapshot | null = null;
  private configVersion = 0;
  private router: Router | null = null;
  private server: http.Server | null = null;
  private runtimes: RuntimeBuilder | null = null;
  private shared: SharedSnapshot = NO_SHARED;
  private gate: SharedGate | null = null;
  private counter: BusyRegions | null = null;
  private closing = false;

  constructor(
    private readonly logger: Logger,
    private readonly send: (m: ToPrimary) => void,
  ) {
    this.health = new RemoteHealth(send);
    registerGeoDataAge(this.metrics.registry, () => this.geo);
  }

  sendStats(): void {
    const mem = process.memoryUsage();
    this.send({ t: 'stats', rss: mem.rss, heapUsed: mem.heapUsed });
  }

  private ack(): void {
    this.send({ t: 'ack', config: this.configVersion, view: this.health.viewVersion });
  }

  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.server && this.router && this.snap) await closePublicServer(this.server, this.router, this.snap.shutdownGraceMs);
    this.logger.info({ event: 'worker-stopped' }, 'worker stopped');
    flushLogger(this.logger);
    process.exit(0);
  }

  async applyConfig(m: Extract<ToWorker, { t: 'config' }>): Promise<void> {
    if (m.version <= this.configVersion) return;
    const loaded = loadConfigText(m.text, m.file);
    if (!loaded.ok) {
      // The primary validated the same text: this can only mean a different environment.
      this.send({ t: 'config-error', version: m.version, errors: loaded.errors.map(formatConfigError) });
      return;
    }
    const next = loaded.snapshot;
    this.runtimes ??= new RuntimeBuilder(this.clock, this.logger, m.secret);
    const runtime = this.runtimes.build(next);
    this.snap = next;
    if (this.router === null) return this.start(next, runtime, m.version);
    this.configVersion = m.version;
    this.router.swap(runtime);
    this.ack();
  }

  /** The first config: open GeoIP data (a changed path takes a restart), build the path, listen. */
  private async start(next: Snapshot, runtime: Runtime, version: number): Promise<void> {
    const geo = (await openGeo(next, this.logger)).geo;
    this.geo = geo;
    const source = { snapshot: () => this.shared };
    this.counter = next.fleet === null ? null : new BusyRegions((region) => this.send({ t: 'idle', region }));
    const gate = new SharedGate(source, this.clock, this.counter);
    this.gate = gate;
    const env = { health: this.health, geo, metrics: this.metrics, logger: this.logger, clock: this.clock, shared: gate };
    const { router, server } = buildRequestPath(runtime, { ...env, closing: () => this.closing });
    this.router = router;
    this.server = server;
    this.configVersion = version;
    // node:cluster hands the listen to the primary, which shares one socket with every worker.
    await listenOn(server, next.listen.host, next.listen.port);
    const a = server.address() as AddressInfo;
    // Versions first: once the primary counts this worker as serving, it knows what it runs.
    this.ack();
    this.send({ t: 'listening', url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` });
    this.sendStats();
  }

  private applyShared(snap: SharedSnapshot): void {
    if (snap.version <= this.shared.version) return;
    const wasWritable = this.shared.writable;
    this.shared = snap;
    // the member fenced itself: primary requests still open here must end now, as in the primary
    if (wasWritable && snap.writeRefusal === 'fleet-unavailable') this.gate?.abortPrimary();
  }

  /** A failure goes back as the catalogue's error body; the primary answers it with its status. */
  private explain(params: Record<string, string>): unknown {
    try {
      if (!this.router || !this.geo) return errorData('not_ready');
      const rt = this.router.runtime;
      const now = this.clock.now();
      const s = this.shared;
      const gate = this.gate;
      const view = gate ? gate.healthView(this.health.view(), s) : this.health.view();
      return explainQuery(new URLSearchParams(params), rt, this.geo, view, now, gate?.steering(s, rt.snap, now));
    } catch (err) {
      return errorData('internal', (err as Error).message);
    }
  }

  onMessage(m: ToWorker): void {
    switch (m.t) {
      case 'config':
        this.applyConfig(m).catch((err: unknown) => {
          this.logger.fatal({ event: 'worker-start-failed', err }, 'worker could not apply its config');
          flushLogger(this.logger);
          process.exit(1);
        });
        return;
      case 'view':
        if (this.health.apply(m.version, viewFromData(m.view))) this.ack();
        return;
      case 'shared':
        this.applyShared(m.snap);
        // after applying: every primary request in flight now was admitted under an older snapshot
        this.send({ t: 'shared-ack', version: this.shared.version, busy: this.counter?.busyNow() ?? [] });
        return;
      case 'metrics':
        this.metrics.registry.getMetricsAsJSON().then(
          (data) => this.send({ t: 'metrics', id: m.id, data }),
          () => this.send({ t: 'metrics', id: m.id, data: [] }),
        );
        return;
      case 'explain':
        this.send({ t: 'explain', id: m.id, data: this.explain(m.params) });
        return;
      case 'shutdown':
        void this.shutdown();
        return;
    }
  }
}

export function runWorker(logger: Logger): void {
  const send = (m: ToPrimary): void => {
    if (process.connected) process.send?.(m);
  };
  const worker = new WorkerProcess(logger, send);
  process.on('message', (m: ToWorker) => worker.onMessage(m));
  send({ t: 'hello' });
  // The primary is gone (killed hard): no one probes or supervises, so stop serving rather than
  // route on a frozen view.
  process.on('disconnect', () => void worker.shutdown());
  // A signal to the whole process group (Ctrl-C, a supervisor's TERM) reaches workers too: they
  // drain like on the primary's request.
  process.on('SIGTERM', () => void worker.shutdown());
  process.on('SIGINT', () => void worker.shutdown());
  process.on('SIGHUP', () => undefined); // reload is the primary's job
  setInterval(() => worker.sendStats(), STATS_INTERVAL_MS).unref();
}
