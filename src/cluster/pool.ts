// The primary's workers: forking them into stable slots, restarting the ones that die (with a
// back-off for crash loops), sending them messages, waiting for their acknowledgements and asking
// them questions (metrics, explain) with a timeout. What the messages mean stays in primary.ts.
import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import type { Logger } from '../observability/logger.js';
import type { ToPrimary, ToWorker } from './protocol.js';

/** How long an admin action waits for every worker to acknowledge it before answering anyway. */
const SETTLE_TIMEOUT_MS = 2_000;
/** How long /metrics and explain wait for a worker's answer. */
const ASK_TIMEOUT_MS = 2_000;
/** A worker that dies sooner than this after its start counts as crash-looping: its restart backs off. */
const CRASH_WINDOW_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;

/**
 * How a worker that was not asked to stop ended, the `reason` of meridian_worker_restarts_total: a
 * fixed set, each seeded at 0 so the first restart shows as an increase. The signal or exit code
 * itself goes to the `worker-exit` log line.
 */
const RESTART_REASONS = ['signal', 'crash', 'exit'] as const;
type RestartReason = (typeof RESTART_REASONS)[number];

/** killed by a signal (kill -9, the OOM killer); exited non-zero (an uncaught error); exited 0 unasked. */
function restartReason(code: number | null, signal: string | null): RestartReason {
  if (signal !== null) return 'signal';
  return code === 0 ? 'exit' : 'crash';
}

export interface Slot {
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

/** What the pool asks of the primary. */
export interface PoolOwner {
  readonly logger: Logger;
  readonly registry: client.Registry;
  /** The config and view versions every worker should have acknowledged. */
  versions(): { config: number; view: number };
  /** A worker said hello: send it what it needs to serve. */
  hello(slot: Slot): void;
  /** A worker saw an upstream attempt succeed or fail. */
  passive(endpoint: string, ok: boolean, kind?: string): void;
  /** A worker's primary requests to `region`, named busy in its last shared-ack, have all ended. */
  idle(slot: Slot, region: string): void;
  /** A worker applied the shared snapshot of `version` (or a newer one) with primary requests in flight to `busy`. */
  sharedAck(slot: Slot, version: number, busy: readonly string[]): void;
  /** A worker process exited (whatever happens next). */
  exited(slot: Slot): void;
}

export class WorkerPool {
  readonly slots: Slot[] = [];
  listenUrl: string | null = null;
  closing = false;
  private readonly restarts: client.Counter<'reason'>;
  private readonly workersUp: client.Gauge;
  private askSeq = 0;
  private readonly pending = new Map<number, (data: unknown) => void>();
  private readonly settleWaiters = new Set<() => void>();
  private readonly exitWaiters = new Set<() => void>();

  constructor(private readonly owner: PoolOwner) {
    this.restarts = new client.Counter({
      name: 'meridian_worker_restarts_total',
      help: 'Workers that exited unexpectedly and were restarted, by how they ended (signal, crash: non-zero exit, exit: exit 0)',
      labelNames: ['reason'] as const,
      registers: [owner.registry],
    });
    for (const reason of RESTART_REASONS) this.restarts.labels(reason).inc(0);
    this.workersUp = new client.Gauge({
      name: 'meridian_workers',
      help: 'Worker processes currently serving (listening)',
      aggregator: 'max',
      registers: [owner.registry],
    });
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
  }

