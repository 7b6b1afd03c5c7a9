// identity/: request → client IP, GeoIP, user key, home region, write mark (RequestFacts).
// Note: importing this barrel loads the GeoIP database (via geoip.ts); import the single files
// (or `import type`) where that cost is unwanted, e.g. in `meridian validate`.
export { normalizeIp, compileTrustedProxies, trustedProxiesFor, isTrustedProxy, isTrusted, clientIp, ClientIpMemo } from './client-ip.js';
export type { TrustedProxies, ClientIpResult } from './client-ip.js';
export { GeoLookup, toGeo, DEFAULT_GEO_CACHE_SIZE } from './geoip.js';
export type { GeoSource, RawLookup } from './geoip.js';
export { createWriteMarkCodec, generateSecret, WRITE_MARK_MAX_SKEW_MS } from './write-mark.js';
export type { WriteMarkCodec } from './write-mark.js';
export { buildFacts, factsFromExplain, splitTarget, parseHost, maxReadYourWritesMs } from './facts.js';
export type { FactsDeps, RequestInput, ExplainParams, ExplainDeps } from './facts.js';
