// Traffic dials as the operator sees them: the JSON of /admin/state and the admin answers, and the
// log line of a change. The change itself goes to the shared state (state-host.ts), which every
// request path reads.
import type { DialChange } from './admin/steering-routes.js';
import type { Dial } from './fleet/records.js';
import { dialPercent } from './fleet/shared-state.js';
import type { Logger } from './observability/logger.js';
import type { Snapshot } from './types.js';

/** A dial as /admin/state and the admin answers show it. */
export function dialJson(dial: Dial | undefined, now: number): { percent: number; target: number; ramp: unknown } {
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
