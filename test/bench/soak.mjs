#!/usr/bin/env node
// npm run bench:soak: Meridian's memory over a bounded run of mixed loopback traffic.
// Starts Node backends (backend.mjs: us-east and eu-west answer normally and echo WebSockets;
// ap-southeast is flaky: 503s and connection resets, so retries and passive ejections happen) and
// Meridian (dist/cli.js serve, access log at info to /dev/null), measures idle RSS, then drives a
// mix of keep-alive GETs, POSTs with a body, GETs that need retries, client aborts mid-request,
// WebSocket open/echo/close cycles and fresh connections, sampling every router process's RSS and
// open file descriptors (from /proc) and /metrics (heap, in-flight) every few seconds. Reports idle
// RSS, RSS under load, the first vs the last minute, the slope, and what loading GeoIP costs.
// Everything binds 127.0.0.1, the run is bounded in time, every process is torn down at exit.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import {
  CLI,
  HERE,
  ROOT,
  Procs,
  freePort,
  meridianYaml,
  geoipCost,
  geoipCostText,
  get,
  guard,
  machineInfo,
  mb,
  median,
  nodeRss,
  sleep,
  stamp,
  table,
  tail,
  waitFor,
} from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string' },
    quick: { type: 'boolean' },
    workers: { type: 'string' },
    sample: { type: 'string' },
    concurrency: { type: 'string' },
    idle: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  console.log(`Usage: npm run bench:soak -- [--minutes N] [--quick] [--workers N] [--sample S] [--concurrency C] [--idle S]

  --minutes N      load duration (default 5)
  --quick          --minutes 1 and samples every 5 s
  --workers N      run Meridian with \`workers: N\` (when this build accepts the key)
  --sample S       seconds between samples (default 10)
  --concurrency C  concurrent client loops (default 16)
  --idle S         seconds of idle sampling before and after the load (default 10)

Prints RSS per router process (idle, under load, first vs last minute, slope), open fds, heap from
/metrics, request outcomes, and GeoIP's per-process cost; JSON in test/bench/results/soak-<date>.json
and soak-latest.json.`);
  process.exit(0);
}
const minutes = Number(opt.minutes ?? (opt.quick ? 1 : 5));
const sampleSec = Number(opt.sample ?? (opt.quick ? 5 : 10));
const concurrency = Number(opt.concurrency ?? 16);
const idleSec = Number(opt.idle ?? (opt.quick ? 5 : 10));
const workers = Number(opt.workers ?? 0);
const loadMs = minutes * 60_000;
if (!fs.existsSync(CLI)) {
  console.error(`${CLI} not found: run \`npm run build\` first`);
  process.exit(1);
}

const runId = stamp();
const resultsDir = path.join(HERE, 'results');
const runDir = path.join(resultsDir, `soak-${runId}`);
fs.mkdirSync(runDir, { recursive: true });
const procs = new Procs();
const disarm = guard(procs, loadMs + (2 * idleSec + 120) * 1000, 'soak');
const notes = [];

console.log(`Meridian soak: ${minutes} min of mixed load, ${concurrency} client loops, samples every ${sampleSec} s`);
console.log('measuring GeoIP cost (fresh node processes with and without geoip-lite)...');
const geo = geoipCost(3);
console.log(`  ${geoipCostText(geo)}`);

