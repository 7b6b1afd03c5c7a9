// What the fleet keeps in etcd, under the fleet prefix, and how each value is read back. Values are
// JSON. Anything that does not parse into the expected shape is treated as absent: another version
// of Meridian or an operator with etcdctl may have written it, and a router must not crash on it.
//
//   write-region            {"region", "epoch", "state": "active"|"handover"}   changed only by txn (CAS)
//   leader                  {"id"}                                 bound to the leader's lease
//   members/<id>            {"id", "site", "version", "startedAt"}  bound to the member's lease
//   views/<id>              {"at", "regions": {<name>: {"up", "lagMs"}}}  bound to the member's lease
//   acks/<epoch>/<id>       {"at"}                                  bound to the member's lease
//   drains/<region>         {"at"}
//   dials/<region>          {"percent", "ramp": null | {"from", "to", "startedAt", "overMs"}}
//   manual-write-region     {"region", "at"}
//   read-your-writes-key    the key itself (base64url), created once

export const KEYS = {
  writeRegion: 'write-region',
  leader: 'leader',
  manualWriteRegion: 'manual-write-region',
  readYourWritesKey: 'read-your-writes-key',
  members: 'members/',
  views: 'views/',
  acks: 'acks/',
  drains: 'drains/',
  dials: 'dials/',
} as const;

type WriteState = 'active' | 'handover';

export interface WriteKey {
  readonly region: string;
  /** Starts at 1, +1 on every change of region; the fencing token sent to the data tier. */
  readonly epoch: number;
  readonly state: WriteState;
}

export interface MemberRecord {
  readonly id: string;
  readonly site: string | null;
  readonly version: string;
  /** Epoch ms when the router process started. */
  readonly startedAt: number;
}

export interface RegionView {
  /** The router's own probes say the region is available. */
  readonly up: boolean;
  /** Last replication lag the region reported to this router, ms; null when never reported. */
  readonly lagMs: number | null;
}

export interface HealthViewRecord {
  readonly at: number;
  readonly regions: Readonly<Record<string, RegionView>>;
}

interface DialRamp {
  readonly from: number;
  readonly to: number;
  /** Epoch ms (wall clock of the router that started it). */
  readonly startedAt: number;
  readonly overMs: number;
}

export interface Dial {
  /** The share (0-100) of the traffic preferring the region that stays there, once any ramp is over. */
  readonly percent: number;
  readonly ramp: DialRamp | null;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { readonly [k: string]: Json | undefined };

function parseObject(raw: string | Buffer): Obj | null {
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPercent = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 100;

export function encode(
  v: WriteKey | MemberRecord | HealthViewRecord | Dial | { at: number } | { region: string; at: number } | { id: string },
): string {
  return JSON.stringify(v);
}

export function parseWriteKey(raw: string | Buffer): WriteKey | null {
  const o = parseObject(raw);
  if (!o || !isName(o.region)) return null;
  const epoch = o.epoch;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) return null;
  if (o.state !== 'active' && o.state !== 'handover') return null;
  return { region: o.region, epoch, state: o.state };
}

export function parseLeader(raw: string | Buffer): string | null {
  const o = parseObject(raw);
  return o && isName(o.id) ? o.id : null;
}

export function parseMember(raw: string | Buffer): MemberRecord | null {
  const o = parseObject(raw);
  if (!o || !isName(o.id) || !isTime(o.startedAt)) return null;
  return {
    id: o.id,
    site: isName(o.site) ? o.site : null,
    version: typeof o.version === 'string' ? o.version : '',
    startedAt: o.startedAt,
  };
}

export function parseView(raw: string | Buffer): HealthViewRecord | null {
  const o = parseObject(raw);
  if (!o || !isTime(o.at)) return null;
  const regs = o.regions;
  if (typeof regs !== 'object' || regs === null || Array.isArray(regs)) return null;
  const regions: Record<string, RegionView> = {};
  for (const [name, v] of Object.entries(regs)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v.up !== 'boolean') continue;
    const lag = v.lagMs;
    regions[name] = { up: v.up, lagMs: typeof lag === 'number' && Number.isFinite(lag) && lag >= 0 ? lag : null };
  }
  return { at: o.at, regions };
}

export function parseDial(raw: string | Buffer): Dial | null {
  const o = parseObject(raw);
  if (!o || !isPercent(o.percent)) return null;
  const r = o.ramp;
  if (r === null || r === undefined) return { percent: o.percent, ramp: null };
  if (typeof r !== 'object' || Array.isArray(r)) return null;
  if (!isPercent(r.from) || !isPercent(r.to) || !isTime(r.startedAt) || !isTime(r.overMs)) return null;
  return { percent: o.percent, ramp: { from: r.from, to: r.to, startedAt: r.startedAt, overMs: r.overMs } };
}

export function parseManualRegion(raw: string | Buffer): string | null {
  const o = parseObject(raw);
  return o && isName(o.region) ? o.region : null;
}

/** A region name or member id as one key segment (region names come from config and are short). */
export function segment(name: string): string {
  return encodeURIComponent(name);
}

export function unsegment(seg: string): string | null {
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}
