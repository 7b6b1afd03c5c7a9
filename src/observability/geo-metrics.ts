import client from 'prom-client';
import type { GeoLookup } from '../identity/geoip.js';

/**
 * `meridian_geoip_data_age_days`: how old the GeoIP data in use is, computed at scrape time from
 * its build date, so an alert can say "GeoIP data older than N days" before locations drift.
 * Only processes that look clients up register it (with `workers`, the workers; the primary's
 * aggregate takes the max).
 */
export function registerGeoDataAge(registry: client.Registry, geo: () => GeoLookup | null): void {
  new client.Gauge({
    name: 'meridian_geoip_data_age_days',
    help: 'Age of the GeoIP data in use (days since it was built)',
    registers: [registry],
    aggregator: 'max',
    collect() {
      const g = geo();
      if (g !== null) this.set(Math.max(0, (Date.now() - g.source.builtAt.getTime()) / 86_400_000));
    },
  });
}
