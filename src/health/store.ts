// HealthStore: probes + passive signals → one immutable HealthView (STYLE "shape of the house").
// State is keyed by endpoint URL so it survives reloads for unchanged endpoints (STYLE habit 4).
// Time comes from the injected Clock; the only timers are the probers' and one "next deadline" timer
// (both only between start() and stop(), both unref'd).
//
// view() is on the request path: it returns a cached frozen object until a fact changes (probe
// transition, ejection, drain, reload, operator) or a time deadline passes (failback end, ejection end,
// suppression end, slow-start step) — `validUntil`. Events are queued while state is updated and
// emitted afterwards, so a listener that calls back into the store sees consistent state.

import type { Clock } from '../clock.js';
import type { HealthConfig, HealthView, Snapshot } from '../types.js';
import { addPenalty, initialDamping, normalise, penaltyAt, type DampingState } from './damping.js';
import { applyProbe, initialEndpointState, type EndpointState, type EndpointTransition } from './endpoint-state.js';
import { initialEjection, isEjected, mayEject, maxEjectable, recordOutcome, type EjectionState } from './ejection.js';
import { noopHealthEvents, type HealthEvents } from './events.js';
import {
  createProbeAgents,
  EndpointProber,
  probeOnce,
  realScheduler,
  type ProbeAgents,
  type ProbeOptions,
  type ProbeResult,
  type Scheduler,
} from './prober.js';
import { evaluateRegion, type RegionEval, type RegionStatus } from './region-state.js';
import { WriteRegionManager, type WriteInputs } from './writes.js';

export type ProbeFn = (endpoint: string, opts: ProbeOptions) => Promise<ProbeResult>;

export interface HealthStoreOptions {
  readonly clock: Clock;
  readonly events?: HealthEvents;
  /** [0, 1) source for probe spreading; default Math.random. */
  readonly random?: () => number;
  /** Timer source for probers and the deadline timer; default real (unref'd) timers. */
  readonly scheduler?: Scheduler;
  /** Replaces the HTTP probe (unit tests). */
  readonly probe?: ProbeFn;
  /**
   * Called with every new view, after the events of the change that made it (the cluster primary
   * broadcasts it to the workers). Views are rebuilt only when something in them changed.
   */
  readonly onView?: (view: HealthView) => void;
}

export type WriteRegionResult = { ok: true } | { ok: false; reason: string };

interface EndpointRec {
  readonly url: string;
  region: string;
  probe: EndpointState;
  ejection: EjectionState;
  /** We reported this endpoint as ejected and have not yet reported its return. */
  ejectedReported: boolean;
  /** An ejectionRefused event was emitted for the current failure streak. */
  refusedReported: boolean;
  lastProbe: { at: number; ok: boolean; durationMs: number; status?: number; error?: string } | null;
  lastPassive: { at: number; ok: boolean; kind?: string } | null;
  lagMs: number | null;
  prober: EndpointProber | null;
}

interface RegionRec {
  readonly name: string;
  endpoints: readonly string[];
  drained: boolean;
  /** Some endpoint UP by probes (drives damping and failback, not ejection). */
  healthUp: boolean;
  /** Has been health-up before: a later recovery waits for the failback delay. */
  everUp: boolean;
  failbackUntil: number | null;
  damping: DampingState;
  /** Latest lag reported by ANY endpoint of the region (the data tier's lag is a regional fact; the
   *  freshest reading wins). A probe without the header keeps the previous value. */
  lagMs: number | null;
  lagAt: number | null;
  evaluation: RegionEval;
  /** Last suppression state reported through events. */
  suppressedReported: boolean;
}

type Queued = () => void;

const EMPTY: readonly string[] = Object.freeze([]);

function probeOptions(h: HealthConfig): ProbeOptions {
  return { path: h.path, timeoutMs: h.timeoutMs, expectedStatuses: h.expectedStatuses, lagHeader: h.lagHeader };
}

