// `workers: N` (N > 1): the primary process. It owns the config, the health store (probes run here
// once for the whole group, not once per worker), the admin listener and the worker supervision;
// the workers (worker.ts) share the public listener through node:cluster and serve traffic.
//
//   primary ── config text, versioned health views ──► workers
//           ◄── passive failures, acks, metrics, stats ──
//
// It deliberately does not import GeoIP (src/identity/geoip.ts loads ~150 MB at import): explain
// questions go to a worker, which has it loaded anyway.
import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { createAdminServer, type AdminTarget } from '../admin/admin.js';
import { systemClock } from '../clock.js';
import { HealthStore } from '../health/store.js';
import { healthEventsFor } from '../observability/health-events.js';
import { flushLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { RuntimeBuilder } from '../proxy/runtime.js';
import { listenOn } from '../proxy/server.js';
import { reloadConfig, type ReloadResult } from '../reload.js';
import type { HealthView, Snapshot } from '../types.js';
import { viewToData, type ToPrimary, type ToWorker, type ViewData } from './protocol.js';

/** How long an admin action waits for every worker to acknowledge it before answering anyway. */
const SETTLE_TIMEOUT_MS = 2_000;
/** How long /metrics and explain wait for a worker's answer. */
const ASK_TIMEOUT_MS = 2_000;
/** How long start-up waits for every worker to listen. */
const START_TIMEOUT_MS = 30_000;
/** A worker that dies sooner than this after its start counts as crash-looping: its restart backs off. */
const CRASH_WINDOW_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;

interface Slot {
  /** Stable 0..N-1: a restarted worker takes the slot of the one that died. */
  readonly index: number;
  worker: Worker;
  startedAt: number;
  listening: boolean;
  configVersion: number;
  viewVersion: number;
  rss: number | null;
  heapUsed: number | null;
  restarts: number;
  /** Consecutive quick deaths: drives the restart back-off. */
  crashStreak: number;
}

export interface PrimaryOptions {
  readonly configFile: string;
  readonly logger: Logger;
  readonly workers: number;
}

/** Resolve `workers: auto | N` against this machine. */
export function workerCount(snap: Snapshot, cores: number): number {
  return snap.workers === 'auto' ? Math.max(1, cores) : snap.workers;
}

export class ClusterPrimary implements AdminTarget {
  readonly metrics = new Metrics();
  readonly health: HealthStore;
  readonly admin: http.Server;
  private readonly logger: Logger;
  private readonly runtimes: RuntimeBuilder;
  private readonly restarts: client.Counter<'reason'>;
  private readonly workersUp: client.Gauge;
  private snap: Snapshot;
  private text: string;
  private configVersion = 1;
  private viewVersion = 0;
  private viewData: ViewData = { writeRegion: null, regions: {} };
  private listenUrl: string | null = null;
  private readonly slots: Slot[] = [];
  private closing = false;
  private askSeq = 0;
  private readonly pending = new Map<number, (data: unknown) => void>();
  private readonly settleWaiters = new Set<() => void>();
  private readonly exitWaiters = new Set<() => void>();

  private constructor(
    private readonly opts: PrimaryOptions,
    snap: Snapshot,
    text: string,
  ) {
    this.logger = opts.logger;
    this.snap = snap;
    this.text = text;
    this.runtimes = new RuntimeBuilder(systemClock, this.logger);
    this.runtimes.build(snap); // makes the shared read-your-writes key now if the config needs one
    this.restarts = new client.Counter({
      name: 'meridian_worker_restarts_total',
      help: 'Workers that exited unexpectedly and were restarted, by reason (exit code or signal)',
      labelNames: ['reason'] as const,
      registers: [this.metrics.registry],
    });
    this.workersUp = new client.Gauge({
      name: 'meridian_workers',
      help: 'Worker processes currently serving (listening)',
      aggregator: 'max',
      registers: [this.metrics.registry],
    });
    this.metrics.seedRegions(snap.regions, snap.writes.regions);
    this.health = new HealthStore({
      clock: systemClock,
      events: healthEventsFor(this.metrics, this.logger, () => this.snap.writes.regions),
      onView: (view) => this.broadcastView(view),
    });
    this.health.applySnapshot(snap);
    this.admin = createAdminServer(this);
  }

  /** Load the config, start the admin listener and N workers; resolves once every worker listens. */
  static async start(opts: PrimaryOptions, snap: Snapshot, text: string): Promise<ClusterPrimary> {
    const p = new ClusterPrimary(opts, snap, text);
    await listenOn(p.admin, snap.admin.host, snap.admin.port);
    cluster.on('exit', (worker, code, signal) => p.onExit(worker, code, signal));
    const started = Promise.all(Array.from({ length: opts.workers }, (_, i) => p.fork(i)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`workers did not start listening within ${START_TIMEOUT_MS / 1000}s`)), START_TIMEOUT_MS);
    });
    try {
      await Promise.race([started, timeout]);
    } catch (err) {
      p.closing = true;
      for (const s of p.slots) s.worker.process.kill('SIGKILL');
      p.admin.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    p.health.start();
    const adminAddr = p.admin.address() as AddressInfo;
    p.logger.info(
      {
        event: 'listening',
        listen: p.listenUrl,
        admin: `http://${adminAddr.family === 'IPv6' ? `[${adminAddr.address}]` : adminAddr.address}:${adminAddr.port}`,
        config: snap.file,
        workers: opts.workers,
        regions: snap.regions.map((r) => r.name),
        routes: snap.routes.map((r) => r.name),
      },
      `meridian listening with ${opts.workers} workers`,
    );
    return p;
  }

  // ---------------------------------------------------------------- workers

  /** Start the worker for `index`; resolves when it listens, rejects if it dies first. */
  private fork(index: number, restarts = 0, crashStreak = 0): Promise<void> {
    const worker = cluster.fork({ MERIDIAN_WORKER_INDEX: String(index) });
    const slot: Slot = {
      index,
      worker,
      startedAt: Date.now(),
      listening: false,
      configVersion: 0,
      viewVersion: 0,
      rss: null,
      heapUsed: null,
      restarts,
      crashStreak,
    };
    this.slots[index] = slot;
    return new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null): void =>
        reject(new Error(`worker ${index} exited (${signal ?? `code ${code}`}) before listening`));
      worker.once('exit', onExit);
      worker.on('message', (m: ToPrimary) => {
        if (m.t === 'listening') {
          worker.off('exit', onExit);
          resolve();
        }
        this.onMessage(slot, m);
      });
    });
  }

  private onMessage(slot: Slot, m: ToPrimary): void {
    if (this.slots[slot.index] !== slot) return; // a replaced worker's late message
    switch (m.t) {
      case 'hello':
        this.send(slot, {
          t: 'config',
          version: this.configVersion,
          file: this.snap.file,
          text: this.text,
          secret: this.runtimes.secretFor(this.snap),
        });
        if (this.viewVersion > 0) this.send(slot, { t: 'view', version: this.viewVersion, view: this.viewData });
        return;
      case 'listening':
        slot.listening = true;
        this.listenUrl ??= m.url;
        this.workersUp.set(this.slots.filter((s) => s.listening).length);
        if (slot.restarts > 0) {
          this.logger.warn(
            { event: 'worker-restarted', worker: slot.index, workerPid: slot.worker.process.pid, restarts: slot.restarts },
            `worker ${slot.index} restarted (pid ${slot.worker.process.pid})`,
          );
        }
        return;
      case 'ack':
        slot.configVersion = Math.max(slot.configVersion, m.config);
        slot.viewVersion = Math.max(slot.viewVersion, m.view);
        for (const w of [...this.settleWaiters]) w();
        return;
      case 'config-error':
        this.logger.error(
          { event: 'worker-config-error', worker: slot.index, version: m.version, errors: m.errors },
          `worker ${slot.index} rejected config version ${m.version}`,
        );
        return;
      case 'passive':
        this.health.reportResult(m.endpoint, m.ok, m.kind);
        return;
      case 'metrics':
      case 'explain':
        this.pending.get(m.id)?.(m.data);
        return;
      case 'stats':
        slot.rss = m.rss;
        slot.heapUsed = m.heapUsed;
        return;
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots.find((s) => s.worker === worker);
    for (const w of [...this.exitWaiters]) w();
    if (!slot || this.closing) return;
    slot.listening = false;
    this.workersUp.set(this.slots.filter((s) => s.listening).length);
    const reason = signal ?? `code-${code ?? 'unknown'}`;
    const lived = Date.now() - slot.startedAt;
    const crashStreak = lived < CRASH_WINDOW_MS ? slot.crashStreak + 1 : 0;
    // A worker that keeps dying right after start must not spin the CPU: back off up to 10 s.
    const delay = crashStreak <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (crashStreak - 1));
    this.restarts.labels(reason).inc();
    this.logger.error(
      { event: 'worker-exit', worker: slot.index, workerPid: worker.process.pid, code, signal, livedMs: lived, restartInMs: delay },
      `worker ${slot.index} (pid ${worker.process.pid}) exited unexpectedly (${reason}); restarting`,
    );
    const timer = setTimeout(() => {
      if (this.closing) return;
      this.fork(slot.index, slot.restarts + 1, crashStreak).catch((err: unknown) => {
        this.logger.error(
          { event: 'worker-start-failed', worker: slot.index, err: (err as Error).message },
          `worker ${slot.index} failed to start`,
        );
      });
    }, delay);
    timer.unref();
  }

  private send(slot: Slot, m: ToWorker): void {
    const w = slot.worker;
    if (w.isConnected() && !w.isDead()) w.send(m);
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s.worker.isConnected() && !s.worker.isDead());
  }

  private broadcastView(view: HealthView): void {
    this.viewVersion++;
    this.viewData = viewToData(
      view,
      this.snap.regions.map((r) => r.name),
    );
    const m: ToWorker = { t: 'view', version: this.viewVersion, view: this.viewData };
    for (const s of this.live()) this.send(s, m);
  }

  /**
   * Resolves when every live worker has acknowledged the current config and view (so an admin
   * action that returns has reached all of them), or after SETTLE_TIMEOUT_MS with the laggards named.
   */
  private settled(): Promise<number[]> {
    const laggards = (): number[] =>
      this.live()
        .filter((s) => s.configVersion < this.configVersion || s.viewVersion < this.viewVersion)
        .map((s) => s.index);
    return new Promise((resolve) => {
      const check = (): void => {
        const l = laggards();
        if (l.length === 0) done(l);
      };
      const done = (l: number[]): void => {
        clearTimeout(timer);
        this.settleWaiters.delete(check);
        this.exitWaiters.delete(check);
        resolve(l);
      };
      const timer = setTimeout(() => {
        const l = laggards();
        this.logger.warn({ event: 'workers-not-settled', workers: l }, `workers ${l.join(', ')} did not acknowledge in time`);
        done(l);
      }, SETTLE_TIMEOUT_MS);
      this.settleWaiters.add(check);
      this.exitWaiters.add(check);
      check();
    });
  }

  /** Ask every listening worker (`all`) or the first one (`one`) and collect the answers. */
  private ask(kind: 'metrics', all: true): Promise<unknown[]>;
  private ask(kind: 'explain', all: false, params: Record<string, string>): Promise<unknown[]>;
  private ask(kind: 'metrics' | 'explain', all: boolean, params?: Record<string, string>): Promise<unknown[]> {
    const targets = this.live().filter((s) => s.listening);
    const chosen = all ? targets : targets.slice(0, 1);
    return Promise.all(
      chosen.map(
        (s) =>
          new Promise<unknown>((resolve) => {
            const id = ++this.askSeq;
            const timer = setTimeout(() => {
              this.pending.delete(id);
              resolve(undefined);
            }, ASK_TIMEOUT_MS);
            this.pending.set(id, (data) => {
              clearTimeout(timer);
              this.pending.delete(id);
              resolve(data);
            });
            this.send(s, kind === 'metrics' ? { t: 'metrics', id } : { t: 'explain', id, params: params ?? {} });
          }),
      ),
    ).then((answers) => answers.filter((a) => a !== undefined));
  }

  // ---------------------------------------------------------------- AdminTarget

  ready(): { ready: boolean; detail: unknown } {
    const live = this.live();
    // A worker serves once it listens with a health view. Not "the latest view": with slow start
    // the view changes every step, and readiness must not blink while a worker acks the newest.
    const serving = live.filter((s) => s.listening && s.viewVersion > 0).length;
    // One serving worker is enough to take traffic (the shared listener only hands connections to
    // live workers): a restart of one worker must not pull the whole router out of a load balancer.
    const ready = this.health.ready() && !this.closing && serving > 0;
    return {
      ready,
      detail: { probedOnce: this.health.ready(), shuttingDown: this.closing, workers: this.opts.workers, workersServing: serving },
    };
  }

  /** The whole process group: the primary's health metrics plus every worker's, via prom-client's aggregator. */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    const mine = await this.metrics.registry.getMetricsAsJSON();
    const theirs = (await this.ask('metrics', true)) as (typeof mine)[];
    const merged = client.AggregatorRegistry.aggregate([mine, ...theirs]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  state(): unknown {
    return {
      config: this.snap.file,
      ...this.health.state(),
      cluster: {
        workers: this.opts.workers,
        configVersion: this.configVersion,
        viewVersion: this.viewVersion,
        primary: { pid: process.pid, rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed },
        processes: this.slots.map((s) => ({
          worker: s.index,
          pid: s.worker.process.pid ?? null,
          listening: s.listening,
          configVersion: s.configVersion,
          viewVersion: s.viewVersion,
          restarts: s.restarts,
          startedAt: new Date(s.startedAt).toISOString(),
          rssBytes: s.rss,
          heapUsedBytes: s.heapUsed,
        })),
      },
    };
  }

  async explain(params: URLSearchParams): Promise<unknown> {
    const [answer] = await this.ask('explain', false, Object.fromEntries(params));
    return answer ?? { error: 'no_worker', message: 'no worker answered; try again' };
  }

  async drain(region: string): Promise<boolean> {
    if (!this.health.drain(region)) return false;
    await this.settled();
    return true;
  }

  async undrain(region: string): Promise<boolean> {
    if (!this.health.undrain(region)) return false;
    await this.settled();
    return true;
  }

  async setWriteRegion(region: string): Promise<{ ok: true } | { ok: false; status: number; reason: string }> {
    const r = this.health.setWriteRegion(region);
    if (!r.ok) return { ok: false, status: 400, reason: r.reason };
    this.logger.warn({ event: 'write-region-set', region }, `operator set the write region to ${region}`);
    await this.settled();
    return r;
  }

  token(): string | null {
    return this.snap.admin.token;
  }

  /** Re-read the config file; valid → applied here, then in every worker; invalid → nothing changes. */
  reload(): Promise<ReloadResult> {
    // Building the runtime here makes the shared read-your-writes key now if the new config needs one.
    const deps = { file: this.opts.configFile, logger: this.logger, metrics: this.metrics, health: this.health, runtimes: this.runtimes };
    return reloadConfig(deps, this.snap, {
      install: (next, _runtime, text) => {
        this.snap = next;
        this.text = text;
        this.configVersion++;
        const secret = this.runtimes.secretFor(next);
        const m: ToWorker = { t: 'config', version: this.configVersion, file: this.opts.configFile, text, secret };
        for (const s of this.live()) this.send(s, m);
        // The new view, sent when the health store applies the snapshot, follows on the same channel.
      },
      settle: async () => {
        const workersBehind = await this.settled();
        return { configVersion: this.configVersion, workersBehind };
      },
    });
  }

  /** SIGTERM: every worker stops accepting and drains (shutdownGrace), then the primary closes. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const grace = this.snap.shutdownGraceMs;
    this.logger.info({ event: 'shutdown', graceMs: grace, workers: this.live().length }, 'shutting down: workers drain in-flight requests');
    this.health.stop();
    for (const s of this.live()) this.send(s, { t: 'shutdown' });
    const allGone = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.slots.every((s) => s.worker.isDead())) {
          this.exitWaiters.delete(check);
          resolve();
        }
      };
      this.exitWaiters.add(check);
      check();
    });
    // A worker stuck past its grace period is killed: shutdown always ends.
    const killer = setTimeout(() => {
      for (const s of this.slots) if (!s.worker.isDead()) s.worker.process.kill('SIGKILL');
    }, grace + 5_000);
    await allGone;
    clearTimeout(killer);
    await new Promise<void>((resolve) => {
      this.admin.close(() => resolve());
      this.admin.closeAllConnections();
    });
    this.logger.info({ event: 'shutdown' }, 'stopped');
    flushLogger(this.logger);
  }
}
