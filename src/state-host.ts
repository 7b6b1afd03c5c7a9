// The shared state (drains, dials, the write region) as the router process holds it, for both ways
// Meridian runs (App in one process, ClusterPrimary with workers): without `fleet:` a
// LocalSharedState; with it a FleetMember on etcd — in the cluster primary itself (it has no request
// path), and for a single-process router in a child process (FleetChild: child.ts says why).
// It turns admin actions into the port's async actions, keeps the health store's drains equal to
// the shared ones (routing reads drains from the health view, so that is all it needs), publishes
// this router's health view to the fleet, and answers readiness and GET /admin/fleet.
import type client from 'prom-client';
import type { Clock } from './clock.js';
import { ErrorAnswer } from './errors.js';
import { FleetChild } from './fleet/child.js';
import { FleetMember, type FleetStatus } from './fleet/member.js';
import { LocalSharedState } from './fleet/local-state.js';
import type { RegionView, WriteKey } from './fleet/records.js';
import { FleetUnavailableError, type SharedSnapshot, type SharedState } from './fleet/shared-state.js';
import type { HealthStore } from './health/store.js';
import { fleetSink } from './observability/fleet-sink.js';
import type { Logger } from './observability/logger.js';
import type { FleetHooks } from './proxy/shared-gate.js';
import type { HealthView, Snapshot } from './types.js';
import type { DialAnswer, DialChange } from './admin/steering-routes.js';
import { dialJson, logDial } from './operator-dials.js';
import { meridianVersion } from './version.js';
import { monotonicClock } from './fleet/fence.js';

export interface SharedHostOptions {
  readonly snap: Snapshot;
  readonly health: HealthStore;
  readonly logger: Logger;
  readonly registry: client.Registry;
  readonly clock: Clock;
  /** The member fenced itself: primary requests still open must be cut. */
  readonly onFenced: () => void;
  /** Run the member in a child process (a router that serves requests in this process). */
  readonly memberProcess: boolean;
}

/** What this host needs of a fleet member, wherever it runs. */
interface MemberPort extends SharedState {
  start(): Promise<{ synced: boolean }>;
  status(): FleetStatus | Promise<FleetStatus>;
  publishView(regions: Readonly<Record<string, RegionView>>): void;
  beginPrimary(region: string): void;
  endPrimary(region: string): void;
  close(): Promise<void>;
}

type WriteRegionAnswer = { ok: true } | { ok: false; status: number; reason: string };

export class SharedHost {
  readonly state: SharedState;
  /** The member in this process (cluster primary), for the worker bookkeeping; null otherwise. */
  readonly member: FleetMember | null;
  private readonly fleet: MemberPort | null;
  private settled: boolean;
  private snap: Snapshot;
  /** The fleet's write key as last seen, and when this router first saw it (wall clock, epoch ms). */
  private keySeen: { key: WriteKey | null; at: number };

  constructor(private readonly o: SharedHostOptions) {
    this.snap = o.snap;
    const f = o.snap.fleet;
    if (f === null) {
      this.member = this.fleet = null;
      this.state = new LocalSharedState(o.clock);
      this.settled = true;
    } else {
      const w = o.snap.writes;
      const init = {
        config: f,
        policy: { ...w, failbackDelayMs: o.snap.health.failbackDelayMs },
        requestTimeoutMs: o.snap.timeouts.requestMs,
        version: meridianVersion(),
      };
      const sink = fleetSink(o.registry, o.logger);
      if (o.memberProcess) {
        this.member = null;
        this.fleet = new FleetChild({ init, sink, logger: o.logger, onFenced: o.onFenced });
      } else this.fleet = this.member = new FleetMember({ ...init, sink, onFenced: o.onFenced });
      this.state = this.fleet;
      this.settled = false;
    }
    this.state.onChange((s) => {
      this.noteWriteKey(s.writeRegion);
      this.applyDrains(s);
    });
    this.keySeen = { key: this.state.snapshot().writeRegion, at: o.clock.now() };
  }

  /** The request path's hooks into the member (in-flight accounting, the fence clock); null alone. */
  get hooks(): FleetHooks | null {
    const m = this.fleet;
    if (m === null) return null;
    return { fenceClock: monotonicClock, beginPrimary: (r) => m.beginPrimary(r), endPrimary: (r) => m.endPrimary(r) };
  }

