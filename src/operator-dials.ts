// Traffic dials as operator state, the same for the single process and the cluster primary: a
// change goes to the shared state (in memory, or the fleet's), which every request path then reads;
// a drain lifted with a ramp starts the ramp from 0, where the drain left the region.
import type { DialAnswer, DialChange } from './admin/steering-routes.js';
import type { Dial } from './fleet/records.js';
import { dialPercent, type SharedState } from './fleet/shared-state.js';
import type { HealthStore } from './health/store.js';
import type { Logger } from './observability/logger.js';
import type { Snapshot } from './types.js';

export interface DialDeps {
  readonly shared: SharedState;
  readonly health: HealthStore;
  readonly snap: Snapshot;
  readonly now: () => number;
}

export async function changeDial(d: DialDeps, region: string, change: DialChange): Promise<DialAnswer | null> {
  if (!d.snap.regionByName.has(region)) return null;
  if (change.undrain) {
    const wasDrained = d.health.isDrained(region);
    d.health.undrain(region);
    if (wasDrained && change.overMs !== null) await d.shared.setDial(region, 0);
  }
  if (change.overMs === null) await d.shared.setDial(region, change.percent);
  else await d.shared.evacuate(region, change.overMs, change.percent);
  return { region, drained: d.health.isDrained(region), dial: dialJson(d.shared.snapshot().dials[region], d.now()) };
}

/** A dial as /admin/state and the admin answers show it. */
function dialJson(dial: Dial | undefined, now: number): { percent: number; target: number; ramp: unknown } {
  const r = dial?.ramp ?? null;
  return {
    percent: dialPercent(dial, now),
    target: dial?.percent ?? 100,
    ramp:
      r === null
        ? null
        : {
            from: r.from,
            to: r.to,
            startedAt: new Date(r.startedAt).toISOString(),
            overMs: r.overMs,
            endsAt: new Date(r.startedAt + r.overMs).toISOString(),
          },
  };
}

/** Every region's dial, for /admin/state. */
export function dialsJson(snap: Snapshot, dials: Readonly<Record<string, Dial>>, now: number): Record<string, unknown> {
  return Object.fromEntries(snap.regions.map((r) => [r.name, dialJson(dials[r.name], now)]));
}

export function logDial(logger: Logger, region: string, change: DialChange): void {
  const how = change.overMs === null ? 'at once' : `over ${change.overMs / 1000}s`;
  logger.warn(
    { event: 'dial', region, percent: change.percent, overMs: change.overMs },
    `operator set the dial of ${region} to ${change.percent}% ${how}`,
  );
}
