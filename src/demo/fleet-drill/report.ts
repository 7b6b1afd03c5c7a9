// What the fleet drill measured, computed after the run from three records that share one clock: the
// answers the clients got, the writes each backend applied (id, epoch, region, time), and the routers'
// fleet log events. Pure: records in, figures out.
import type { Sent } from './load.js';
import type { RouterEvent } from './router-proc.js';
import type { AppliedWrite } from './world.js';

export interface PhaseWindow {
  readonly name: string;
  readonly title: string;
  /** What the drill did in this phase, in words. */
  readonly did: string;
  readonly start: number;
  readonly end: number;
}

interface Handover {
  readonly epoch: number;
  readonly from: string | null;
  readonly to: string | null;
  /** From write-handover-start to write-handover-done; null when the done line was not seen. */
  readonly ms: number | null;
  /** `leader log`: both lines from the router that was the leader; else the earliest line of each kind across routers. */
  readonly source: 'leader log' | 'router logs';
}

/** A region's writes under one epoch: from its first to its last accept. */
export interface Span {
  readonly region: string;
  readonly epoch: number;
  readonly first: number;
  readonly last: number;
  readonly writes: number;
}

export interface Figures {
  readonly name: string;
  readonly title: string;
  readonly did: string;
  readonly seconds: number;
  readonly writes: { sent: number; ok: number; unavailable: number; other: number; byAnswer: Record<string, number> };
  /** region → epoch → writes that region applied (writes sent in this phase). */
  readonly acceptedPerEpoch: Record<string, Record<string, number>>;
  /** Time during which two different regions each had an open span (see Span). */
  readonly overlapMs: number;
  /** Writes a region applied at an instant inside another region's span (endpoints included). */
  readonly overlapWrites: number;
  /** Ids the client got a 2xx for that no backend applied. */
  readonly lost: number;
  /** Writes the client saw fail (not 2xx, or no answer) that a backend applied all the same: not lost, but ambiguous to the client. */
  readonly failedButApplied: number;
  /** Ids applied more than once, across all backends. */
  readonly appliedTwice: number;
  readonly handovers: readonly Handover[];
  readonly reads: { sent: number; failed: number; byAnswer: Record<string, number> };
}

export interface FleetDrillReport {
  readonly phases: readonly Figures[];
  readonly total: Figures;
  readonly spans: readonly Span[];
  /** Each figure that must be zero and is not, in words; empty when the drill passed. */
  readonly failures: readonly string[];
  readonly pass: boolean;
}

/** Group applied writes into spans: one per (region, epoch). */
export function spansOf(applied: readonly AppliedWrite[]): Span[] {
  const by = new Map<string, { region: string; epoch: number; first: number; last: number; writes: number }>();
  for (const w of applied) {
    const k = `${w.region}\u0000${w.epoch}`;
    const s = by.get(k);
    if (!s) by.set(k, { region: w.region, epoch: w.epoch, first: w.at, last: w.at, writes: 1 });
    else {
      s.first = Math.min(s.first, w.at);
      s.last = Math.max(s.last, w.at);
      s.writes++;
    }
  }
  return [...by.values()].sort((a, b) => a.first - b.first);
}

/** The intervals during which spans of at least two different regions are open at once. */
export function overlapIntervals(spans: readonly Span[]): [number, number][] {
  const edges = spans.flatMap((s) => [
    { t: s.first, region: s.region, d: 1 },
    { t: s.last, region: s.region, d: -1 },
  ]);
  // at one instant, openings before closings: spans that touch count as overlapping (for a zero length)
  edges.sort((a, b) => a.t - b.t || b.d - a.d);
  const open = new Map<string, number>();
  const out: [number, number][] = [];
  let since: number | null = null;
  for (const e of edges) {
    open.set(e.region, (open.get(e.region) ?? 0) + e.d);
    const regions = [...open.values()].filter((n) => n > 0).length;
    if (regions >= 2 && since === null) since = e.t;
    if (regions < 2 && since !== null) {
      out.push([since, e.t]);
      since = null;
    }
  }
  return out;
}

/** Writes applied inside (endpoints included) a span of another region. */
function overlapWrites(applied: readonly AppliedWrite[], spans: readonly Span[]): AppliedWrite[] {
  return applied.filter((w) => spans.some((s) => s.region !== w.region && s.first <= w.at && w.at <= s.last));
}

