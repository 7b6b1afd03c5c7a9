// The fleet as read from etcd (the mirror's entries), in plain values: who is a member, who leads,
// what each member sees, the operator state and the write key. Pure: the mirror or a test supplies
// the entries.
import {
  KEYS,
  parseDial,
  parseLeader,
  parseManualRegion,
  parseMember,
  parseView,
  parseWriteKey,
  unsegment,
  type Dial,
  type HealthViewRecord,
  type MemberRecord,
  type WriteKey,
} from './records.js';

export interface StoredEntry {
  readonly value: Buffer;
  readonly modRevision: number;
  readonly createRevision: number;
  readonly lease: string;
}

export interface EntrySource {
  get(key: string): StoredEntry | undefined;
  under(sub: string): Iterable<[string, StoredEntry]>;
}

export interface FleetState {
  readonly members: ReadonlyMap<string, MemberRecord>;
  readonly views: ReadonlyMap<string, HealthViewRecord>;
  readonly leader: string | null;
  readonly writeKey: WriteKey | null;
  /** Mod revision of the write key (0 when absent): the compare of the next change. */
  readonly writeKeyRevision: number;
  readonly drains: readonly string[];
  readonly dials: Readonly<Record<string, Dial>>;
  readonly manualWriteRegion: string | null;
  readonly readYourWritesKey: string | null;
}

export function readFleetState(src: EntrySource): FleetState {
  const members = new Map<string, MemberRecord>();
  for (const [seg, e] of src.under(KEYS.members)) {
    const m = parseMember(e.value);
    // a record filed under another id is not trusted to speak for either
    if (m && unsegment(seg) === m.id) members.set(m.id, m);
  }
  const views = new Map<string, HealthViewRecord>();
  for (const [seg, e] of src.under(KEYS.views)) {
    const id = unsegment(seg);
    const v = parseView(e.value);
    if (id !== null && v) views.set(id, v);
  }
  const drains: string[] = [];
  for (const [seg] of src.under(KEYS.drains)) {
    const r = unsegment(seg);
    if (r !== null) drains.push(r);
  }
  const dials: Record<string, Dial> = {};
  for (const [seg, e] of src.under(KEYS.dials)) {
    const r = unsegment(seg);
    const d = parseDial(e.value);
    if (r !== null && d) dials[r] = d;
  }
  const wk = src.get(KEYS.writeRegion);
  const leader = src.get(KEYS.leader);
  const manual = src.get(KEYS.manualWriteRegion);
  const ryw = src.get(KEYS.readYourWritesKey);
  return {
    members,
    views,
    leader: leader ? parseLeader(leader.value) : null,
    writeKey: wk ? parseWriteKey(wk.value) : null,
    writeKeyRevision: wk?.modRevision ?? 0,
    drains: drains.sort(),
    dials,
    manualWriteRegion: manual ? parseManualRegion(manual.value) : null,
    readYourWritesKey: ryw && ryw.value.length > 0 ? ryw.value.toString('utf8') : null,
  };
}