  /** Start the worker for `index`; resolves when it listens, rejects if it dies first. */
  fork(index: number, restarts = 0, crashStreak = 0): Promise<void> {
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
      // A message sent as the worker dies fails with EPIPE on the worker object; without a listener
      // that error would take the primary down. The exit that follows is handled as usual.
      worker.on('error', (err) =>
        this.owner.logger.warn({ event: 'worker-ipc-error', worker: index, err: err.message }, `worker ${index}: ${err.message}`),
      );
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
    const log = this.owner.logger;
    switch (m.t) {
      case 'hello':
        this.owner.hello(slot);
        return;
      case 'listening':
        slot.listening = true;
        this.listenUrl ??= m.url;
        this.workersUp.set(this.slots.filter((s) => s.listening).length);
        if (slot.restarts > 0) {
          const pid = slot.worker.process.pid;
          log.warn(
            { event: 'worker-restarted', worker: slot.index, workerPid: pid, restarts: slot.restarts },
            `worker ${slot.index} restarted (pid ${pid})`,
          );
        }
        return;
      case 'ack':
        slot.configVersion = Math.max(slot.configVersion, m.config);
        slot.viewVersion = Math.max(slot.viewVersion, m.view);
        for (const w of [...this.settleWaiters]) w();
        return;
      case 'config-error':
        log.error(
          { event: 'worker-config-error', worker: slot.index, version: m.version, errors: m.errors },
          `worker ${slot.index} rejected config version ${m.version}`,
        );
        return;
      case 'passive':
        this.owner.passive(m.endpoint, m.ok, m.kind);
        return;
      case 'idle':
        this.owner.idle(slot, m.region);
        return;
      case 'shared-ack':
        this.owner.sharedAck(slot, m.version, m.busy);
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
    if (slot) this.owner.exited(slot);
    if (!slot || this.closing) return;
    slot.listening = false;
    this.workersUp.set(this.slots.filter((s) => s.listening).length);
    const reason = signal ?? `code-${code ?? 'unknown'}`;
    const lived = Date.now() - slot.startedAt;
    const crashStreak = lived < CRASH_WINDOW_MS ? slot.crashStreak + 1 : 0;
    // A worker that keeps dying right after start must not spin the CPU: back off up to 10 s.
    const delay = crashStreak <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (crashStreak - 1));
    this.restarts.labels(restartReason(code, signal)).inc();
    this.owner.logger.error(
      { event: 'worker-exit', worker: slot.index, workerPid: worker.process.pid, code, signal, livedMs: lived, restartInMs: delay },
      `worker ${slot.index} (pid ${worker.process.pid}) exited unexpectedly (${reason}); restarting`,
    );
    const timer = setTimeout(() => {
      if (this.closing) return;
      this.fork(slot.index, slot.restarts + 1, crashStreak).catch((err: unknown) => {
        this.owner.logger.error(
          { event: 'worker-start-failed', worker: slot.index, err: (err as Error).message },
          `worker ${slot.index} failed to start`,
        );
      });
    }, delay);
    timer.unref();
  }

  send(slot: Slot, m: ToWorker): void {
    const w = slot.worker;
    if (w.isConnected() && !w.isDead()) w.send(m);
  }

  live(): Slot[] {
    return this.slots.filter((s) => s.worker.isConnected() && !s.worker.isDead());
  }

  broadcast(m: ToWorker): void {
    for (const s of this.live()) this.send(s, m);
  }

  /** Start-up failed: kill every worker at once. */
  killAll(): void {
    this.closing = true;
    for (const s of this.slots) s.worker.process.kill('SIGKILL');
  }

  /**
   * Resolves when every live worker has acknowledged the current config and view (so an admin
   * action that returns has reached all of them), or after SETTLE_TIMEOUT_MS with the laggards named.
   */
  settled(): Promise<number[]> {
    const laggards = (): number[] => {
      const v = this.owner.versions();
      return this.live()
        .filter((s) => s.configVersion < v.config || s.viewVersion < v.view)
        .map((s) => s.index);
    };
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
        this.owner.logger.warn({ event: 'workers-not-settled', workers: l }, `workers ${l.join(', ')} did not acknowledge in time`);
        done(l);
      }, SETTLE_TIMEOUT_MS);
      this.settleWaiters.add(check);
      this.exitWaiters.add(check);
      check();
    });
  }

  /** Ask every listening worker (`all`) or the first one (`one`) and collect the answers. */
  ask(kind: 'metrics', all: true): Promise<unknown[]>;
  ask(kind: 'explain', all: false, params: Record<string, string>): Promise<unknown[]>;
  ask(kind: 'metrics' | 'explain', all: boolean, params?: Record<string, string>): Promise<unknown[]> {
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

  /** Tell every worker to drain and stop; resolves when all are gone (killed after grace + 5 s). */
  async stopAll(graceMs: number): Promise<void> {
    this.closing = true;
    this.broadcast({ t: 'shutdown' });
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
    }, graceMs + 5_000);
    await allGone;
    clearTimeout(killer);
  }
}
