// Opening the configured GeoIP data for a serving process, and following its file: the one place
// that decides which data a process uses and logs when it changes.
import type { Snapshot } from '../types.js';
import { openGeoData } from './geo-data.js';
import { GeoLookup } from './geoip.js';

/** The two log levels used here (a pino logger is one). */
interface Log {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export async function openGeo(snap: Snapshot, logger: Log): Promise<{ geo: GeoLookup; stop: () => void }> {
  const opened = await openGeoData(snap.geoip.database);
  const geo = new GeoLookup(opened.data);
  logger.info({ event: 'geoip', source: opened.data.source, builtAt: opened.data.builtAt.toISOString() }, 'GeoIP data loaded');
  const stop = opened.watch(
    (d) => {
      geo.setData(d);
      logger.info(
        { event: 'geoip', result: 'reloaded', source: d.source, builtAt: d.builtAt.toISOString() },
        'GeoIP database replaced: reloaded',
      );
    },
    (message) =>
      logger.warn(
        { event: 'geoip', result: 'failure', err: message },
        'GeoIP database replaced by a file that does not open; keeping the data in use',
      ),
  );
  return { geo, stop };
}