/** Every handover (an epoch whose start line some router logged), timed from the routers' own lines. */
function handovers(events: readonly RouterEvent[]): (Handover & { at: number })[] {
  const starts = events.filter((e) => e.event === 'write-handover-start' && e.epoch !== null);
  const dones = events.filter((e) => e.event === 'write-handover-done' && e.epoch !== null);
  const epochs = [...new Set(starts.map((e) => e.epoch!))].sort((a, b) => a - b);
  const earliest = (list: readonly RouterEvent[]): RouterEvent | undefined =>
    list.reduce<RouterEvent | undefined>((m, e) => (!m || e.time < m.time ? e : m), undefined);
  return epochs.map((epoch) => {
    const start = earliest(starts.filter((e) => e.epoch === epoch))!;
    const from = typeof start.line.from === 'string' ? start.line.from : null;
    const to = typeof start.line.to === 'string' ? start.line.to : null;
    const leaderDone = earliest(dones.filter((e) => e.epoch === epoch && e.byLeader));
    const leaderStart = leaderDone && starts.find((e) => e.epoch === epoch && e.router === leaderDone.router && e.time <= leaderDone.time);
    if (leaderDone && leaderStart)
      return { epoch, from, to, at: leaderStart.time, ms: leaderDone.time - leaderStart.time, source: 'leader log' as const };
    const done = earliest(dones.filter((e) => e.epoch === epoch && e.time >= start.time));
    return { epoch, from, to, at: start.time, ms: done ? done.time - start.time : null, source: 'router logs' as const };
  });
}

const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);

/** The figures for the writes, reads, applies and handovers that belong to one window. */
function figures(
  w: PhaseWindow,
  sent: readonly Sent[],
  applied: readonly AppliedWrite[],
  overlaps: readonly [number, number][],
  overlapping: readonly AppliedWrite[],
  hand: readonly (Handover & { at: number })[],
): Figures {
  const writes = { sent: 0, ok: 0, unavailable: 0, other: 0, byAnswer: {} as Record<string, number> };
  const reads = { sent: 0, failed: 0, byAnswer: {} as Record<string, number> };
  for (const s of sent) {
    const answer = s.status === 0 ? `connection ${s.detail}` : `${s.status} ${s.detail}`;
    if (s.kind === 'read') {
      reads.sent++;
      if (s.status < 200 || s.status >= 300) {
        reads.failed++;
        bump(reads.byAnswer, answer);
      }
      continue;
    }
    writes.sent++;
    bump(writes.byAnswer, answer);
    if (s.status >= 200 && s.status < 300) writes.ok++;
    else if (s.status === 503) writes.unavailable++;
    else writes.other++;
  }
  const times = new Map<string, number>();
  const acceptedPerEpoch: Record<string, Record<string, number>> = {};
  for (const a of applied) {
    if (a.id !== null) times.set(a.id, (times.get(a.id) ?? 0) + 1);
    bump((acceptedPerEpoch[a.region] ??= {}), String(a.epoch));
  }
  const ok = (s: Sent): boolean => s.status >= 200 && s.status < 300;
  const lost = sent.filter((s) => s.kind === 'write' && ok(s) && !times.has(s.id)).length;
  const failedButApplied = sent.filter((s) => s.kind === 'write' && !ok(s) && times.has(s.id)).length;
  const overlapMs = overlaps.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, w.end) - Math.max(a, w.start)), 0);
  return {
    name: w.name,
    title: w.title,
    did: w.did,
    seconds: (w.end - w.start) / 1000,
    writes,
    acceptedPerEpoch,
    overlapMs,
    overlapWrites: overlapping.length,
    lost,
    failedButApplied,
    appliedTwice: [...times.values()].filter((n) => n > 1).length,
    handovers: hand.map(({ at: _at, ...h }) => h),
    reads,
  };
}

export function analyse(
  windows: readonly PhaseWindow[],
  sent: readonly Sent[],
  applied: readonly AppliedWrite[],
  events: readonly RouterEvent[],
): FleetDrillReport {
  const spans = spansOf(applied);
  const overlaps = overlapIntervals(spans);
  const overlapping = overlapWrites(applied, spans);
  const hand = handovers(events);
  // a write belongs to the phase in which the client sent it; an apply with no known sender, to the phase it happened in
  const startOf = new Map(sent.map((s) => [s.id, s.start]));
  const inW = (w: PhaseWindow, t: number): boolean => t >= w.start && t < w.end;
  const phases = windows.map((w) =>
    figures(
      w,
      sent.filter((s) => inW(w, s.start)),
      applied.filter((a) => inW(w, (a.id !== null ? startOf.get(a.id) : undefined) ?? a.at)),
      overlaps,
      overlapping.filter((a) => inW(w, a.at)),
      hand.filter((h) => inW(w, h.at)),
    ),
  );
  const all: PhaseWindow = { name: 'total', title: 'the whole drill', did: '', start: windows[0]!.start, end: windows.at(-1)!.end };
  const total = figures(all, sent, applied, overlaps, overlapping, hand);
  const failures: string[] = [];
  const zero = (n: number, what: string): void => void (n !== 0 && failures.push(`${what}: ${n}`));
  zero(total.overlapMs, 'overlap (ms)');
  zero(total.overlapWrites, 'writes applied while another region took writes');
  zero(total.lost, 'writes lost');
  zero(total.appliedTwice, 'writes applied twice');
  zero(total.reads.failed, 'reads failed');
  return { phases, total, spans, failures, pass: failures.length === 0 };
}
