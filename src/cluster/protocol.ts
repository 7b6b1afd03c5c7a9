// Messages between the cluster primary and its workers (node:cluster IPC, JSON-serialised).
// The primary owns config and health; workers serve traffic. Every state the primary sends carries
// a version: a worker applies only newer versions and acknowledges what it applied, so the primary
// knows when an admin action has reached every worker.
import type { SharedSnapshot } from '../fleet/shared-state.js';
import type { HealthView } from '../types.js';

/** A HealthView as data: per region [available, slow-start weight, lag ms, serving endpoints]. */
export interface ViewData {
  readonly writeRegion: string | null;
  readonly regions: Readonly<Record<string, readonly [boolean, number, number | null, readonly string[]]>>;
}

export type ToWorker =
  /** Config to compile (the primary validated the same text); `secret` signs read-your-writes cookies. */
  | { readonly t: 'config'; readonly version: number; readonly file: string; readonly text: string; readonly secret: string | null }
  | { readonly t: 'view'; readonly version: number; readonly view: ViewData }
  /** Operator and fleet state (drains, dials, the fleet's write region and whether it may be written). */
  | { readonly t: 'shared'; readonly snap: SharedSnapshot }
  | { readonly t: 'metrics'; readonly id: number }
  /** Explain a request on the worker (it has GeoIP loaded; the primary does not load it). */
  | { readonly t: 'explain'; readonly id: number; readonly params: Readonly<Record<string, string>> }
  | { readonly t: 'shutdown' };

export type ToPrimary =
  /** The worker's message handler is in place: send it the config and the view. */
  | { readonly t: 'hello' }
  /** The worker's server is listening (first config applied) at this URL. */
  | { readonly t: 'listening'; readonly url: string }
  /** Versions now in effect in the worker. */
  | { readonly t: 'ack'; readonly config: number; readonly view: number }
  | { readonly t: 'config-error'; readonly version: number; readonly errors: readonly string[] }
  /** Passive signal from live traffic (failures, and the first success after one). */
  | { readonly t: 'passive'; readonly endpoint: string; readonly ok: boolean; readonly kind?: string }
  /**
   * The shared snapshot of this version (or a newer one) is in effect in the worker; in a fleet,
   * `busy` names the regions it has primary requests in flight to at that moment.
   */
  | { readonly t: 'shared-ack'; readonly version: number; readonly busy: readonly string[] }
  /** In a fleet: the last primary request to a region named busy in the last shared-ack has ended. */
  | { readonly t: 'idle'; readonly region: string }
  | { readonly t: 'metrics'; readonly id: number; readonly data: unknown }
  | { readonly t: 'explain'; readonly id: number; readonly data: unknown }
  | { readonly t: 'stats'; readonly rss: number; readonly heapUsed: number };

export function viewToData(view: HealthView, regions: readonly string[]): ViewData {
  const out: Record<string, readonly [boolean, number, number | null, readonly string[]]> = {};
  for (const r of regions) out[r] = [view.isAvailable(r), view.weight(r), view.lagMs(r), view.availableEndpoints(r)];
  return { writeRegion: view.writeRegion, regions: out };
}

const NONE: readonly string[] = Object.freeze([]);

/** The worker's HealthView: same contract as the store's, answered from the primary's data. */
export function viewFromData(data: ViewData): HealthView {
  const m = new Map(
    Object.entries(data.regions).map(([k, v]) => [k, { available: v[0], weight: v[1], lagMs: v[2], endpoints: Object.freeze([...v[3]]) }]),
  );
  return Object.freeze({
    isAvailable: (region: string) => m.get(region)?.available ?? false,
    weight: (region: string) => m.get(region)?.weight ?? 0,
    lagMs: (region: string) => m.get(region)?.lagMs ?? null,
    writeRegion: data.writeRegion,
    availableEndpoints: (region: string) => m.get(region)?.endpoints ?? NONE,
  });
}

/** A view that serves nothing, until the primary's first one arrives. */
export const EMPTY_VIEW: HealthView = viewFromData({ writeRegion: null, regions: {} });