  /**
   * Join the fleet: resolves once the fleet state was read, or after one lease without etcd (then
   * the router serves reads and refuses writes until it connects). Then agrees on the fleet's
   * read-your-writes key when the config names none; returns it (null: use the config's or none).
   */
  async start(candidateKey: string | null): Promise<string | null> {
    const m = this.fleet;
    if (m === null) return null;
    // A view from before every endpoint was probed shows regions down that are merely unprobed: the
    // first leader would create the write key on a lower-priority region. Join with a probed view.
    const deadline = Date.now() + 2 * this.snap.health.timeoutMs + this.snap.health.intervalMs;
    while (!this.o.health.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    this.publish(this.o.health.view());
    const { synced } = await m.start();
    this.settled = true;
    if (!synced)
      this.o.logger.warn(
        { event: 'fleet-disconnected', reason: 'no etcd at start' },
        'etcd not reachable at start: serving reads, refusing writes',
      );
    if (candidateKey === null) return null;
    try {
      return await m.ensureReadYourWritesKey(candidateKey);
    } catch (err) {
      this.o.logger.warn(
        { event: 'ryw-secret-generated', err: (err as Error).message },
        'could not agree on the fleet read-your-writes key: this router signs with its own until restarted',
      );
      return null;
    }
  }

  /** A new config (reload): drains of regions it adds are applied from the shared state. */
  configure(snap: Snapshot): void {
    this.snap = snap;
    this.applyDrains(this.state.snapshot());
  }

  snapshot(): SharedSnapshot {
    return this.state.snapshot();
  }

  /** Ready as far as the fleet goes: its state was read, or one lease passed without etcd. */
  ready(): boolean {
    return this.settled;
  }

  /** Publish this router's own view of each write candidate to the fleet (only what changed goes to etcd). */
  publishView(view: HealthView): void {
    if (this.o.health.ready()) this.publish(view);
  }

  private publish(view: HealthView): void {
    if (this.fleet === null) return;
    const regions: Record<string, RegionView> = {};
    for (const r of this.snap.regions) regions[r.name] = { up: view.isAvailable(r.name), lagMs: view.lagMs(r.name) };
    this.fleet.publishView(regions);
  }

  async drain(region: string, drained: boolean): Promise<boolean> {
    if (!this.snap.regionByName.has(region)) return false;
    await fleetCall(() => (drained ? this.state.drain(region) : this.state.undrain(region)));
    // the change listener has applied it (LocalSharedState synchronously; FleetMember once its mirror saw it)
    this.applyDrains(this.state.snapshot());
    return true;
  }

  /**
   * Set or ramp a region's dial (operator-dials.ts says how); null: no such region. A drain lifted
   * with a ramp starts the ramp from 0, where the drain left the region.
   */
  async dial(region: string, change: DialChange): Promise<DialAnswer | null> {
    if (!this.snap.regionByName.has(region)) return null;
    if (change.undrain) {
      const wasDrained = this.state.snapshot().drains.includes(region);
      await this.drain(region, false);
      if (wasDrained && change.overMs !== null) await fleetCall(() => this.state.setDial(region, 0));
    }
    const overMs = change.overMs;
    await fleetCall(() =>
      overMs === null ? this.state.setDial(region, change.percent) : this.state.evacuate(region, overMs, change.percent),
    );
    logDial(this.o.logger, region, change);
    const s = this.state.snapshot();
    return { region, drained: s.drains.includes(region), dial: dialJson(s.dials[region], this.o.clock.now()) };
  }

  /** In a fleet the write region is the fleet's: the admin call goes to etcd (null: not in a fleet). */
  async setWriteRegion(region: string): Promise<WriteRegionAnswer | null> {
    if (this.fleet === null) return null;
    if (!this.snap.regionByName.has(region)) return { ok: false, status: 404, reason: `no region named "${region}"` };
    if (!this.snap.writes.regions.includes(region))
      return { ok: false, status: 400, reason: `${region} is not in writes.regions (${this.snap.writes.regions.join(', ')})` };
    await fleetCall(() => this.state.setWriteRegion(region));
    this.o.logger.warn({ event: 'write-region-set', region }, `operator set the fleet's write region to ${region}`);
    return { ok: true };
  }

  /** GET /admin/fleet. */
  async status(): Promise<({ enabled: true } & FleetStatus) | { enabled: false }> {
    return this.fleet === null ? { enabled: false } : { enabled: true, ...(await this.fleet.status()) };
  }

  /**
   * GET /admin/state from the health store's answer: in a fleet, `writeRegion` is the fleet's agreed
   * `{region, epoch, state}` (where this router's primary requests go), not the choice this router's
   * own health store would make alone, which the fleet does not use. The policy fields and this
   * router's view of the candidates (what it publishes to the fleet) stay.
   */
  adminState(health: object): object {
    if (this.fleet === null) return health;
    const own = (health as { writeRegion?: object | null }).writeRegion ?? {};
    const s = this.state.snapshot();
    const key = s.writeRegion;
    const writeRegion = {
      ...own,
      region: key?.region ?? null,
      epoch: key?.epoch ?? null,
      state: key?.state ?? null,
      reason: key === null ? 'the fleet has no write region yet' : 'agreed by the fleet',
      operator: key !== null && s.manualWriteRegion === key.region,
      since: new Date(this.keySeen.at).toISOString(),
    };
    return { ...health, writeRegion };
  }

  close(): Promise<void> {
    return this.fleet?.close() ?? Promise.resolve();
  }

  private noteWriteKey(key: WriteKey | null): void {
    const was = this.keySeen.key;
    const same =
      was === key || (was !== null && key !== null && was.region === key.region && was.epoch === key.epoch && was.state === key.state);
    if (!same) this.keySeen = { key, at: this.o.clock.now() };
  }

  private applyDrains(s: SharedSnapshot): void {
    const drained = new Set(s.drains);
    for (const r of this.snap.regions) {
      if (drained.has(r.name)) this.o.health.drain(r.name);
      else this.o.health.undrain(r.name);
    }
  }
}

/** An operator action the store could not accept in time is the admin API's 503 fleet-unavailable. */
async function fleetCall(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof FleetUnavailableError) throw new ErrorAnswer('fleet-unavailable', err.message);
    throw err;
  }
}
