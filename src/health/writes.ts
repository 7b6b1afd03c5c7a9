// The global write region. No clock, no I/O: the store calls evaluate() whenever region
// availability may have changed and passes the facts in.
//
// Rules:
// - initial: the first region of writes.regions that is available. A higher-priority region whose
//   endpoints have not all been probed yet is waited for (null, "waiting for first probes"), so a
//   fast probe answer from a lower-priority region cannot win the start-up race.
// - the write region becomes unavailable:
//     failover automatic → the available candidate with the lowest reported lag ≤ maxLagMs, ties
//       broken by writes.regions order. UNKNOWN LAG (never reported) qualifies only when
//       cfg.allowUnknownLag, and then ranks after every known lag. None qualifies → null (writes 503).
//     failover manual → null until an operator calls set(), or until the lost region itself is
//       available again (writes resume where they were: that is not a move).
// - failback automatic: writes move back to a higher-priority region that RECOVERED — was seen
//   unavailable since the current write region was chosen and is available again (availability
//   already includes the failback delay) — once its lag qualifies as above. Only recovered regions
//   count, so a failover that picked a low-lag, lower-priority region is not undone by a healthy
//   middle-priority region, and an operator's planned move sticks until a higher region recovers.
//   failback manual: writes stay until an operator acts.
// - set(region) by an operator: any configured region that is available (lag is not checked: the
//   operator overrides); errors 'unknown region' / 'region unavailable'.

import type { WritesConfig } from '../types.js';

export interface WriteInputs {
  isAvailable(region: string): boolean;
  /** Last reported replication lag in ms, or null when never reported. */
  lagMs(region: string): number | null;
  /** Every endpoint of the region has been probed at least once. */
  probed(region: string): boolean;
  /** The region exists in the current snapshot. */
  exists(region: string): boolean;
}

export interface WriteRegionStatus {
  readonly region: string | null;
  readonly reason: string;
  /** Chosen by an operator through set(). */
  readonly manual: boolean;
  /** Epoch ms of the last change. */
  readonly since: number;
}

export interface WriteRegionChange {
  readonly from: string | null;
  readonly to: string | null;
  readonly reason: string;
}

export interface WriteCandidate {
  readonly region: string;
  readonly available: boolean;
  readonly lagMs: number | null;
  /** Available and lag within limits: may take writes on automatic failover / failback. */
  readonly qualifies: boolean;
}

export type SetResult = { readonly ok: true; readonly change: WriteRegionChange | null } | { readonly ok: false; readonly reason: string };

function formatLag(ms: number | null): string {
  if (ms === null) return 'lag unknown';
  return `lag ${Number((ms / 1000).toFixed(3))}s`;
}

export class WriteRegionManager {
  private cur: WriteRegionStatus;
  private initialized: boolean;
  /** The region writes were on when it became unavailable (resumed on recovery). */
  private lost: string | null = null;
  /** Regions seen unavailable since the current write region was chosen (failback targets). */
  private wentDown = new Set<string>();

  /** `keep` carries the status across a config reload; it is kept if its region is still valid. */
  constructor(
    private readonly cfg: WritesConfig,
    now: number,
    keep?: { status: WriteRegionStatus; exists: (r: string) => boolean },
  ) {
    const k = keep?.status;
    if (cfg.regions.length === 0) {
      this.cur = { region: null, reason: 'no write regions configured', manual: false, since: now };
      this.initialized = true;
    } else if (k && k.region !== null && keep.exists(k.region) && (k.manual || cfg.regions.includes(k.region))) {
      this.cur = k;
      this.initialized = true;
    } else {
      this.cur = { region: null, reason: 'waiting for first probes', manual: false, since: now };
      this.initialized = false;
    }
  }

  get status(): WriteRegionStatus {
    return this.cur;
  }

  get config(): WritesConfig {
    return this.cfg;
  }

  candidates(inp: WriteInputs): WriteCandidate[] {
    return this.cfg.regions.map((region) => {
      const available = inp.exists(region) && inp.isAvailable(region);
      const lagMs = inp.exists(region) ? inp.lagMs(region) : null;
      return { region, available, lagMs, qualifies: available && this.lagOk(lagMs) };
    });
  }