function sameProbeConfig(a: HealthConfig, b: HealthConfig): boolean {
  return (
    a.path === b.path &&
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    a.jitterMs === b.jitterMs &&
    a.lagHeader === b.lagHeader &&
    a.expectedStatuses.size === b.expectedStatuses.size &&
    [...a.expectedStatuses].every((s) => b.expectedStatuses.has(s))
  );
}

const INITIAL_EVAL: RegionEval = Object.freeze({ status: 'unknown', available: false, suppressed: false, weight: 1, validUntil: Infinity });

export class HealthStore {
  private readonly clock: Clock;
  private readonly events: HealthEvents;
  private readonly random: () => number;
  private readonly scheduler: Scheduler;
  private readonly probeFn: ProbeFn;
  private readonly onView: ((view: HealthView) => void) | null;
  private agents: ProbeAgents | null = null;

  private snap: Snapshot | null = null;
  private endpoints = new Map<string, EndpointRec>();
  private regions = new Map<string, RegionRec>();
  private writes: WriteRegionManager | null = null;

  private started = false;
  private cached: HealthView | null = null;
  private validUntil = -Infinity;
  private dirty = true;
  private deadlineTimer: unknown = null;
  private queue: Queued[] = [];
  private flushing = false;

  constructor(opts: HealthStoreOptions) {
    this.clock = opts.clock;
    this.events = opts.events ?? noopHealthEvents;
    this.random = opts.random ?? Math.random;
    this.scheduler = opts.scheduler ?? realScheduler;
    this.onView = opts.onView ?? null;
    this.probeFn =
      opts.probe ??
      ((endpoint, o) => {
        this.agents ??= createProbeAgents();
        return probeOnce(endpoint, o, this.agents);
      });
  }

  // ---------------------------------------------------------------- config

  applySnapshot(snap: Snapshot): void {
    const now = this.clock.now();
    const old = this.snap;
    this.snap = snap;
    const restartAll = old !== null && !sameProbeConfig(old.health, snap.health);

    const nextEndpoints = new Map<string, EndpointRec>();
    for (const r of snap.regions) {
      for (const url of r.endpoints) {
        const prev = this.endpoints.get(url) ?? nextEndpoints.get(url);
        const rec: EndpointRec = prev ?? {
          url,
          region: r.name,
          probe: initialEndpointState,
          ejection: initialEjection,
          ejectedReported: false,
          refusedReported: false,
          lastProbe: null,
          lastPassive: null,
          lagMs: null,
          prober: null,
        };
        rec.region = r.name;
        nextEndpoints.set(url, rec);
      }
    }
    for (const [url, rec] of this.endpoints) {
      if (!nextEndpoints.has(url) && rec.prober) {
        rec.prober.stop();
        rec.prober = null;
      }
    }
    this.endpoints = nextEndpoints;

    const nextRegions = new Map<string, RegionRec>();
    for (const r of snap.regions) {
      const prev = this.regions.get(r.name);
      const rec: RegionRec = prev ?? {
        name: r.name,
        endpoints: r.endpoints,
        drained: false,
        healthUp: false,
        everUp: false,
        failbackUntil: null,
        damping: initialDamping(now),
        lagMs: null,
        lagAt: null,
        evaluation: INITIAL_EVAL,
        suppressedReported: false,
      };
      rec.endpoints = [...r.endpoints];
      // Endpoints added/removed by the reload may change the region's health; not a flap: no penalty.
      this.updateRegionHealth(rec, now, null, false);
      nextRegions.set(r.name, rec);
    }
    this.regions = nextRegions;

    const prevWrites = this.writes;
    this.writes = new WriteRegionManager(
      snap.writes,
      now,
      prevWrites ? { status: prevWrites.status, exists: (x) => this.regions.has(x) } : undefined,
    );

    if (this.started) {
      for (const rec of this.endpoints.values()) {
        if (restartAll && rec.prober) {
          rec.prober.stop();
          rec.prober = null;
        }
        if (!rec.prober) this.startProber(rec);
      }
    }
    this.invalidate();
    this.refresh(now, 'reload');
  }

