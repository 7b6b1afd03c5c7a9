// HealthStore: probes + passive signals → one immutable HealthView that routing reads.
// State is keyed by endpoint URL so it survives reloads for unchanged endpoints (records.ts).
// Time comes from the injected Clock; the only timers are the probers' and one "next deadline" timer
// (both only between start() and stop(), both unref'd).
//
// view() is on the request path: it returns a cached frozen object until a fact changes (probe
// transition, ejection, drain, reload, operator) or a time deadline passes (failback end, ejection end,
// suppression end, slow-start step) — `validUntil`. Events are queued while state is updated and
// emitted afterwards, so a listener that calls back into the store sees consistent state.

import type { Clock } from '../clock.js';
import type { HealthView, Snapshot } from '../types.js';
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
import { newEndpointRec, newRegionRec, probeOptions, sameProbeConfig, type EndpointRec, type RegionRec } from './records.js';
import { buildView, EMPTY, emptyView, reevaluateRegion, type RegionInfo } from './region-eval.js';
import { applyPassiveOutcome, applyProbeResult, trackRegionHealth } from './signals.js';
import { stateJson } from './state-json.js';
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

type Queued = () => void;

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
        const rec = this.endpoints.get(url) ?? nextEndpoints.get(url) ?? newEndpointRec(url, r.name);
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
      const rec = this.regions.get(r.name) ?? newRegionRec(r.name, r.endpoints, now);
      rec.endpoints = [...r.endpoints];
      // Endpoints added/removed by the reload may change the region's health; not a flap: no penalty.
      trackRegionHealth(rec, this.endpoints, snap, now, null, false);
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
    // Out of descriptors (or buffers, or local ports) here says nothing about the endpoint: were it
    // counted, running out of descriptors would take every region DOWN at once.
    if (r.local !== undefined) {
      this.events.localError({ endpoint: rec.url, region: rec.region, kind: r.local, detail: r.error ?? r.local });
      return;
    }
    const now = this.clock.now();
    const region = this.regions.get(rec.region);
    const { transition, changed } = applyProbeResult(rec, region, r, snap, now, this.events, this.queue);
    if (transition && region) trackRegionHealth(region, this.endpoints, snap, now, transition, true);
    if (changed) this.invalidate();
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
    const out = applyPassiveOutcome(rec, this.endpoints, snap, ok, kind, now, this.events, this.queue);
    if (out === 'ejected') {
      this.invalidate();
      this.refresh(now, 'passive');
    } else if (out === 'refused') {
      this.flush();
    }
  }

  // ---------------------------------------------------------------- operator

  drain(region: string): boolean {
    return this.setDrained(region, true);
  }

  undrain(region: string): boolean {
    return this.setDrained(region, false);
  }

  isDrained(region: string): boolean {
    return this.regions.get(region)?.drained ?? false;
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

  /** Every endpoint has been probed at least once (what /readyz waits for). */
  ready(): boolean {
    if (!this.snap) return false;
    for (const e of this.endpoints.values()) if (e.probe.probes === 0) return false;
    return true;
  }

  /** JSON for GET /admin/state. */
  state(): object {
    this.view();
    return stateJson(this.snap, this.regions, this.endpoints, this.writes, this.writeInputs(), this.ready(), this.clock.now());
  }

  // ---------------------------------------------------------------- internals

  private invalidate(): void {
    this.dirty = true;
  }

  private writeInputs(): WriteInputs {
    return {
      isAvailable: (r) => this.regions.get(r)?.evaluation.writable ?? false,
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
    const info = new Map<string, RegionInfo>();
    for (const r of this.regions.values()) {
      const prevServing = this.cached ? this.cached.availableEndpoints(r.name) : EMPTY;
      const out = reevaluateRegion(r, this.endpoints, snap, now, cause, prevServing, this.events, this.queue);
      if (out.changed) changed = true;
      if (r.evaluation.validUntil < validUntil) validUntil = r.evaluation.validUntil;
      info.set(r.name, out.info);
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
      this.cached = buildView(info, writes?.status.region ?? null);
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
