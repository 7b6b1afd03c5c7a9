#!/usr/bin/env node
// npm run bench:micro: ns/op of the per-request decision path, from dist/ (run `npm run build` first).
//   GeoIP uncached (geoip-lite raw) and cached (the project's GeoLookup), client IP / X-Forwarded-For
//   parsing, buildFacts (identity), decide() on a realistic snapshot, identity + decide together.
// Method: each case is calibrated to a batch of ~minMs, warmed up for one batch, then timed over
// `runs` batches with process.hrtime.bigint; the median ns/op is reported with min and max. Every
// result feeds a sink so the JIT cannot drop the work. Single process, no I/O.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import geoip from 'geoip-lite';
import { HERE, ROOT, geoipCost, geoipCostText, machineInfo, median, stamp, table } from './lib.mjs';

const dist = (p) => import(path.join(ROOT, 'dist', p));
if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) {
  console.error('dist/ not found: run `npm run build` first');
  process.exit(1);
}
const { loadConfigText } = await dist('config/load.js');
const { GeoLookup } = await dist('identity/geoip.js');
const { clientIp, compileTrustedProxies, ClientIpMemo } = await dist('identity/client-ip.js');
const { buildFacts } = await dist('identity/facts.js');
const { createWriteMarkCodec } = await dist('identity/write-mark.js');
const { decide } = await dist('routing/decide.js');

