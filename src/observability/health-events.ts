import type { HealthEvents } from '../health/events.js';
import { LocalErrors } from './local-errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * Health events → one log line and the matching metric change each. Used by whichever process owns
 * the health store: the single process, or the cluster primary. `writeRegions()` reads the current
 * snapshot's write candidates; `tap` sees every event too (the drill times detection with it).
 */
export function healthEventsFor(
  m: Metrics,
  log: Logger,
  writeRegions: () => readonly string[],
  tap?: (name: keyof HealthEvents, payload: unknown) => void,
): HealthEvents {
  const local = new LocalErrors(m, log);
  const ev: HealthEvents = {
    probe: (e) => {
      m.probes.labels(e.region, e.endpoint, e.ok ? 'pass' : 'fail').inc();
      m.probeDuration.labels(e.region).observe(e.durationMs / 1000);
      log.debug({ event: 'probe', ...e }, 'probe');
    },
    endpointTransition: (e) => {
      m.endpointTransitions.labels(e.region, e.endpoint, e.from, e.to).inc();
      // Probe verdict only: an ejection (passive) shows in meridian_ejections_total, not here.
      if (e.to === 'up' || e.to === 'down') m.endpointUp.labels(e.region, e.endpoint).set(e.to === 'up' ? 1 : 0);
      log.info({ event: 'endpoint-transition', ...e }, `endpoint ${e.endpoint} ${e.from} -> ${e.to}`);
    },
    regionTransition: (e) => {
      m.regionTransitions.labels(e.region, e.from, e.to).inc();
      m.regionUp.labels(e.region).set(e.to === 'available' ? 1 : 0);
      m.regionFailbackWait.labels(e.region).set(e.to === 'failback-wait' ? 1 : 0);
      log.info({ event: 'region-transition', ...e }, `region ${e.region} ${e.from} -> ${e.to}`);
    },
    ejected: (e) => {
      m.ejections.labels(e.region, e.endpoint).inc();
      log.warn({ event: 'ejected', ...e }, `endpoint ${e.endpoint} ejected for ${e.forMs}ms`);
    },
    ejectionRefused: (e) => log.warn({ event: 'ejection-refused', ...e }, `endpoint ${e.endpoint} not ejected: ${e.reason}`),
    lag: (e) => {
      m.lag.labels(e.region).set(e.lagMs / 1000);
    },
    writeRegionChanged: (e) => {
      for (const w of writeRegions()) m.writeRegion.labels(w).set(w === e.to ? 1 : 0);
      // The first assignment at start-up is routine, not a change; every later change is worth a warning.
      const initial = e.from === null && e.reason === 'initial';
      if (!initial) m.failovers.labels(e.from ?? 'none', e.to ?? 'none').inc();
      const level = initial ? 'info' : 'warn';
      log[level]({ event: 'write-region', ...e }, `write region ${e.from ?? 'none'} -> ${e.to ?? 'none'}`);
    },
    suppression: (e) => {
      m.regionSuppressed.labels(e.region).set(e.suppressed ? 1 : 0);
      log.warn({ event: 'suppression', ...e }, `region ${e.region} ${e.suppressed ? 'suppressed (flapping)' : 'reused'}`);
    },
    drain: (e) => {
      m.regionDrained.labels(e.region).set(e.drained ? 1 : 0);
      log.warn({ event: 'drain', ...e }, `region ${e.region} ${e.drained ? 'drained' : 'undrained'}`);
    },
    localError: (e) => local.report(e.kind, 'probe', e.detail),
  };
  if (!tap) return ev;
  const tapped = {} as Record<string, (e: unknown) => void>;
  for (const [k, fn] of Object.entries(ev) as [keyof HealthEvents, (e: unknown) => void][]) {
    tapped[k] = (e) => {
      fn(e);
      tap(k, e);
    };
  }
  return tapped as unknown as HealthEvents;
}
