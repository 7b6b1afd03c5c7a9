// Operator actions against etcd. Each resolves only after etcd accepted the change, and fails with
// FleetUnavailableError within 2 s when it cannot be accepted (the admin layer answers 503
// fleet-unavailable). A timed-out change may still have been applied: like any timeout, a 503 here
// means "not confirmed", and the operator can read the state back or repeat the (idempotent) action.
import type { Clock } from '../clock.js';
import type { FleetOps } from './ops.js';
import type { Dial } from './records.js';
import { evacuationDial, FleetUnavailableError, validPercent, type SharedStateActions } from './shared-state.js';

/** Below the 2 s promise, leaving room for the admin layer to answer. */
const OPERATOR_DEADLINE_MS = 1800;

export interface OperatorDeps {
  readonly ops: FleetOps;
  /** Wall clock: drain times and ramp start times are stored and read by other routers. */
  readonly wallClock: Clock;
  /** writes.regions: the only regions an operator may make the write region. */
  readonly writeRegions: readonly string[];
  readonly currentDial: (region: string) => Dial | undefined;
  /** Tells the member why the write key is about to change (for its write-handover-start event). */
  readonly announce: (epoch: number, why: string) => void;
  /** Resolves once this member's copy of the state includes `revision` (bounded). */
  readonly caughtUpTo: (revision: number) => Promise<void>;
}

export class EtcdOperatorActions implements SharedStateActions {
  constructor(private readonly d: OperatorDeps) {}

  drain(region: string): Promise<void> {
    return this.run(`drain ${region}`, (ms) => this.d.ops.drain(region, this.d.wallClock.now(), ms));
  }

  undrain(region: string): Promise<void> {
    return this.run(`undrain ${region}`, (ms) => this.d.ops.undrain(region, ms));
  }

  setDial(region: string, percent: number): Promise<void> {
    if (!validPercent(percent)) return Promise.reject(new RangeError(`dial percent must be an integer 0-100, got ${percent}`));
    const dial: Dial | null = percent === 100 ? null : { percent, ramp: null };
    return this.run(`dial ${region}`, (ms) => this.d.ops.setDial(region, dial, ms));
  }

  evacuate(region: string, overMs: number, to = 0): Promise<void> {
    if (!validPercent(to)) return Promise.reject(new RangeError(`dial percent must be an integer 0-100, got ${to}`));
    const dial = evacuationDial(this.d.currentDial(region), overMs, this.d.wallClock.now(), to);
    return this.run(`evacuate ${region}`, (ms) => this.d.ops.setDial(region, dial, ms));
  }

  setWriteRegion(region: string): Promise<void> {
    if (!this.d.writeRegions.includes(region)) {
      return Promise.reject(new RangeError(`not a write candidate (writes.regions: ${this.d.writeRegions.join(', ')})`));
    }
    return this.run(`write region ${region}`, (ms) =>
      this.d.ops.setWriteRegion(region, this.d.wallClock.now(), Date.now() + ms, (epoch) => this.d.announce(epoch, 'operator')),
    );
  }

  async ensureReadYourWritesKey(candidate: string): Promise<string> {
    let agreed = candidate;
    await this.run('read-your-writes key', async (ms) => {
      const r = await this.d.ops.ensureReadYourWritesKey(candidate, ms);
      agreed = r.key;
      return r.revision;
    });
    return agreed;
  }

  private async run(what: string, fn: (ms: number) => Promise<number>): Promise<void> {
    const started = Date.now();
    let revision: number;
    try {
      revision = await withTimeout(fn(OPERATOR_DEADLINE_MS), OPERATOR_DEADLINE_MS);
    } catch (e) {
      throw new FleetUnavailableError(`${what}: etcd did not accept the change (${(e as Error).message})`);
    }
    await withTimeout(this.d.caughtUpTo(revision), Math.max(0, OPERATOR_DEADLINE_MS - (Date.now() - started))).catch(() => undefined);
  }
}

/** grpc deadlines bound each call; this bounds the whole action, retries included. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