// ---------------------------------------------------------------------------------------------
// Backends and router.
const [pUs, pEu, pAp, port, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
procs.start('backend', process.execPath, [path.join(HERE, 'backend.mjs'), `ok:${pUs}`, `ok:${pEu}`, `flaky:${pAp}`], {
  stdout: path.join(runDir, 'backend.log'),
});
for (const p of [pUs, pEu, pAp]) await waitFor(`backend :${p}`, async () => (await get(p, '/health'))?.status === 200, 15_000);

const yaml = meridianYaml({
  by: 'test/bench/soak.mjs',
  port,
  adminPort,
  ports: { usEast: pUs, euWest: pEu, apSoutheast: pAp },
  workers,
  apNote: 'flaky: 503s and resets (probes pass), so retries and ejections',
  health: { interval: '1s', timeout: '500ms' },
  extra: 'passive:\n  consecutiveFailures: 3\n  ejectFor: 2s\n  maxEjectMultiplier: 4\ntimeouts:\n  request: 5s\n',
});
const cfgFile = path.join(runDir, 'meridian.yaml');
fs.writeFileSync(cfgFile, yaml);
if (workers) {
  const v = spawnSync(process.execPath, [CLI, 'validate', '--config', cfgFile], { encoding: 'utf8' });
  if (v.status !== 0) {
    console.error(`this build does not accept \`workers: ${workers}\`:\n${v.stdout}${v.stderr}`);
    await procs.shutdown();
    process.exit(2);
  }
}
const log = path.join(runDir, 'meridian.log');
const router = procs.start('meridian', process.execPath, [CLI, 'serve', '--config', cfgFile, '--log-level', 'info'], {
  stdout: '/dev/null',
  stderr: log,
});
await waitFor(
  'meridian /readyz',
  async () => (await get(adminPort, '/readyz'))?.status === 200,
  30_000,
  () => `\n${tail(log)}`,
);

// ---------------------------------------------------------------------------------------------
// Sampling.
const fdCount = (pid) => {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
};
function metricValue(text, name) {
  let sum = null;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
async function backendStats() {
  const r = await get(pEu, '/__stats', {}, 2000);
  try {
    return r?.status === 200 ? JSON.parse(r.body) : null;
  } catch {
    return null;
  }
}
const samples = [];
const t0 = Date.now();
async function sample(phase) {
  const procsNow = nodeRss(router.pid).map((x) => ({ ...x, fds: fdCount(x.pid) }));
  const m = await get(adminPort, '/metrics', {}, 3000);
  const text = m?.status === 200 ? m.body : '';
  const s = {
    t: Number(((Date.now() - t0) / 1000).toFixed(1)),
    phase,
    processes: procsNow.map((x) => ({ pid: x.pid, rss_mb: mb(x.rss), fds: x.fds })),
    rss_total_mb: mb(procsNow.reduce((a, x) => a + x.rss, 0)),
    heap_used_mb: mb(metricValue(text, 'nodejs_heap_size_used_bytes')),
    metrics_rss_mb: mb(metricValue(text, 'process_resident_memory_bytes')),
    in_flight: metricValue(text, 'meridian_in_flight_requests'),
    retries: metricValue(text, 'meridian_retries_total'),
    ejections: metricValue(text, 'meridian_ejections_total'),
    ops: totalOps(),
    backend_eu: await backendStats(),
  };
  samples.push(s);
  console.log(
    `  t=${String(s.t).padStart(6)}s ${phase.padEnd(10)} rss=${s.processes.map((x) => x.rss_mb).join('+')} MB ` +
      `heap=${s.heap_used_mb ?? '-'} MB fds=${s.processes.map((x) => x.fds).join('+')} in-flight=${s.in_flight ?? '-'} ` +
      `retries=${s.retries ?? '-'} ejections=${s.ejections ?? '-'} ops=${s.ops} ` +
      `eu-backend conns=${s.backend_eu?.connections ?? '-'} slow-pending=${s.backend_eu?.slowPending ?? '-'}`,
  );
  return s;
}

// ---------------------------------------------------------------------------------------------
// Load: each client loop picks an operation by weight, runs it with a 5 s bound, repeats until the
// deadline. Only 127.0.0.1; counts are bounded by time and concurrency.
const DE = '5.9.0.1';
const JP = '1.0.16.1';
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const counts = {};
const count = (op, outcome) => {
  const k = `${op} ${outcome}`;
  counts[k] = (counts[k] ?? 0) + 1;
};
function totalOps() {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function request(op, { method = 'GET', urlPath, xff, body, abortAfterMs, fresh = false }) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(bound);
      count(op, outcome);
      resolve();
    };
    const headers = { 'x-forwarded-for': xff };
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: fresh ? false : agent }, (res) => {
      res.resume();
      res.on('end', () => finish(String(res.statusCode)));
      res.on('error', () => finish('response-error'));
    });
    req.on('error', (e) => finish(abortAfterMs ? 'aborted' : `error:${e.code ?? e.message}`));
    const bound = setTimeout(() => {
      req.destroy();
      finish('timeout');
    }, 5000);
    if (abortAfterMs) {
      // The client goes away before the backend answers (it answers /slow after 2 s): the router
      // must drop the upstream request and forget the exchange.
      setTimeout(() => {
        req.destroy();
        finish('aborted');
      }, abortAfterMs);
    }
    req.end(body);
  });
}

