// `workers: N` (N > 1): the primary process. It owns the config, the health store (probes run here
// once for the whole group, not once per worker), the admin listener and the worker supervision;
// the workers (worker.ts) share the public listener through node:cluster and serve traffic.
//
//   primary ── config text, versioned health views ──► workers
//           ◄── passive failures, acks, metrics, stats ──
//
// It deliberately does not import GeoIP (src/identity/geoip.ts loads ~150 MB at import): explain
// questions go to a worker, which has it loaded anyway.
import type http from 'node:http';
import client from 'prom-client';
import type { AdminTarget } from '../admin/admin.js';
import { AdminListeners } from '../admin/listeners.js';
import { systemClock } from '../clock.js';
import { ErrorAnswer, isErrorData } from '../errors.js';
import { HealthStore } from '../health/store.js';
import { healthEventsFor } from '../observability/health-events.js';
import { RecentEvents } from '../observability/recent-events.js';
import { flushLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { RuntimeBuilder } from '../proxy/runtime.js';
import { reloadConfig, type ReloadResult } from '../reload.js';
import { SharedHost } from '../state-host.js';
import type { DialAnswer, DialChange } from '../admin/steering-routes.js';
import { dialPercent, type SharedSnapshot } from '../fleet/shared-state.js';
import { registerDialPercent } from '../observability/dial-metrics.js';
import { dialsJson } from '../operator-dials.js';
import type { HealthView, Snapshot } from '../types.js';
import { WorkerPool, type Slot } from './pool.js';
import { viewToData, type ToWorker, type ViewData } from './protocol.js';

/** How long start-up waits for every worker to listen. */
const START_TIMEOUT_MS = 30_000;
/** A worker that dies sooner than this after its start counts as crash-looping: its restart backs off. */
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
  private readonly listeners: AdminListeners;
  private readonly logger: Logger;
  private readonly runtimes: RuntimeBuilder;
  private readonly pool: WorkerPool;
  private snap: Snapshot;
  /** The last state changes, for /admin/state and the status page. */
  private readonly recent = new RecentEvents();
  private text: string;
  private configVersion = 1;
  private viewVersion = 0;
  private viewData: ViewData = { writeRegion: null, regions: {} };
  /** Drains, dials and (in a fleet) the write region; the primary is the fleet member for its workers. */
  private readonly shared: SharedHost;
  /** Regions each worker has primary requests in flight to (their sum is what the member counts). */
  private readonly busy = new Map<number, Set<string>>();
  /** Worker slot → the shared snapshot version it has not acknowledged yet (fleet only). */
  private readonly unsynced = new Map<number, number>();

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
    this.pool = new WorkerPool({
      logger: this.logger,
      registry: this.metrics.registry,
      versions: () => ({ config: this.configVersion, view: this.viewVersion }),
      hello: (slot) => this.hello(slot),
      passive: (endpoint, ok, kind) => this.health.reportResult(endpoint, ok, kind),
      idle: (slot, region) => this.primaryBusy(slot.index, region, false),
      sharedAck: (slot, version, busy) => this.sharedAck(slot.index, version, busy),
      exited: (slot) => {
        if (this.unsynced.delete(slot.index)) this.shared.member?.workerSync(false);
        for (const region of this.busy.get(slot.index) ?? []) this.primaryBusy(slot.index, region, false);
      },
    });
    this.metrics.seed(snap);
    this.health = new HealthStore({
      clock: systemClock,
      events: healthEventsFor(
        this.metrics,
        this.logger,
        () => this.snap.writes.regions,
        (name, payload) => this.recent.add(name, payload),
      ),
      onView: (view) => this.broadcastView(view),
    });
    // before the store's first view: broadcastView publishes it to the fleet.
    // Workers learn of a fence from the next snapshot and cut their own open primary requests then.
    this.shared = new SharedHost({
      snap,
      health: this.health,
      logger: this.logger,
      registry: this.metrics.registry,
      clock: systemClock,
      onFenced: () => undefined,
      memberProcess: false,
    });
    this.shared.state.onChange((s) => this.sendShared(s, this.pool.live()));
    registerDialPercent(
      this.metrics.registry,
      () => this.snap.regions.map((r) => r.name),
      (r) => dialPercent(this.shared.snapshot().dials[r], Date.now()),
    );
    this.health.applySnapshot(snap);
    this.listeners = new AdminListeners(this, snap);
    this.admin = this.listeners.admin;
  }

  /** Load the config, start the admin listener and N workers; resolves once every worker listens. */
  static async start(opts: PrimaryOptions, snap: Snapshot, text: string): Promise<ClusterPrimary> {
    const p = new ClusterPrimary(opts, snap, text);
    const admins = await p.listeners.listen(snap);
    const started = Promise.all(Array.from({ length: opts.workers }, (_, i) => p.pool.fork(i)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`workers did not start listening within ${START_TIMEOUT_MS / 1000}s`)), START_TIMEOUT_MS);
    });
    try {
      await Promise.race([started, timeout]);
    } catch (err) {
      p.pool.killAll();
      await p.listeners.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    p.health.start();
    await p.joinFleet();
    p.logger.info(
      {
        event: 'listening',
        listen: p.pool.listenUrl,
        ...admins,
        config: snap.file,
        workers: opts.workers,
        regions: snap.regions.map((r) => r.name),
        routes: snap.routes.map((r) => r.name),
      },
      `meridian listening with ${opts.workers} workers`,
    );
    return p;
  }

  /** In a fleet: join it; every worker signs read-your-writes cookies with the fleet's key when the config names none. */
  private async joinFleet(): Promise<void> {
    const s = this.snap;
    const candidate = s.fleet !== null && s.readYourWrites.secret === null ? this.runtimes.secretFor(s) : null;
    const key = await this.shared.start(candidate);
    if (key === null || key === candidate) return;
    this.runtimes.adoptSecret(key);
    this.configVersion++;
    this.pool.broadcast({ t: 'config', version: this.configVersion, file: this.snap.file, text: this.text, secret: key });
  }

  /**
   * In a fleet a worker that has not applied a snapshot yet may still admit a write under the one
   * before it — say, the last one before a handover began. Until it acknowledges the latest one the
   * member holds its handover acknowledgement (FleetMember.workerSync), so the new write region
   * cannot open while such a write may still be sent to the old one.
   */
  private sendShared(snap: SharedSnapshot, slots: readonly Slot[]): void {
    const member = this.shared.member;
    for (const slot of slots) {
      if (member) {
        if (!this.unsynced.has(slot.index)) member.workerSync(true);
        this.unsynced.set(slot.index, snap.version);
      }
      this.pool.send(slot, { t: 'shared', snap });
    }
  }

  private sharedAck(worker: number, version: number, busy: readonly string[]): void {
    // first what the worker has in flight, then the release: releasing may acknowledge a handover
    for (const region of this.busy.get(worker) ?? []) if (!busy.includes(region)) this.primaryBusy(worker, region, false);
    for (const region of busy) this.primaryBusy(worker, region, true);
    const want = this.unsynced.get(worker);
    if (want === undefined || version < want) return;
    this.unsynced.delete(worker);
    this.shared.member?.workerSync(false);
  }

  private primaryBusy(worker: number, region: string, busy: boolean): void {
    const member = this.shared.member;
    let set = this.busy.get(worker);
    if (!set) this.busy.set(worker, (set = new Set()));
    if (busy === set.has(region)) return;
    if (busy) set.add(region);
    else set.delete(region);
    if (busy) member?.beginPrimary(region);
    else member?.endPrimary(region);
  }

  /** A worker said hello: its config, and the current view if there is one. */
  private hello(slot: Slot): void {
    const secret = this.runtimes.secretFor(this.snap);
    this.pool.send(slot, { t: 'config', version: this.configVersion, file: this.snap.file, text: this.text, secret });
    if (this.viewVersion > 0) this.pool.send(slot, { t: 'view', version: this.viewVersion, view: this.viewData });
    this.sendShared(this.shared.snapshot(), [slot]);
  }

  private broadcastView(view: HealthView): void {
    this.viewVersion++;
    this.viewData = viewToData(
      view,
      this.snap.regions.map((r) => r.name),
    );
    this.pool.broadcast({ t: 'view', version: this.viewVersion, view: this.viewData });
    this.shared.publishView(view);
  }

  // ---------------------------------------------------------------- AdminTarget

  ready(): { ready: boolean; detail: unknown } {
    const live = this.pool.live();
    // A worker serves once it listens with a health view. Not "the latest view": with slow start
    // the view changes every step, and readiness must not blink while a worker acks the newest.
    const serving = live.filter((s) => s.listening && s.viewVersion > 0).length;
    // One serving worker is enough to take traffic (the shared listener only hands connections to
    // live workers): a restart of one worker must not pull the whole router out of a load balancer.
    const ready = this.health.ready() && this.shared.ready() && !this.pool.closing && serving > 0;
    return {
      ready,
      detail: { probedOnce: this.health.ready(), shuttingDown: this.pool.closing, workers: this.opts.workers, workersServing: serving },
    };
  }

  /** The whole process group: the primary's health metrics plus every worker's, via prom-client's aggregator. */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    const mine = await this.metrics.registry.getMetricsAsJSON();
    const theirs = (await this.pool.ask('metrics', true)) as (typeof mine)[];
    const merged = client.AggregatorRegistry.aggregate([mine, ...theirs]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  state(): unknown {
    return {
      config: this.snap.file,
      ...this.shared.adminState(this.health.state()),
      // In-flight counts are per worker (maxInFlight applies per process) and stay there.
      steering: { dials: dialsJson(this.snap, this.shared.snapshot().dials, Date.now()) },
      events: this.recent.list(),
      cluster: {
        workers: this.opts.workers,
        configVersion: this.configVersion,
        viewVersion: this.viewVersion,
        primary: { pid: process.pid, rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed },
        processes: this.pool.slots.map((s) => ({
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

  /** A worker explains (it has GeoIP); its error, or none answering, is the admin API's error answer. */
  async explain(params: URLSearchParams): Promise<unknown> {
    const [answer] = await this.pool.ask('explain', false, Object.fromEntries(params));
    if (answer === undefined) throw new ErrorAnswer('no_worker');
    if (isErrorData(answer)) throw new ErrorAnswer(answer.error, answer.message);
    return answer;
  }

  async drain(region: string): Promise<boolean> {
    if (!(await this.shared.drain(region, true))) return false;
    await this.pool.settled();
    return true;
  }

  async dial(region: string, change: DialChange): Promise<DialAnswer | null> {
    const a = await this.shared.dial(region, change);
    if (a === null) return null;
    // The new dials went out with the shared state; a view sent after them on the same channel is
    // acknowledged only by a worker that has applied both.
    this.viewVersion++;
    this.pool.broadcast({ t: 'view', version: this.viewVersion, view: this.viewData });
    await this.pool.settled();
    return a;
  }

  async undrain(region: string): Promise<boolean> {
    if (!(await this.shared.drain(region, false))) return false;
    await this.pool.settled();
    return true;
  }

  fleet(): unknown {
    return this.shared.status();
  }

  async setWriteRegion(region: string): Promise<{ ok: true } | { ok: false; status: number; reason: string }> {
    const inFleet = await this.shared.setWriteRegion(region);
    if (inFleet !== null) return inFleet;
    const r = this.health.setWriteRegion(region);
    if (!r.ok) return { ok: false, status: 400, reason: r.reason };
    this.logger.warn({ event: 'write-region-set', region }, `operator set the write region to ${region}`);
    await this.pool.settled();
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
        this.pool.broadcast(m);
        // The new view, sent when the health store applies the snapshot, follows on the same channel.
      },
      settle: async () => {
        this.shared.configure(this.snap);
        const workersBehind = await this.pool.settled();
        return { configVersion: this.configVersion, workersBehind };
      },
    });
  }

  /** SIGTERM: every worker stops accepting and drains (shutdownGrace), then the primary closes. */
  async shutdown(): Promise<void> {
    if (this.pool.closing) return;
    const grace = this.snap.shutdownGraceMs;
    const workers = this.pool.live().length;
    this.logger.info({ event: 'shutdown', graceMs: grace, workers }, 'shutting down: workers drain in-flight requests');
    this.health.stop();
    await this.pool.stopAll(grace);
    await this.shared.close();
    await this.listeners.close();
    this.logger.info({ event: 'shutdown' }, 'stopped');
    flushLogger(this.logger);
  }
}