  /** Re-evaluate after availability may have changed. Returns the change, or null. */
  evaluate(inp: WriteInputs, now: number): WriteRegionChange | null {
    const avail = (r: string): boolean => inp.exists(r) && inp.isAvailable(r);
    if (this.cfg.regions.length === 0) return null;
    for (const r of this.cfg.regions) if (!avail(r)) this.wentDown.add(r);
    const change = (to: string | null, reason: string): WriteRegionChange | null => this.change(to, reason, false, now, inp);

    if (!this.initialized) {
      for (const r of this.cfg.regions) {
        if (avail(r)) {
          this.initialized = true;
          return change(r, 'initial');
        }
        if (inp.exists(r) && !inp.probed(r)) return null;
      }
      return change(null, 'no write region available');
    }

    const cur = this.cur.region;
    if (cur !== null && !avail(cur)) {
      this.lost = cur;
      if (this.cfg.failover === 'manual') {
        return change(null, `failover: ${cur} unavailable, waiting for operator (failover: manual)`);
      }
      const best = this.pickFailover(inp, cur);
      if (best === null) return change(null, `failover: ${cur} unavailable, no candidate within maxLag`);
      return change(best, `failover: ${cur} unavailable, ${best} ${formatLag(inp.lagMs(best))}`);
    }

    if (cur === null) {
      const lost = this.lost;
      if (lost !== null && avail(lost) && (this.cfg.failover === 'manual' || this.lagOk(inp.lagMs(lost)))) {
        return change(lost, `${lost} recovered`);
      }
      if (this.cfg.failover === 'automatic') {
        const best = this.pickFailover(inp, null);
        if (best !== null) return change(best, `failover: ${best} ${formatLag(inp.lagMs(best))}`);
      }
      return null;
    }

    if (this.cfg.failback === 'automatic') {
      const idx = this.cfg.regions.indexOf(cur);
      const higher = idx < 0 ? this.cfg.regions : this.cfg.regions.slice(0, idx);
      for (const r of higher) {
        if (!this.wentDown.has(r) || !avail(r) || !this.lagOk(inp.lagMs(r))) continue;
        return change(r, `failback: ${r} recovered`);
      }
    }
    return null;
  }

  /** Operator choice (POST /admin/write-region). */
  set(region: string, inp: WriteInputs, now: number): SetResult {
    if (!inp.exists(region)) return { ok: false, reason: 'unknown region' };
    // writes.regions is the list of regions whose data tier can take writes; an operator may pick
    // any of them, in any order, but not a region the config never allowed to write.
    if (!this.cfg.regions.includes(region))
      return { ok: false, reason: `not a write candidate (writes.regions: ${this.cfg.regions.join(', ')})` };
    if (!inp.isAvailable(region)) return { ok: false, reason: 'region unavailable' };
    this.initialized = true;
    this.lost = null;
    if (this.cur.region === region) {
      this.cur = { ...this.cur, manual: true, reason: 'operator', since: this.cur.since };
      return { ok: true, change: null };
    }
    return { ok: true, change: this.change(region, 'operator', true, now, inp) };
  }

  private lagOk(lag: number | null): boolean {
    return lag === null ? this.cfg.allowUnknownLag : lag <= this.cfg.maxLagMs;
  }

  private pickFailover(inp: WriteInputs, exclude: string | null): string | null {
    let best: string | null = null;
    let bestLag = Infinity;
    for (const r of this.cfg.regions) {
      if (r === exclude || !inp.exists(r) || !inp.isAvailable(r)) continue;
      const lag = inp.lagMs(r);
      if (!this.lagOk(lag)) continue;
      // unknown lag ranks after every known lag; strict < keeps priority order on ties
      const rank = lag === null ? Number.MAX_VALUE : lag;
      if (best === null || rank < bestLag) {
        best = r;
        bestLag = rank;
      }
    }
    return best;
  }

  private change(to: string | null, reason: string, manual: boolean, now: number, inp: WriteInputs): WriteRegionChange | null {
    const from = this.cur.region;
    this.cur = { region: to, reason, manual, since: from === to ? this.cur.since : now };
    if (from === to) return null;
    this.wentDown = new Set(this.cfg.regions.filter((r) => !(inp.exists(r) && inp.isAvailable(r))));
    return { from, to, reason };
  }
}
