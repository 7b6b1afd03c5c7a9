// Micro-benchmark: identity (client IP from a trusted X-Forwarded-For, cached GeoIP) + decide()
// for a repeat client, per request, as the router does it. Run after `npm run build`:
//   node test/bench/decide-bench.mjs [path/to/config.yaml]
// Prints ns/request (median of 7 batches). Target: <= 2000 ns.
import { loadConfigText } from '../../dist/config/load.js';
import { HealthStore } from '../../dist/health/store.js';
import { ClientIpMemo, compileTrustedProxies } from '../../dist/identity/client-ip.js';
import { buildFacts } from '../../dist/identity/facts.js';
import { GeoLookup } from '../../dist/identity/geoip.js';
import { decide } from '../../dist/routing/decide.js';

const yaml = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
clientIp: { trustedProxies: [127.0.0.1/32] }
regions:
  - { name: us-east, location: { lat: 39.04, lon: -77.49 }, endpoints: ["http://127.0.0.1:19000"] }
  - { name: eu-west, location: { lat: 53.35, lon: -6.26 }, endpoints: ["http://127.0.0.1:19001"] }
  - { name: ap-southeast, location: { lat: 1.35, lon: 103.82 }, endpoints: ["http://127.0.0.1:19002"] }
writes: { regions: [us-east, eu-west] }
routes:
  - { name: api, match: { pathPrefix: /api }, mode: read-local-write-global }
  - { name: default, match: { pathPrefix: / }, mode: active-active }
`;
const loaded = loadConfigText(yaml, '/tmp/bench.yaml');
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const snap = loaded.snapshot;
const clock = { now: () => Date.now() };
const health = new HealthStore({ clock, probe: async () => ({ ok: true, status: 200, durationMs: 1 }) });
health.applySnapshot(snap);
for (let i = 0; i < 3; i++) await health.probeNow(); // every endpoint UP
const trusted = compileTrustedProxies(snap.trustedProxies);
const ips = new ClientIpMemo(trusted);
const geo = new GeoLookup();
const headers = { host: 'example.com', 'user-agent': 'wrk', 'x-forwarded-for': '5.9.0.1' };
let sink = 0;
function one() {
  const now = clock.now();
  const facts = buildFacts({ method: 'GET', url: '/api/x', headers, peer: '127.0.0.1' }, snap, { geo, trusted, ips, marks: null, now, rand: Math.random() });
  const d = decide(snap, facts, health.view(), now);
  sink += d.candidates.length;
}
const N = 200_000;
for (let i = 0; i < N; i++) one(); // warm up (JIT, caches)
const runs = [];
for (let r = 0; r < 7; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) one();
  runs.push(Number(process.hrtime.bigint() - t0) / N);
}
runs.sort((a, b) => a - b);
const d = decide(snap, buildFacts({ method: 'GET', url: '/api/x', headers, peer: '127.0.0.1' }, snap, { geo, trusted, ips, marks: null, now: Date.now(), rand: 0 }), health.view(), Date.now());
console.log(`identity + decide, repeat client: ${runs[3].toFixed(0)} ns/request (median of 7; min ${runs[0].toFixed(0)}, max ${runs[6].toFixed(0)}); region ${d.region} (${d.reason}) sink ${sink > 0}`);
