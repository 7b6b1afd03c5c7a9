// The GeoIP data bundled with geoip-lite: used when no `geoip.database` is configured. Importing
// this module loads the data synchronously (~140 ms, ~150 MB RSS): only import it when it is used.
// geoip-lite 1.4.10 (2024 data, declares Node >= 10) is pinned: 2.x declares Node >= 24 and we
// also run on Node 20 (docs/decisions.md).
import geoip from 'geoip-lite';
import type { GeoData } from './geo-types.js';

/**
 * The release date of the pinned geoip-lite, whose data was refreshed for that release; the
 * package carries no build date of its own. A test checks that the installed version is the one
 * this date belongs to.
 */
export const BUNDLED_VERSION = '1.4.10';
const BUNDLED_RELEASED = new Date('2024-12-07T00:00:00Z');

export function bundledGeoData(): GeoData {
  return { lookup: (ip) => geoip.lookup(ip), builtAt: BUNDLED_RELEASED, source: `bundled geoip-lite ${BUNDLED_VERSION}` };
}
