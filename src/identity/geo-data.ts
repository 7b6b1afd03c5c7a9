// Where GeoIP answers come from: the geoip-lite data bundled with the package (the default), or a
// MaxMind database file named by `geoip.database`. Both end up as a GeoData: a lookup returning
// geoip-lite's record shape (what toGeo() reads) and the date the data was built, which
// `meridian_geoip_data_age_days` reports so an operator sees stale data before routing suffers.
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { Reader, type CityResponse } from 'maxmind';
import type { GeoData, RawRecord } from './geo-types.js';

/**
 * The subset of a GeoIP2/GeoLite2 City or Country record that routing reads, every field optional:
 * a database file is input like any other, whatever its declared types say.
 */
interface MaxmindRecord {
  readonly country?: { readonly iso_code?: string; readonly is_in_european_union?: boolean };
  readonly registered_country?: { readonly iso_code?: string; readonly is_in_european_union?: boolean };
  readonly location?: { readonly latitude?: number; readonly longitude?: number };
}

/** A MaxMind record as geoip-lite's shape; a Country database has no location, so no `ll`. */
function fromMaxmind(r: MaxmindRecord | null): RawRecord | null {
  if (r === null) return null;
  // `country` is where the address is used; `registered_country` (the owner's) fills in for
  // anycast and satellite ranges that have no country of use.
  const c = typeof r.country?.iso_code === 'string' ? r.country : r.registered_country;
  const loc = r.location;
  return {
    ...(typeof c?.iso_code === 'string' ? { country: c.iso_code } : {}),
    ...(c?.is_in_european_union === true ? { eu: '1' } : {}),
    ...(typeof loc?.latitude === 'number' && typeof loc.longitude === 'number' ? { ll: [loc.latitude, loc.longitude] } : {}),
  };
}

/**
 * Open a MaxMind database file (GeoIP2 / GeoLite2, City or Country). Throws an Error whose message
 * says what is wrong with the file (missing, unreadable, not a MaxMind DB, no country data).
 */
export function readMaxmindDatabase(file: string): GeoData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the GeoIP database: ${(err as Error).message}`, { cause: err });
  }
  let reader: Reader<CityResponse>;
  try {
    reader = new Reader<CityResponse>(bytes);
  } catch (err) {
    throw new Error(`${file} is not a MaxMind database (.mmdb): ${(err as Error).message}`, { cause: err });
  }
  const type = reader.metadata.databaseType;
  if (!/City|Country/i.test(type)) {
    throw new Error(`${file} is a ${type} database; a GeoIP2/GeoLite2 City or Country database is needed`);
  }
  return {
    lookup: (ip) => fromMaxmind(reader.get(ip)),
    builtAt: reader.metadata.buildEpoch,
    source: `${type} ${file}`,
  };
}

/** How often a database file is checked for replacement (geoipupdate renames a new file into place). */
const WATCH_INTERVAL_MS = 1000;

/**
 * A MaxMind database that follows its file: when the file is replaced (renamed over or rewritten),
 * the new data is read and handed to `onData`; a replacement that does not open keeps the data in
 * use and is reported through `onError` (a half-written copy must not take GeoIP away).
 */
class WatchedDatabase {
  private closed = false;

  constructor(
    readonly file: string,
    private readonly onData: (d: GeoData) => void,
    private readonly onError: (message: string) => void,
  ) {
    // Polling (fs.watchFile) rather than fs.watch: it follows the path across a rename, and works
    // on every filesystem, at the cost of one stat per second.
    watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, this.changed);
  }

  private readonly changed = (cur: Stats, prev: Stats): void => {
    if (this.closed || cur.mtimeMs === 0 || (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size)) return;
    let data: GeoData;
    try {
      data = readMaxmindDatabase(this.file);
    } catch (err) {
      this.onError((err as Error).message);
      return;
    }
    this.onData(data);
  };

  close(): void {
    this.closed = true;
    unwatchFile(this.file, this.changed);
  }
}

/** What opening the configured data gives a process: the lookup, and a close() for its watcher. */
export interface OpenedGeoData {
  readonly data: GeoData;
  /** Follow the database file (no-op for the bundled data); returns the stop function. */
  watch(onData: (d: GeoData) => void, onError: (message: string) => void): () => void;
}

/**
 * The data `geoip.database` names (absolute path), or the bundled geoip-lite data when null —
 * imported only then, as it costs ~150 MB of RSS. Throws like readMaxmindDatabase.
 */
export async function openGeoData(database: string | null): Promise<OpenedGeoData> {
  if (database === null) {
    const { bundledGeoData } = await import('./geo-bundled.js');
    return { data: bundledGeoData(), watch: () => () => undefined };
  }
  return {
    data: readMaxmindDatabase(database),
    watch: (onData, onError) => {
      const w = new WatchedDatabase(database, onData, onError);
      return () => w.close();
    },
  };
}