  // ---------------------------------------------------------------- lifecycle

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const rec of this.endpoints.values()) this.startProber(rec);
    this.invalidate();
  }

  /** Stops every prober and timer so the process can exit. start() may be called again. */
  stop(): void {
    this.started = false;
    for (const rec of this.endpoints.values()) {
      rec.prober?.stop();
      rec.prober = null;
    }
    if (this.deadlineTimer !== null) this.scheduler.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    if (this.agents) {
      this.agents.http.destroy();
      this.agents.https.destroy();
      this.agents = null;
    }
  }

  /** Run one probe of every endpoint now (tests, admin). Resolves when all results are applied. */
  async probeNow(): Promise<void> {
    const snap = this.snap;
    if (!snap) return;
    const recs = [...this.endpoints.values()];
    await Promise.all(
      recs.map(async (rec) => {
        let r: ProbeResult;
        try {
          r = await this.probeFn(rec.url, probeOptions(snap.health));
        } catch (err) {
          r = { ok: false, durationMs: 0, error: err instanceof Error ? err.message : 'error' };
        }
        this.onProbe(rec, r);
      }),
    );
  }

  private startProber(rec: EndpointRec): void {
    const snap = this.snap;
    if (!snap) return;
    const h = snap.health;
    rec.prober = new EndpointProber({
      intervalMs: h.intervalMs,
      jitterMs: h.jitterMs,
      scheduler: this.scheduler,
      random: this.random,
      probe: () =>
        this.snap ? this.probeFn(rec.url, probeOptions(this.snap.health)) : Promise.resolve({ ok: false, durationMs: 0, error: 'stopped' }),
      onResult: (r) => this.onProbe(rec, r),
    });
    rec.prober.start();
  }

  // ---------------------------------------------------------------- signals

  private onProbe(rec: EndpointRec, r: ProbeResult): void {
    const snap = this.snap;
    // A result for an endpoint removed by a reload (the probe was in flight) is dropped.
    if (!snap || this.endpoints.get(rec.url) !== rec) return;
    const now = this.clock.now();
    const region = this.regions.get(rec.region);
    rec.lastProbe = { at: now, ok: r.ok, durationMs: r.durationMs };
    if (r.status !== undefined) rec.lastProbe.status = r.status;
    if (r.error !== undefined) rec.lastProbe.error = r.error;
    this.queue.push(() =>
      this.events.probe({
        endpoint: rec.url,
        region: rec.region,
        ok: r.ok,
        durationMs: r.durationMs,
        ...(r.status !== undefined ? { status: r.status } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
        ...(r.lagMs !== undefined ? { lagMs: r.lagMs } : {}),
      }),
    );
    if (r.lagMs !== undefined) {
      rec.lagMs = r.lagMs;
      const lagMs = r.lagMs;
      if (region) {
        region.lagMs = lagMs;
        region.lagAt = now;
      }
      this.queue.push(() => this.events.lag({ region: rec.region, endpoint: rec.url, lagMs }));
    }
    const wasProbed = rec.probe.probes > 0;
    const { state, transition } = applyProbe(rec.probe, r.ok, snap.health);
    rec.probe = state;
    if (transition) {
      const t = transition;
      // probe transitions report probe states; ejection has its own transitions (cause 'passive')
      this.queue.push(() =>
        this.events.endpointTransition({ endpoint: rec.url, region: rec.region, from: t.from, to: t.to, cause: 'probe' }),
      );
      if (region) this.updateRegionHealth(region, now, t, true);
    }
    // Lag (for write selection), readiness and transitions all may change the view.
    if (transition || !wasProbed || r.lagMs !== undefined) this.invalidate();
    this.refresh(now, 'probe');
  }

  /**
   * Passive signal from live traffic: ok=false for a connect failure, a timeout or a 5xx.
   * Cheap on the success path (no allocation once the failure streak is zero).
   */
  reportResult(endpoint: string, ok: boolean, kind?: string): void {
    const rec = this.endpoints.get(endpoint);
    const snap = this.snap;
    if (!rec || !snap) return;
    if (ok && rec.ejection.consecutive === 0) return;
    const now = this.clock.now();
    rec.lastPassive = kind === undefined ? { at: now, ok } : { at: now, ok, kind };
    const out = recordOutcome(snap.passive, rec.ejection, ok, now, () => this.mayEject(rec, now));
    rec.ejection = out.state;
    if (ok) rec.refusedReported = false;
    if (out.eject) {
      const { forMs, multiplier } = out.eject;
      rec.ejectedReported = true;
      rec.refusedReported = false;
      const from = rec.probe.status;
      this.queue.push(() => this.events.ejected({ endpoint: rec.url, region: rec.region, forMs, multiplier }));
      this.queue.push(() =>
        this.events.endpointTransition({ endpoint: rec.url, region: rec.region, from, to: 'ejected', cause: 'passive' }),
      );
      this.invalidate();
      this.refresh(now, 'passive');
    } else if (out.wanted && !rec.refusedReported) {
      rec.refusedReported = true;
      const total = this.endpoints.size;
      const reason =
        total <= 1
          ? 'only endpoint: never ejected'
          : `cap: at most ${maxEjectable(total, snap.passive.maxEjectedShare)} of ${total} endpoints ejected and at least one serving`;
      this.queue.push(() => this.events.ejectionRefused({ endpoint: rec.url, region: rec.region, reason }));
      this.flush();
    }
  }

  private mayEject(rec: EndpointRec, now: number): boolean {
    const snap = this.snap;
    if (!snap) return false;
    let ejected = 0;
    let servingOthers = 0;
    for (const e of this.endpoints.values()) {
      const ej = isEjected(e.ejection, now);
      if (ej) ejected++;
      else if (e !== rec && e.probe.status === 'up') servingOthers++;
    }
    return mayEject(this.endpoints.size, snap.passive.maxEjectedShare, ejected, servingOthers);
  }

  // ---------------------------------------------------------------- operator

  drain(region: string): boolean {
    return this.setDrained(region, true);
  }

  undrain(region: string): boolean {
    return this.setDrained(region, false);
  }

  private setDrained(region: string, drained: boolean): boolean {
    const rec = this.regions.get(region);
    if (!rec) return false;
    if (rec.drained === drained) return true;
    rec.drained = drained;
    this.queue.push(() => this.events.drain({ region, drained }));
    this.invalidate();
    this.refresh(this.clock.now(), drained ? 'drain' : 'undrain');
    return true;
  }

  setWriteRegion(region: string): WriteRegionResult {
    const writes = this.writes;
    if (!writes) return { ok: false, reason: 'no configuration loaded' };
    const now = this.clock.now();
    this.view(); // make availability current
    const res = writes.set(region, this.writeInputs(), now);
    if (!res.ok) return { ok: false, reason: res.reason };
    const change = res.change;
    if (change) this.queue.push(() => this.events.writeRegionChanged(change));
    this.invalidate();
    this.refresh(now, 'operator');
    return { ok: true };
  }

  // ---------------------------------------------------------------- read side

  view(): HealthView {
    const now = this.clock.now();
    if (this.cached !== null && !this.dirty && now < this.validUntil) return this.cached;
    return this.refresh(now, 'time');
  }

  /** Every endpoint has been probed at least once (SPEC §5 /readyz). */
  ready(): boolean {
    if (!this.snap) return false;
    for (const e of this.endpoints.values()) if (e.probe.probes === 0) return false;
    return true;
  }

  /** JSON for GET /admin/state. */
  state(): object {
    const now = this.clock.now();
    this.view();
    const snap = this.snap;
    const writes = this.writes;
    const inputs = this.writeInputs();
    return {
      ready: this.ready(),
      regions: [...this.regions.values()].map((r) => ({
        name: r.name,
        status: r.evaluation.status,
        available: r.evaluation.available,
        drained: r.drained,
        suppressed: r.evaluation.suppressed,
        penalty: snap ? Math.round(penaltyAt(snap.health.damping, r.damping, now)) : 0,
        failbackUntil: r.failbackUntil !== null && r.failbackUntil > now ? new Date(r.failbackUntil).toISOString() : null,
        weight: r.evaluation.weight,
        lagMs: r.lagMs,
        lagAt: r.lagAt !== null ? new Date(r.lagAt).toISOString() : null,
        endpoints: r.endpoints.map((url) => {
          const e = this.endpoints.get(url);
          if (!e) return { url };
          return {
            url,
            state: e.probe.status,
            ejected: isEjected(e.ejection, now),
            ejectedUntil: isEjected(e.ejection, now) ? new Date(e.ejection.ejectedUntil).toISOString() : null,
            ejections: e.ejection.ejections,
            consecutivePasses: e.probe.passes,
            consecutiveFailures: e.probe.fails,
            passiveConsecutiveFailures: e.ejection.consecutive,
            probes: e.probe.probes,
            lastProbe: e.lastProbe ? { ...e.lastProbe, at: new Date(e.lastProbe.at).toISOString() } : null,
            lastPassive: e.lastPassive ? { ...e.lastPassive, at: new Date(e.lastPassive.at).toISOString() } : null,
            lagMs: e.lagMs,
          };
        }),
      })),
      writeRegion: writes
        ? {
            region: writes.status.region,
            reason: writes.status.reason,
            operator: writes.status.manual,
            since: new Date(writes.status.since).toISOString(),
            failover: writes.config.failover,
            failback: writes.config.failback,
            maxLagMs: writes.config.maxLagMs,
            candidates: writes.candidates(inputs),
          }
        : null,
    };
  }

  // ---------------------------------------------------------------- internals

  /**
   * Region health bookkeeping after an endpoint transition (t) or a reload (t = null).
   * - last UP endpoint gone → region DOWN: damping penalty (only when `penalize`, i.e. real probes);
   * - first UP endpoint back → recovery: failback delay starts, unless the region never was UP;
   * - any endpoint DOWN during the failback wait restarts the wait (continuous health required).
   */
  private updateRegionHealth(r: RegionRec, now: number, t: EndpointTransition | null, penalize: boolean): void {
    const snap = this.snap;
    if (!snap) return;
    const anyUp = r.endpoints.some((u) => this.endpoints.get(u)?.probe.status === 'up');
    const delay = Math.max(0, snap.health.failbackDelayMs);
    if (anyUp && !r.healthUp) {
      r.healthUp = true;
      r.failbackUntil = r.everUp ? now + delay : null;
      r.everUp = true;
    } else if (!anyUp && r.healthUp) {
      r.healthUp = false;
      if (penalize) r.damping = addPenalty(snap.health.damping, r.damping, now);
    } else if (anyUp && t?.to === 'down' && r.failbackUntil !== null && now < r.failbackUntil) {
      r.failbackUntil = now + delay;
    } else {
      r.damping = normalise(snap.health.damping, r.damping, now);
    }
  }

  private invalidate(): void {
    this.dirty = true;
  }

  private writeInputs(): WriteInputs {
    return {
      isAvailable: (r) => this.regions.get(r)?.evaluation.available ?? false,
      lagMs: (r) => this.regions.get(r)?.lagMs ?? null,
      probed: (r) => {
        const rec = this.regions.get(r);
        return rec !== undefined && rec.endpoints.every((u) => (this.endpoints.get(u)?.probe.probes ?? 0) > 0);
      },
      exists: (r) => this.regions.has(r),
    };
  }

  /** Re-evaluate every region at `now`, queue transition events, rebuild the view, emit. */
  private refresh(now: number, cause: string): HealthView {
    const snap = this.snap;
    if (!snap) {
      this.cached = emptyView;
      this.validUntil = Infinity;
      this.dirty = false;
      this.flush();
      return emptyView;
    }
    let validUntil = Infinity;
    let changed = this.dirty || this.cached === null;
    const info = new Map<string, { available: boolean; weight: number; lagMs: number | null; endpoints: readonly string[] }>();
    for (const r of this.regions.values()) {
      let anyProbed = false;
      let anyUp = false;
      let nextEjectionEnd: number | null = null;
      const serving: string[] = [];
      for (const url of r.endpoints) {
        const e = this.endpoints.get(url);
        if (!e) continue;
        if (e.probe.probes > 0) anyProbed = true;
        const ejected = isEjected(e.ejection, now);
        if (ejected) {
          if (nextEjectionEnd === null || e.ejection.ejectedUntil < nextEjectionEnd) nextEjectionEnd = e.ejection.ejectedUntil;
        } else if (e.ejectedReported) {
          // ejection time is up: the endpoint returns on its own
          e.ejectedReported = false;
          const to = e.probe.status;
          this.queue.push(() =>
            this.events.endpointTransition({ endpoint: e.url, region: e.region, from: 'ejected', to, cause: 'passive' }),
          );
        }
        if (e.probe.status === 'up') {
          anyUp = true;
          if (!ejected) serving.push(url);
        }
      }
      const ev = evaluateRegion(
        snap.health,
        {
          drained: r.drained,
          anyProbed,
          anyUp,
          anyServing: serving.length > 0,
          nextEjectionEnd,
          failbackUntil: r.failbackUntil,
          damping: r.damping,
        },
        now,
      );
      const prev = r.evaluation;
      if (prev.status !== ev.status || prev.weight !== ev.weight) changed = true;
      if (prev.status !== ev.status) {
        const from: RegionStatus = prev.status;
        const to = ev.status;
        this.queue.push(() => this.events.regionTransition({ region: r.name, from, to, cause }));
      }
      if (ev.suppressed !== r.suppressedReported) {
        r.suppressedReported = ev.suppressed;
        const suppressed = ev.suppressed;
        const penalty = Math.round(penaltyAt(snap.health.damping, r.damping, now));
        this.queue.push(() => this.events.suppression({ region: r.name, suppressed, penalty }));
      }
      r.evaluation = ev;
      if (ev.validUntil < validUntil) validUntil = ev.validUntil;
      const prevInfo = this.cached ? this.cached.availableEndpoints(r.name) : EMPTY;
      const endpoints = sameList(prevInfo, serving) ? prevInfo : Object.freeze(serving);
      if (endpoints !== prevInfo) changed = true;
      info.set(r.name, { available: ev.available, weight: ev.weight, lagMs: r.lagMs, endpoints });
    }

    const writes = this.writes;
    if (writes) {
      const change = writes.evaluate(this.writeInputs(), now);
      if (change) {
        changed = true;
        this.queue.push(() => this.events.writeRegionChanged(change));
      }
    }

    if (changed || this.cached === null) {
      const writeRegion = writes?.status.region ?? null;
      this.cached = Object.freeze({
        isAvailable: (region: string) => info.get(region)?.available ?? false,
        weight: (region: string) => info.get(region)?.weight ?? 0,
        lagMs: (region: string) => info.get(region)?.lagMs ?? null,
        writeRegion,
        availableEndpoints: (region: string) => info.get(region)?.endpoints ?? EMPTY,
      });
      const onView = this.onView;
      if (onView) {
        const view = this.cached;
        this.queue.push(() => onView(view));
      }
    }
    this.validUntil = validUntil;
    this.dirty = false;
    this.scheduleDeadline(now);
    const view = this.cached;
    this.flush();
    return view;
  }

  /** While started, re-evaluate at the next deadline so time-driven transitions are reported on time. */
  private scheduleDeadline(now: number): void {
    if (this.deadlineTimer !== null) {
      this.scheduler.clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
    }
    if (!this.started || !Number.isFinite(this.validUntil)) return;
    this.deadlineTimer = this.scheduler.setTimeout(
      () => {
        this.deadlineTimer = null;
        this.view();
      },
      Math.max(0, this.validUntil - now) + 1,
    );
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const q = this.queue.shift();
        try {
          q?.();
        } catch {
          // a failing listener must not corrupt health state
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const emptyView: HealthView = Object.freeze({
  isAvailable: () => false,
  weight: () => 0,
  lagMs: () => null,
  writeRegion: null,
  availableEndpoints: () => EMPTY,
});
