// The last state changes, newest first, for the status page and GET /admin/state: a bounded ring
// fed by the health events (probes and lag readings are left out: they are not changes).
import type { HealthEvents } from '../health/events.js';

export interface RecentEvent {
  /** ISO time. */
  readonly at: string;
  readonly event: string;
  readonly text: string;
}

type Payload<K extends keyof HealthEvents> = Parameters<HealthEvents[K]>[0];

const TEXT: { readonly [K in keyof HealthEvents]?: (e: Payload<K>) => string } = {
  endpointTransition: (e) => `endpoint ${e.endpoint} (${e.region}) ${e.from} -> ${e.to} [${e.cause}]`,
  regionTransition: (e) => `region ${e.region} ${e.from} -> ${e.to} [${e.cause}]`,
  ejected: (e) => `endpoint ${e.endpoint} (${e.region}) ejected for ${Math.round(e.forMs / 1000)} s`,
  ejectionRefused: (e) => `endpoint ${e.endpoint} (${e.region}) not ejected: ${e.reason}`,
  writeRegionChanged: (e) => `write region ${e.from ?? 'none'} -> ${e.to ?? 'none'} (${e.reason})`,
  suppression: (e) => `region ${e.region} ${e.suppressed ? `suppressed (penalty ${e.penalty})` : 'reused'}`,
  drain: (e) => `region ${e.region} ${e.drained ? 'drained' : 'undrained'}`,
};

export class RecentEvents {
  private readonly ring: RecentEvent[] = [];

  constructor(private readonly max = 50) {}

  /** A health event as it happened; ignored when it is not a state change. */
  add(name: keyof HealthEvents, payload: unknown, now = Date.now()): void {
    const text = (TEXT[name] as ((e: unknown) => string) | undefined)?.(payload);
    if (text === undefined) return;
    this.ring.push({ at: new Date(now).toISOString(), event: name, text });
    if (this.ring.length > this.max) this.ring.shift();
  }

  /** Newest first. */
  list(): RecentEvent[] {
    return [...this.ring].reverse();
  }
}
