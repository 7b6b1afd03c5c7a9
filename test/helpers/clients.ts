// Real public IPs whose geoip-lite 1.4.10 record resolves to the given country (verified by
// test/unit/identity-geoip.test.ts). Shared by unit and integration tests: send them as
// X-Forwarded-For from a trusted peer (127.0.0.1) to place a client anywhere.
export type Continent = 'Europe' | 'North America' | 'South America' | 'Asia' | 'Oceania';

export interface ClientIp {
  readonly country: string;
  readonly ip: string;
  readonly continent: Continent;
  /** geoip-lite's EU flag for this record. */
  readonly eu: boolean;
}

export const CLIENTS: readonly ClientIp[] = Object.freeze([
  { country: 'DE', ip: '85.214.132.117', continent: 'Europe', eu: true }, // Berlin
  { country: 'FR', ip: '62.210.16.6', continent: 'Europe', eu: true }, // Paris
  { country: 'GB', ip: '81.2.69.160', continent: 'Europe', eu: false }, // St Albans
  { country: 'SE', ip: '80.67.0.1', continent: 'Europe', eu: true }, // Stockholm
  { country: 'US', ip: '3.3.3.3', continent: 'North America', eu: false }, // Ashburn
  { country: 'CA', ip: '24.48.0.1', continent: 'North America', eu: false }, // Montreal
  { country: 'BR', ip: '201.6.0.1', continent: 'South America', eu: false }, // São Paulo
  { country: 'JP', ip: '210.140.0.1', continent: 'Asia', eu: false }, // Tokyo
  { country: 'SG', ip: '165.21.0.1', continent: 'Asia', eu: false }, // Singapore
  { country: 'IN', ip: '14.139.0.1', continent: 'Asia', eu: false }, // Bengaluru
  { country: 'AU', ip: '1.120.0.1', continent: 'Oceania', eu: false }, // Melbourne
]);

/** IPv6 clients that geoip-lite resolves (with coordinates). */
export const IPV6_CLIENTS: readonly ClientIp[] = Object.freeze([
  { country: 'DE', ip: '2a00:1450:4001::1', continent: 'Europe', eu: true }, // Frankfurt
  { country: 'JP', ip: '2400:4050::1', continent: 'Asia', eu: false }, // Tokyo
  { country: 'FR', ip: '2001:41d0::1', continent: 'Europe', eu: true },
]);

/** The client for a country code; throws for a country not in the tables (a test bug). */
export function clientFor(country: string, family: 4 | 6 = 4): ClientIp {
  const c = (family === 4 ? CLIENTS : IPV6_CLIENTS).find((x) => x.country === country);
  if (c === undefined) throw new Error(`no IPv${family} test client for ${country}`);
  return c;
}

/** Addresses without a usable GeoIP record: private, loopback, and a public one with no data. */
export const UNLOCATED_IPS: readonly string[] = Object.freeze(['10.1.2.3', '192.168.1.1', '127.0.0.1', '1.1.1.1']);
