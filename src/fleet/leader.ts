// The leader's duties, run by every member and acted on only by the one holding the leader key:
// campaign when nobody leads, create the write key, decide failover and failback from the fleet's
// views (decision.ts), and complete handovers once every live member has acknowledged (handover.ts).
// Leadership is a key bound to the member's lease, created by a transaction that requires it to be
// absent; every write the leader makes compares that key's create revision, so a leader whose lease
// expired (or a decision made on a stale read) changes nothing.
import type { Clock } from '../clock.js';
import type { Quorum } from './config.js';
import { decideWriteRegion, emptyMemory, type FleetView, type LeaderMemory, type WritePolicy } from './decision.js';
import type { FleetState, StoredEntry } from './fleet-state.js';
import { activationReady, nextWriteKey } from './handover.js';
import type { FleetOps } from './ops.js';
import type { WriteKey } from './records.js';
import type { FleetSink } from './sink.js';

export interface LeaderInputs {
  readonly id: string;
  /** This member's current lease (null while it has none). */
  readonly lease: string | null;
  readonly fleet: FleetState;
  /** The leader key as mirrored (its lease and create revision identify the holder). */
  readonly leaderEntry: StoredEntry | undefined;
}

export interface LeaderOptions {
  readonly policy: WritePolicy;
  readonly quorum: Quorum;
  readonly clock: Clock;
  readonly sink: FleetSink;
  /** Deadline of each etcd call, ms. */
  readonly callMs: number;
  /** Tells the member why the key it is about to see changed (for its write-handover-start event). */
  readonly announce: (epoch: number, why: string) => void;
}

export class LeaderDuty {
  private memory: LeaderMemory = emptyMemory();
  private busy = false;
  private again = false;
  /** Handover epoch → when this leader first saw it (for meridian_write_handover_seconds). */
  private readonly handoverSeen = new Map<number, number>();

  constructor(
    private readonly ops: FleetOps,
    private readonly o: LeaderOptions,
  ) {}

  /** The create revision of the leader key when this member holds it, else null. */
  static heldRevision(inp: LeaderInputs): number | null {
    const e = inp.leaderEntry;
    return e && inp.lease !== null && e.lease === inp.lease && inp.fleet.leader === inp.id ? e.createRevision : null;
  }

  /** One round of duties; a call while a round runs schedules one more round after it. */
  async step(read: () => LeaderInputs): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.round(read());
      } while (this.again);
    } catch {
      // etcd unreachable or too slow: the next tick tries again with a fresh read
    } finally {
      this.busy = false;
    }
  }

  private async round(inp: LeaderInputs): Promise<void> {
    if (inp.lease === null) return;
    if (inp.fleet.leader === null && inp.leaderEntry === undefined) {
      await this.ops.campaign(inp.lease, inp.id, this.o.callMs);
      return; // the mirror shows the outcome and triggers the next round
    }
    const held = LeaderDuty.heldRevision(inp);
    if (held === null) {
      this.memory = emptyMemory();
      this.handoverSeen.clear();
      return;
    }
    const f = inp.fleet;
    const key = f.writeKey;
    if (key?.state === 'handover' && (await this.tryActivate(key, f.writeKeyRevision, held))) return;

    const view: FleetView = {
      liveMembers: f.members.size,
      views: [...f.views].filter(([id]) => f.members.has(id)).map(([, v]) => v),
    };
    const now = this.o.clock.now();
    const { decision, memory } = decideWriteRegion(this.o.policy, this.o.quorum, view, key, this.memory, now);
    this.memory = memory;
    if (decision.kind === 'keep') return;
    const next = nextWriteKey(key, decision.region);
    if (next === null) return;
    this.o.announce(next.epoch, decision.why);
    const rev = await this.ops.casWriteKey(f.writeKeyRevision, next, held, [], this.o.callMs);
    if (rev !== null && next.state === 'handover') this.handoverSeen.set(next.epoch, now);
  }

  /** True when the key was activated (nothing else to decide this round). */
  private async tryActivate(key: WriteKey, keyRev: number, held: number): Promise<boolean> {
    const now = this.o.clock.now();
    if (!this.handoverSeen.has(key.epoch)) this.handoverSeen.set(key.epoch, now);
    const read = await this.ops.handoverRead(key, keyRev, this.o.callMs);
    if (read === null || !activationReady(key, read.members, read.acks)) return false;
    const active: WriteKey = { ...key, state: 'active' };
    const rev = await this.ops.casWriteKey(keyRev, active, held, [this.ops.clearAcks()], this.o.callMs);
    if (rev === null) return false;
    const started = this.handoverSeen.get(key.epoch) ?? now;
    this.handoverSeen.clear();
    this.o.sink.handoverSeconds(Math.max(0, this.o.clock.now() - started) / 1000);
    return true;
  }
}
