// Every write the fleet makes to etcd, each one call (a put or a transaction) with a deadline. The
// write key is only ever changed by a transaction that compares its previous mod revision, and the
// leader's changes also compare the leader key's create revision: a leader that lost its lease, or a
// decision made on a stale read, changes nothing.
import type { Etcd3, ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import { deadline, num, prefixEnd } from './etcd-client.js';
import { nextWriteKey } from './handover.js';
import {
  encode,
  KEYS,
  parseWriteKey,
  segment,
  unsegment,
  type Dial,
  type HealthViewRecord,
  type MemberRecord,
  type WriteKey,
} from './records.js';

export class FleetOps {
  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
  ) {}

  private key(rel: string): Buffer {
    return Buffer.from(this.prefix + rel);
  }

  private put(rel: string, value: string, lease?: string): IRequestOp {
    return { request_put: { key: this.key(rel), value: Buffer.from(value), ...(lease !== undefined ? { lease } : {}) } };
  }

  private modIs(rel: string, rev: number): ICompare {
    return { key: this.key(rel), target: 'Mod', result: 'Equal', mod_revision: rev };
  }

  private createIs(rel: string, rev: number): ICompare {
    return { key: this.key(rel), target: 'Create', result: 'Equal', create_revision: rev };
  }

  private txn(compare: ICompare[], success: IRequestOp[], failure: IRequestOp[], ms: number): Promise<ITxnResponse> {
    return this.client.kv.txn({ compare, success, failure }, deadline(ms));
  }

  /** Membership and health view, bound to the lease (they vanish with it). */
  async register(lease: string, member: MemberRecord, view: HealthViewRecord | null, ms: number): Promise<void> {
    const ops = [this.put(KEYS.members + segment(member.id), encode(member), lease)];
    if (view) ops.push(this.put(KEYS.views + segment(member.id), encode(view), lease));
    await this.txn([], ops, [], ms);
  }

  async putView(lease: string, id: string, view: HealthViewRecord, ms: number): Promise<void> {
    await this.client.kv.put({ key: this.key(KEYS.views + segment(id)), value: Buffer.from(encode(view)), lease }, deadline(ms));
  }

  async ack(lease: string, id: string, epoch: number, at: number, ms: number): Promise<void> {
    await this.client.kv.put(
      { key: this.key(`${KEYS.acks}${epoch}/${segment(id)}`), value: Buffer.from(encode({ at })), lease },
      deadline(ms),
    );
  }

  /** Become leader if nobody is: the create revision of the leader key when won, else null. */
  async campaign(lease: string, id: string, ms: number): Promise<number | null> {
    const res = await this.txn([this.createIs(KEYS.leader, 0)], [this.put(KEYS.leader, encode({ id }), lease)], [], ms);
    return res.succeeded ? num(res.header.revision) : null;
  }

  /**
   * Replace the write key if it is still at `expectedRev` (0: absent) and, with `leaderRev`, this member
   * still holds the leader key it created at that revision. The new key's revision, or null.
   */
  async casWriteKey(
    expectedRev: number,
    next: WriteKey,
    leaderRev: number | null,
    extra: IRequestOp[],
    ms: number,
  ): Promise<number | null> {
    const compare = [this.modIs(KEYS.writeRegion, expectedRev)];
    if (leaderRev !== null) compare.push(this.createIs(KEYS.leader, leaderRev));
    const res = await this.txn(compare, [this.put(KEYS.writeRegion, encode(next)), ...extra], [], ms);
    return res.succeeded ? num(res.header.revision) : null;
  }

  /** Drop every acknowledgement (done when a handover completes; they are bound to leases otherwise). */
  clearAcks(): IRequestOp {
    const k = this.key(KEYS.acks);
    return { request_delete_range: { key: k, range_end: prefixEnd(k) } };
  }

  /**
   * One consistent read of the live members and of the acknowledgements of `key.epoch`, taken only if
   * the write key is still at `keyRev`; null when it moved on.
   */
  async handoverRead(key: WriteKey, keyRev: number, ms: number): Promise<{ members: string[]; acks: Set<string> } | null> {
    const range = (rel: string): IRequestOp => {
      const k = this.key(rel);
      return { request_range: { key: k, range_end: prefixEnd(k) } };
    };
    const ackDir = `${KEYS.acks}${key.epoch}/`;
    const res = await this.txn([this.modIs(KEYS.writeRegion, keyRev)], [range(KEYS.members), range(ackDir)], [], ms);
    if (!res.succeeded) return null;
    // Every leased key under members/ is a live member, whatever its value says: waiting for one
    // member too many only delays a handover, counting one too few could overlap writes.
    const ids = (i: number, dir: string): string[] =>
      (res.responses[i]?.response_range.kvs ?? [])
        .filter((kv) => num(kv.lease) !== 0)
        .map((kv) => unsegment(kv.key.toString('utf8').slice(this.prefix.length + dir.length)))
        .filter((id): id is string => id !== null);
    return { members: ids(0, KEYS.members), acks: new Set(ids(1, ackDir)) };
  }

  /** Operator state: the store revision that holds the change. */
  async drain(region: string, at: number, ms: number): Promise<number> {
    const res = await this.client.kv.put(
      { key: this.key(KEYS.drains + segment(region)), value: Buffer.from(encode({ at })) },
      deadline(ms),
    );
    return num(res.header.revision);
  }

  async undrain(region: string, ms: number): Promise<number> {
    const res = await this.client.kv.deleteRange({ key: this.key(KEYS.drains + segment(region)) }, deadline(ms));
    return num(res.header.revision);
  }

  async setDial(region: string, dial: Dial | null, ms: number): Promise<number> {
    const key = this.key(KEYS.dials + segment(region));
    const res =
      dial === null
        ? await this.client.kv.deleteRange({ key }, deadline(ms))
        : await this.client.kv.put({ key, value: Buffer.from(encode(dial)) }, deadline(ms));
    return num(res.header.revision);
  }

  /**
   * An operator's write region: compare-and-swap against the key as read now, retried on a lost race
   * until `until` (epoch ms). The manual choice is recorded in the same transaction. Returns the
   * revision that holds the change.
   */
  async setWriteRegion(region: string, at: number, until: number, announce: (epoch: number) => void): Promise<number> {
    for (;;) {
      const ms = until - Date.now();
      if (ms <= 0) throw new Error('write region change not accepted in time');
      const cur = await this.client.kv.range({ key: this.key(KEYS.writeRegion) }, deadline(ms));
      const kv = cur.kvs[0];
      const current = kv ? parseWriteKey(kv.value) : null;
      const next = nextWriteKey(current, region);
      const manual = this.put(KEYS.manualWriteRegion, encode({ region, at }));
      if (next === null) {
        const res = await this.txn([], [manual], [], ms);
        return num(res.header.revision);
      }
      announce(next.epoch);
      const rev = await this.casWriteKey(kv ? num(kv.mod_revision) : 0, next, null, [manual], ms);
      if (rev !== null) return rev;
    }
  }

  /** Create-if-absent; returns the key that is stored afterwards. */
  async ensureReadYourWritesKey(candidate: string, ms: number): Promise<{ key: string; revision: number }> {
    const k = this.key(KEYS.readYourWritesKey);
    const res = await this.txn(
      [this.createIs(KEYS.readYourWritesKey, 0)],
      [this.put(KEYS.readYourWritesKey, candidate)],
      [{ request_range: { key: k } }],
      ms,
    );
    const revision = num(res.header.revision);
    if (res.succeeded) return { key: candidate, revision };
    const stored = res.responses[0]?.response_range.kvs[0]?.value.toString('utf8');
    return { key: stored !== undefined && stored.length > 0 ? stored : candidate, revision };
  }
}
