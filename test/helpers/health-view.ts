// A fixed HealthView for tests of the pure routing code: which regions are available, their
// slow-start weights and lag, and the write region, as the test states them.
import type { HealthView } from '../../src/types.js';

export interface HealthInput {
  /** Unavailable regions (everything else is available). */
  down?: string[];
  weights?: Record<string, number>;
  /** Replication lag in ms per region; missing = never reported. */
  lag?: Record<string, number>;
  writeRegion?: string | null;
}

export function healthView(h: HealthInput = {}): HealthView {
  const down = new Set(h.down ?? []);
  return {
    isAvailable: (r) => !down.has(r),
    weight: (r) => h.weights?.[r] ?? 1,
    lagMs: (r) => h.lag?.[r] ?? null,
    writeRegion: h.writeRegion === undefined ? 'us-east' : h.writeRegion,
    availableEndpoints: () => [],
  };
}
