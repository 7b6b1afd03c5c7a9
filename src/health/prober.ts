// Active health probes: GET `${endpoint}${health.path}` on a dedicated
// agent with keepAlive off — a pooled keep-alive socket could keep answering from a half-dead process
// or hide that the listener is gone; a fresh connection per probe tests what a new request would meet.
// A probe never throws and never leaks an 'error' event: every outcome is a ProbeResult.

import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { classifyFailure, type LocalFailureKind } from '../failure.js';

export interface ProbeResult {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly status?: number;
  /** 'timeout' | 'refused' | 'reset' | 'status' | 'bad-url' | an error code (classifyFailure's detail). */
  readonly error?: string;
  /** Replication lag read from the lag header, ms. */
  readonly lagMs?: number;
  /**
   * The probe could not be made for a reason of this host's own (out of descriptors, buffers or
   * local ports): it says nothing about the endpoint and is not counted for or against it.
   */
  readonly local?: Exclude<LocalFailureKind, 'client_gone'>;
}

export interface ProbeOptions {
  readonly path: string;
  readonly timeoutMs: number;
  readonly expectedStatuses: ReadonlySet<number>;
  /** Lower-case header name, or null. */
  readonly lagHeader: string | null;
}

export interface ProbeAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

/** Agents without keep-alive, owned by whoever probes (destroy() them on stop). */
export function createProbeAgents(): ProbeAgents {
  return {
    http: new http.Agent({ keepAlive: false, maxSockets: Infinity }),
    https: new https.Agent({ keepAlive: false, maxSockets: Infinity }),
  };
}

function probeUrl(endpoint: string, path: string): string {
  return `${endpoint}${path.startsWith('/') ? path : `/${path}`}`;
}

/** Seconds as a decimal ("0.8") → ms; null when absent or malformed. */
function parseLagSeconds(v: string | string[] | undefined): number | null {
  const raw = Array.isArray(v) ? v[0] : v;
  if (raw === undefined) return null;
  const first = raw.split(',')[0]?.trim() ?? '';
  if (first === '') return null;
  const n = Number(first);
  if (!Number.isFinite(n) || n < 0) return null;
  return Math.round(n * 1000);
}

/** A failed probe's result from its error: a local failure is marked so it is not held against the endpoint. */
function failedWith(err: unknown, durationMs: number): ProbeResult {
  const f = classifyFailure({ error: err });
  if (f.origin === 'local' && f.kind !== 'client_gone') return { ok: false, durationMs, error: f.detail, local: f.kind };
  return { ok: false, durationMs, error: f.detail };
}

const TIMEOUT = Symbol('timeout');

export function probeOnce(endpoint: string, opts: ProbeOptions, agents: ProbeAgents): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      resolve(r);
    };
    let url: URL;
    try {
      url = new URL(probeUrl(endpoint, opts.path));
    } catch {
      finish({ ok: false, durationMs: 0, error: 'bad-url' });
      return;
    }
    const secure = url.protocol === 'https:';
    let req: http.ClientRequest;
    try {
      req = (secure ? https : http).request(url, {
        method: 'GET',
        agent: secure ? agents.https : agents.http,
        headers: { 'user-agent': 'meridian-health', accept: '*/*', connection: 'close' },
      });
    } catch (err) {
      finish(failedWith(err, elapsed()));
      return;
    }
    timer = setTimeout(
      () => {
        finish({ ok: false, durationMs: elapsed(), error: classifyFailure({ timer: 'response' }).detail });
        req.destroy(Object.assign(new Error('probe timeout'), { [TIMEOUT]: true }));
      },
      Math.max(1, opts.timeoutMs),
    );
    req.on('error', (err) => finish(failedWith(err, elapsed())));
    req.on('response', (res) => {
      res.on('error', () => {});
      const status = res.statusCode ?? 0;
      const lag = opts.lagHeader ? parseLagSeconds(res.headers[opts.lagHeader]) : null;
      const ok = opts.expectedStatuses.has(status);
      const base = { ok, durationMs: elapsed(), status };
      const withErr = ok ? base : { ...base, error: classifyFailure({ status }).detail };
      finish(lag === null ? withErr : { ...withErr, lagMs: lag });
      // The body carries nothing we need; the socket is not reused (keepAlive off), so drop it.
      res.destroy();
    });
    req.end();
  });
}

/** Timer functions, injectable so tests can drive scheduling. Real timers are unref'd. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};

/** The first probe of an endpoint comes within this bound, so /readyz turns ready quickly. */
export const FIRST_PROBE_MAX_DELAY_MS = 250;

export interface EndpointProberOptions {
  readonly intervalMs: number;
  readonly jitterMs: number;
  readonly probe: () => Promise<ProbeResult>;
  readonly onResult: (r: ProbeResult) => void;
  readonly scheduler?: Scheduler;
  readonly random?: () => number;
}

/**
 * Probes one endpoint forever (until stop()). Spreading, so a fleet of routers started together
 * does not probe in lock-step: the first probe comes after a random 0..min(interval, 250ms); the
 * second after a random phase in [0, interval); every later one `interval + random(0..jitter)` after
 * the previous one STARTED (minus nothing if the probe itself took longer). Probes never overlap.
 */
export class EndpointProber {
  private handle: unknown = null;
  private running = false;
  private round = 0;
  private readonly sched: Scheduler;
  private readonly random: () => number;

  constructor(private readonly o: EndpointProberOptions) {
    this.sched = o.scheduler ?? realScheduler;
    this.random = o.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.round = 0;
    this.schedule(this.random() * Math.min(this.o.intervalMs, FIRST_PROBE_MAX_DELAY_MS));
  }

  stop(): void {
    this.running = false;
    if (this.handle !== null) this.sched.clearTimeout(this.handle);
    this.handle = null;
  }

  private schedule(ms: number): void {
    this.handle = this.sched.setTimeout(
      () => {
        this.handle = null;
        void this.tick();
      },
      Math.max(0, ms),
    );
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    const started = performance.now();
    let r: ProbeResult;
    try {
      r = await this.o.probe();
    } catch (err) {
      r = failedWith(err, performance.now() - started);
    }
    if (!this.running) return;
    try {
      this.o.onResult(r);
    } catch {
      // a failing listener must not stop probing
    }
    if (!this.running) return;
    this.round++;
    const took = performance.now() - started;
    const next = this.round === 1 ? this.random() * this.o.intervalMs : this.o.intervalMs + this.random() * Math.max(0, this.o.jitterMs);
    this.schedule(next - took);
  }
}
