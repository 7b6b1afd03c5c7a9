// The shape every GeoIP source is turned into: geoip-lite's bundled data and a MaxMind database
// file alike (geo-data.ts opens them, geoip.ts reads them).

/** geoip-lite's record shape, loosened: the data has empty countries and null coordinates. */
export interface RawRecord {
  readonly country?: string;
  readonly eu?: string;
  readonly ll?: readonly (number | null)[];
}

export type RawLookup = (ip: string) => RawRecord | null;

export interface GeoData {
  readonly lookup: RawLookup;
  /** When the data was built (a MaxMind database's build epoch; the bundled data's release). */
  readonly builtAt: Date;
  /** For logs and /admin/state: `bundled geoip-lite 1.4.10` or the database type and file. */
  readonly source: string;
}