function websocket() {
  return new Promise((resolve) => {
    let got = 0;
    let done = false;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { 'x-forwarded-for': DE } });
    const finish = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(bound);
      count('websocket', outcome);
      resolve();
    };
    const bound = setTimeout(() => {
      ws.terminate();
      finish('timeout');
    }, 5000);
    ws.on('open', () => {
      for (let i = 0; i < 3; i++) ws.send(`hello ${i}`);
    });
    ws.on('message', () => {
      if (++got === 3) ws.close();
    });
    ws.on('close', () => finish(got === 3 ? 'ok' : 'closed-early'));
    ws.on('error', (e) => {
      ws.terminate();
      finish(`error:${e.code ?? e.message}`);
    });
  });
}

const postBody = JSON.stringify({ order: 'x'.repeat(1000) });
const mix = [
  [50, () => request('get-de', { urlPath: '/api/items', xff: DE })],
  [15, () => request('post-de', { method: 'POST', urlPath: '/api/orders', xff: DE, body: postBody })],
  [15, () => request('get-jp-flaky', { urlPath: '/api/items', xff: JP })],
  [10, () => request('abort-slow', { urlPath: '/slow/report', xff: DE, abortAfterMs: 50 })],
  [5, () => websocket()],
  [5, () => request('get-fresh-conn', { urlPath: '/hello', xff: DE, fresh: true })],
];
const totalWeight = mix.reduce((a, [w]) => a + w, 0);
const pick = () => {
  let r = Math.random() * totalWeight;
  for (const [w, fn] of mix) if ((r -= w) < 0) return fn;
  return mix[0][1];
};

// ---------------------------------------------------------------------------------------------
// Phases: idle → load → idle again.
console.log(`\nidle ${idleSec} s:`);
const idleEnd = Date.now() + idleSec * 1000;
await sample('idle');
while (Date.now() < idleEnd) {
  await sleep(Math.min(sampleSec * 1000, idleEnd - Date.now()));
  await sample('idle');
}
console.log(`load ${minutes} min:`);
const loadStart = Date.now();
const deadline = loadStart + loadMs;
const loops = Array.from({ length: concurrency }, async () => {
  while (Date.now() < deadline) await pick()();
});
const sampler = (async () => {
  while (Date.now() < deadline) {
    await sleep(Math.min(sampleSec * 1000, Math.max(0, deadline - Date.now())));
    if (Date.now() <= deadline + 100) await sample('load');
  }
})();
await Promise.all([...loops, sampler]);
agent.destroy();
console.log(`idle after load ${idleSec} s:`);
await sleep(idleSec * 1000);
await sample('after');
await procs.shutdown();
disarm();