const { values: opt } = parseArgs({
  options: { quick: { type: 'boolean' }, runs: { type: 'string' }, 'min-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (opt.help) {
  console.log(`Usage: npm run bench:micro -- [--quick] [--runs N] [--min-ms MS]
Prints median ns/op (min..max over runs) per case and writes test/bench/results/micro-<date>.json
and micro-latest.json. --quick: 5 runs of ~100 ms per case (default: 9 runs of ~300 ms).`);
  process.exit(0);
}
const RUNS = Number(opt.runs ?? (opt.quick ? 5 : 9));
const MIN_MS = Number(opt['min-ms'] ?? (opt.quick ? 100 : 300));

// ------------------------------------------------------------------------------------------------
// The same realistic config as npm run bench (3 regions, trusted loopback, a read-local-write-global
// route with read-your-writes, active-active default), plus a private range trusted as a proxy tier.
const YAML = `
listen: 127.0.0.1:8080
clientIp:
  trustedProxies: [127.0.0.1/32, 10.0.0.0/8]
regions:
  - { name: us-east, location: { lat: 39.04, lon: -77.49 }, endpoints: [http://127.0.0.1:9001], countries: [US, CA] }
  - { name: eu-west, location: { lat: 53.35, lon: -6.26 }, endpoints: [http://127.0.0.1:9002] }
  - { name: ap-southeast, location: { lat: 1.29, lon: 103.85 }, endpoints: [http://127.0.0.1:9003] }
writes: { regions: [us-east, eu-west] }
readYourWrites: { secret: meridian-bench-secret-0123456789 }
routes:
  - { name: api, match: { pathPrefix: /api/ }, mode: read-local-write-global, readYourWrites: 10s }
  - { name: default, match: { pathPrefix: / }, mode: active-active }
`;
const load = (text) => {
  const r = loadConfigText(text, 'micro.yaml', {});
  if (!r.ok) throw new Error(`bench config invalid: ${JSON.stringify(r.errors)}`);
  return r.snapshot;
};
const snap = load(YAML);
// The same plus a GDPR-style rule: a German client's write must go to us-east, which the rule
// forbids, so decide() takes its refusal path (503 residency).
const snapResidency = load(YAML.replace('writes:', 'residency:\n  - { name: gdpr, countries: [EU], regions: [eu-west] }\nwrites:'));

// A health view with every region available, built once like the store's cached frozen view.
const up = (r) => snap.regionByName.has(r);
const view = Object.freeze({
  isAvailable: up,
  weight: () => 1,
  lagMs: () => null,
  writeRegion: snap.writes.regions[0] ?? null,
  availableEndpoints: (r) => snap.regionByName.get(r)?.endpoints ?? [],
});
const trusted = compileTrustedProxies(snap.trustedProxies);
const marks = createWriteMarkCodec(snap.readYourWrites.secret);
const geo = new GeoLookup();
const now = Date.now();

// 4096 distinct public IPv4 addresses (fixed seed), for lookups that miss every cache.
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const publicIps = [];
while (publicIps.length < 4096) {
  const a = 1 + Math.floor(rnd() * 222);
  if (a === 10 || a === 127 || a === 100 || a === 169 || a === 172 || a === 192) continue;
  publicIps.push(`${a}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`);
}
const IPMASK = publicIps.length - 1;

const headers = {
  host: 'app.example.com',
  'user-agent': 'wrk',
  accept: '*/*',
  'x-forwarded-for': '5.9.0.1',
};
const headers3 = { ...headers, 'x-forwarded-for': '203.0.113.7, 5.9.0.1, 10.1.2.3' };
const reqGet = { method: 'GET', url: '/api/items?page=2', headers, peer: '127.0.0.1' };
const reqGet3 = { ...reqGet, headers: headers3 };
const reqPost = { method: 'POST', url: '/api/orders', headers, peer: '127.0.0.1' };
// The router remembers client-IP walks per (peer, X-Forwarded-For) (ClientIpMemo); `memoDeps`
// is identity as the request path runs it, `deps` the walk done every time.
const deps = () => ({ geo, trusted, marks, now, rand: 0.5 });
const ips = new ClientIpMemo(trusted);
const memoDeps = () => ({ geo, trusted, ips, marks, now, rand: 0.5 });
const depsFixed = deps();
const missGeo = new GeoLookup({ maxEntries: 64 });

const factsGet = buildFacts(reqGet, snap, depsFixed);
const factsPost = buildFacts(reqPost, snap, depsFixed);
const expect = (d, region, reason) => {
  if (d.region !== region || d.reason !== reason) throw new Error(`expected ${region} (${reason}), got ${d.region} (${d.reason})`);
};
expect(decide(snap, factsGet, view, now), 'eu-west', 'nearest');
expect(decide(snap, factsPost, view, now), 'us-east', 'write-primary');
expect(decide(snapResidency, factsPost, view, now), null, 'residency');

let sink = 0;
const use = (v) => {
  sink ^= v === null || v === undefined ? 1 : typeof v === 'object' ? 2 : (v.length ?? 3);
};

const cases = [
  ['geoip-lite lookup, uncached (4096 distinct IPs)', (i) => use(geoip.lookup(publicIps[i & IPMASK]))],
  ['geoip-lite lookup, same IP every time (no cache)', () => use(geoip.lookup('5.9.0.1'))],
  ['GeoLookup miss (4096 IPs through a 64-entry LRU)', (i) => use(missGeo.lookup(publicIps[i & IPMASK]))],
  ['GeoLookup hit (cached client)', () => use(geo.lookup('5.9.0.1'))],
  ['clientIp: trusted peer, XFF "5.9.0.1"', () => use(clientIp('127.0.0.1', headers['x-forwarded-for'], trusted).ip)],
  ['clientIp: trusted peer, XFF of 3 hops', () => use(clientIp('127.0.0.1', headers3['x-forwarded-for'], trusted).ip)],
  ['buildFacts (identity), GET, cached client', () => use(buildFacts(reqGet, snap, deps()))],
  ['buildFacts (identity), GET, XFF of 3 hops', () => use(buildFacts(reqGet3, snap, deps()))],
  ['decide(): GET /api/ (nearest read)', () => use(decide(snap, factsGet, view, now).region)],
  ['decide(): POST /api/ (write-primary)', () => use(decide(snap, factsPost, view, now).region)],
  ['decide(): POST refused by residency (503)', () => use(decide(snapResidency, factsPost, view, now).status)],
  ['buildFacts (identity), GET, cached client, IP memo', () => use(buildFacts(reqGet, snap, memoDeps()))],
  ['identity + decide, GET, cached client', () => use(decide(snap, buildFacts(reqGet, snap, memoDeps()), view, now).region)],
  ['identity + decide, POST, cached client', () => use(decide(snap, buildFacts(reqPost, snap, memoDeps()), view, now).region)],
  ['identity + decide, GET, cached client, no IP memo', () => use(decide(snap, buildFacts(reqGet, snap, deps()), view, now).region)],
];

function timeBatch(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0);
}

function bench(fn) {
  let n = 1000;
  for (;;) {
    const ns = timeBatch(fn, n);
    if (ns > 20e6 || n > 1e8) {
      n = Math.max(1000, Math.round((n * MIN_MS * 1e6) / ns));
      break;
    }
    n *= 4;
  }
  timeBatch(fn, n); // warm-up: one full batch
  const per = [];
  for (let r = 0; r < RUNS; r++) per.push(timeBatch(fn, n) / n);
  return { ns_op: median(per), min: Math.min(...per), max: Math.max(...per), batch: n, runs: RUNS };
}

console.log(`Meridian micro-benchmarks: ${RUNS} runs of ~${MIN_MS} ms per case, median ns/op (node ${process.version})`);
const results = {};
for (const [name, fn] of cases) {
  results[name] = bench(fn);
  const x = results[name];
  console.log(`  ${name.padEnd(52)} ${x.ns_op.toFixed(0).padStart(7)} ns/op  (${x.min.toFixed(0)}..${x.max.toFixed(0)})`);
}
const g = geoipCost(3);
const mi = machineInfo();
const rows = Object.entries(results).map(([n, x]) => [
  n,
  x.ns_op.toFixed(0),
  `${x.min.toFixed(0)}..${x.max.toFixed(0)}`,
  Math.round(1e9 / x.ns_op).toLocaleString('en-US'),
]);
console.log(`\nmachine: ${mi.cpus} x ${mi.cpu_model}, kernel ${mi.kernel}, node ${mi.node}, loadavg ${mi.loadavg_at_start.join(' ')}`);
console.log(table(['case', 'ns/op', 'min..max', 'ops/s'], rows));
const key = 'identity + decide, GET, cached client';
console.log(`\nidentity + decide for a cached client: ${(results[key].ns_op / 1000).toFixed(2)} µs (target <= 2 µs)`);
console.log(geoipCostText(g));
console.log(`(sink ${sink & 1})`);

const resultsDir = path.join(HERE, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const out = path.join(resultsDir, `micro-${stamp()}.json`);
fs.writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), machine: mi, runs: RUNS, min_ms: MIN_MS, results, geoip: g }, null, 2) + '\n',
);
fs.copyFileSync(out, path.join(resultsDir, 'micro-latest.json'));
console.log(`JSON: ${path.relative(ROOT, out)} (and results/micro-latest.json)`);