// ---------------------------------------------------------------------------------------------
// Report.
const loadSamples = samples.filter((s) => s.phase === 'load');
const idleSamples = samples.filter((s) => s.phase === 'idle');
const after = samples.find((s) => s.phase === 'after');
const nproc = Math.max(...samples.map((s) => s.processes.length));
const perProc = (s, i) => s.processes[i]?.rss_mb ?? null;
const window = Math.min(60, (minutes * 60) / 3); // first/last minute, or thirds of a short run
const loadT0 = (loadStart - t0) / 1000;
const first = loadSamples.filter((s) => s.t - loadT0 <= window + 0.5);
const last = loadSamples.filter((s) => s.t >= loadT0 + minutes * 60 - window - 0.5);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
/** Least-squares slope of y over t, per minute. */
function slopePerMin(pts) {
  if (pts.length < 2) return null;
  const mt = mean(pts.map((p) => p[0]));
  const my = mean(pts.map((p) => p[1]));
  let num = 0;
  let den = 0;
  for (const [t, y] of pts) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? null : (num / den) * 60;
}
const procStats = [];
for (let i = 0; i < nproc; i++) {
  const y = (ss) => ss.map((s) => perProc(s, i)).filter((v) => v !== null);
  const steady = loadSamples.filter((s) => s.t - loadT0 > window);
  procStats.push({
    process: i === 0 ? 'main' : `child ${i}`,
    pid: samples.at(-1)?.processes[i]?.pid ?? null,
    idle_mb: round1(median(y(idleSamples))),
    load_median_mb: round1(median(y(loadSamples))),
    load_max_mb: Math.max(...y(loadSamples)),
    first_window_mb: round1(mean(y(first))),
    last_window_mb: round1(mean(y(last))),
    slope_mb_per_min_all: round2(slopePerMin(loadSamples.map((s) => [s.t, perProc(s, i)]).filter((p) => p[1] !== null))),
    slope_mb_per_min_after_first: round2(slopePerMin(steady.map((s) => [s.t, perProc(s, i)]).filter((p) => p[1] !== null))),
    after_idle_mb: after ? perProc(after, i) : null,
    fds_idle: idleSamples[0]?.processes[i]?.fds ?? null,
    fds_load_max: Math.max(...loadSamples.map((s) => s.processes[i]?.fds ?? 0)),
    fds_after: after?.processes[i]?.fds ?? null,
  });
}
function round1(v) {
  return v == null ? null : Number(v.toFixed(1));
}
function round2(v) {
  return v == null ? null : Number(v.toFixed(2));
}
const heapFirst = round1(mean(first.map((s) => s.heap_used_mb).filter((v) => v != null)));
const heapLast = round1(mean(last.map((s) => s.heap_used_mb).filter((v) => v != null)));
const mi = machineInfo();
const lines = [];
const say = (s = '') => lines.push(s);
say(
  `\nmachine: ${mi.cpus} x ${mi.cpu_model}, kernel ${mi.kernel}, node ${mi.node}, loadavg at end ${machineInfo().loadavg_at_start.join(' ')}`,
);
say(
  `router: meridian serve ${workers ? `workers: ${workers}` : '(1 process)'}, access log at info to /dev/null; ${minutes} min, ${concurrency} client loops`,
);
say(
  `\nRSS per router process (MB); first/last = mean over the first/last ${window} s of load; slope by least squares ` +
    `over all load samples, and "steady" over those after the first ${window} s`,
);
say(
  table(
    ['process', 'idle', 'load_med', 'load_max', 'first', 'last', 'slope/min', 'steady slope/min', 'after_idle', 'fds idle/max/after'],
    procStats.map((p) => [
      p.process,
      p.idle_mb,
      p.load_median_mb,
      p.load_max_mb,
      p.first_window_mb,
      p.last_window_mb,
      p.slope_mb_per_min_all,
      p.slope_mb_per_min_after_first,
      p.after_idle_mb,
      `${p.fds_idle}/${p.fds_load_max}/${p.fds_after}`,
    ]),
  ),
);
say(`heapUsed from /metrics (MB): first ${heapFirst}, last ${heapLast}; in-flight after load: ${after?.in_flight ?? '-'}`);
say(`retries: ${after?.retries ?? '-'}, ejections: ${after?.ejections ?? '-'}`);
say(
  `eu-west backend, /slow requests still waiting (client aborted after 50 ms, backend answers after 2 s): ` +
    `median under load ${median(loadSamples.map((s) => s.backend_eu?.slowPending))}, after load ${after?.backend_eu?.slowPending ?? '-'}; ` +
    `backend connections after load ${after?.backend_eu?.connections ?? '-'}`,
);
say(`\nOutcomes (operation status: count), ${totalOps()} operations in ${minutes} min:`);
for (const [k, v] of Object.entries(counts).sort()) say(`  ${k.padEnd(40)} ${v}`);
say(`\n${geoipCostText(geo)}`);
for (const n of notes) say(`NOTE: ${n}`);
console.log(lines.join('\n'));

const out = path.join(resultsDir, `soak-${runId}.json`);
const json = {
  date: new Date().toISOString(),
  machine: mi,
  settings: { minutes, sampleSec, concurrency, idleSec, workers },
  geoip: geo,
  processes: procStats,
  heap_first_mb: heapFirst,
  heap_last_mb: heapLast,
  outcomes: counts,
  samples,
  notes,
};
fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
fs.copyFileSync(out, path.join(resultsDir, 'soak-latest.json'));
fs.writeFileSync(path.join(runDir, 'report.txt'), lines.join('\n') + '\n');
console.log(`\nJSON: ${path.relative(ROOT, out)} (and results/soak-latest.json); config and logs: ${path.relative(ROOT, runDir)}/`);
process.exit(0);
