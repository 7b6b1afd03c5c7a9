#!/usr/bin/env node
// npm run bench: Meridian with a realistic config vs. a bare http-proxy script vs. the backend itself.
// See test/bench/README.md and docs/benchmarks.md. Every server binds 127.0.0.1; every run is bounded
// in time; every process started here is in its own process group and torn down at exit.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import {
  BODY,
  CLI,
  HERE,
  ROOT,
  Procs,
  cpuLayout,
  cpuSnap,
  cpuUse,
  foreignLoad,
  freePort,
  get,
  guard,
  have,
  machineInfo,
  mb,
  median,
  nodeRss,
  sleep,
  startEtcd,
  stamp,
  table,
  tail,
  waitFor,
  meridianYaml,
  selfSignedCert,
} from './lib.mjs';

const HELP = `Usage: npm run bench -- [options]        (or: node test/bench/bench.mjs [options])

Starts a loopback backend (nginx when installed, else Node), a bare http-proxy keep-alive proxy
("baseline"), and Meridian from a realistic config (3 regions, GeoIP nearest from X-Forwarded-For,
a read-local-write-global route, metrics, access log at info), then drives each with the same load
(wrk, else autocannon), rounds interleaved, and prints medians: req/s, p50, p99, the ratios
meridian/baseline and meridian/direct, the latency added at 10 connections against a backend that
answers after 10 ms, and the RSS of every Node process at idle and under load. "meridian-tls" is
the same config with a TLS listener (a self-signed certificate made with openssl at start), driven
over HTTPS with keep-alive in the same rounds; it is reported as its own row and as a ratio to
plain-HTTP "meridian". "meridian-fleet" is the same config as a member of a fleet (of one) through
an etcd the bench starts (temp data dir, free ports): what the shared-state gate costs a request;
reported as a ratio to "meridian".

Options (environment variable in brackets):
  --quick                2 short rounds (< 1 min): 1 s warm-up, 3 s throughput, 2 s latency
  --rounds N             interleaved rounds [ROUNDS] (default 3)
  --duration S           seconds per throughput run [DURATION] (default 10)
  --warmup S             seconds of warm-up before every run [WARMUP] (default 2)
  --conns N              connections for throughput [CONNS] (default 50)
  --delay-duration S     seconds per latency run [DELAY_DURATION] (default 5)
  --delay-conns N        connections for the latency run [DELAY_CONNS] (default 10)
  --no-tls               leave out the "meridian-tls" target (also left out when openssl is missing)
  --no-fleet             leave out the "meridian-fleet" target (also left out when etcd is missing)
  --workers N            add a "meridian-Nw" target with \`workers: N\` when the config accepts the key
                         [WORKERS] (default 2 in a full run, none with --quick; 0 = never)
  --loader wrk|autocannon  load generator (default wrk when installed)
  --backend nginx|node   backend (default nginx when installed)
  --no-pin               do not pin with taskset (default: load+backend on CPU 0, proxy on CPU 1)
  --access-log FILE      Meridian's access log (stdout) goes here instead of /dev/null
  --log-level LEVEL      Meridian's log level (default info: one access line per request; warn
                         filters the access line by level, to see what logging costs)
  --also-log-level LEVEL add a "meridian-LEVEL" target: the same config at that log level, measured
                         in the same interleaved rounds (paired A/B of the access log's cost)
  --also-cli PATH        add a "meridian-other" target: the same config served by another build's
                         dist/cli.js (e.g. a worktree of an earlier commit), in the same interleaved
                         rounds — a paired before/after that a busy machine skews alike [ALSO_CLI]
  --path P               throughput path (default /api/items: the read-local-write-global route)
  --xff IP               client address sent in X-Forwarded-For (default 5.9.0.1, Germany)
  --only a,b             only these targets (direct, baseline, meridian, meridian-tls, meridian-fleet, meridian-Nw)
  --wait-quiet S         before each run, wait up to S seconds while someone else's wrk/autocannon
                         runs on this machine [WAIT_QUIET] (default 0: do not wait, only flag the run)
  -h, --help             this text

Output: a table on stdout; JSON in test/bench/results/bench-<date>.json and results/latest.json;
configs and server logs in test/bench/results/run-<date>/.`;

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    conns: { type: 'string' },
    'delay-duration': { type: 'string' },
    'delay-conns': { type: 'string' },
    workers: { type: 'string' },
    loader: { type: 'string' },
    backend: { type: 'string' },
    'no-pin': { type: 'boolean' },
    'no-tls': { type: 'boolean' },
    'no-fleet': { type: 'boolean' },
    'access-log': { type: 'string' },
    path: { type: 'string' },
    xff: { type: 'string' },
    only: { type: 'string' },
    'wait-quiet': { type: 'string' },
    'log-level': { type: 'string' },
    'also-log-level': { type: 'string' },
    'also-cli': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}

const num = (flag, env, full, quick) => {
  const v = opt[flag] ?? process.env[env];
  const n = v === undefined ? (opt.quick ? quick : full) : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: not a number: ${v}`);
  return n;
};
const cfg = {
  quick: Boolean(opt.quick),
  rounds: Math.max(1, num('rounds', 'ROUNDS', 3, 2)),
  duration: num('duration', 'DURATION', 10, 3),
  warmup: num('warmup', 'WARMUP', 2, 1),
  conns: num('conns', 'CONNS', 50, 50),
  delayDuration: num('delay-duration', 'DELAY_DURATION', 5, 2),
  delayConns: num('delay-conns', 'DELAY_CONNS', 10, 10),
  workers: num('workers', 'WORKERS', 2, 0),
  waitQuiet: num('wait-quiet', 'WAIT_QUIET', 0, 0),
  path: opt.path ?? '/api/items',
  delayPath: '/api/delay',
  xff: opt.xff ?? '5.9.0.1',
};
const header = `X-Forwarded-For: ${cfg.xff}`;

if (!fs.existsSync(CLI)) {
  console.error(`${CLI} not found: run \`npm run build\` first`);
  process.exit(1);
}
const notes = [];
const loader = opt.loader ?? (have('wrk') ? 'wrk' : 'autocannon');
if (loader === 'wrk' && !have('wrk')) throw new Error('--loader wrk: wrk is not installed');
if (loader === 'autocannon')
  notes.push('autocannon reports latency in whole milliseconds: p50/p99 and +p50 are coarse; install wrk for sub-ms figures');
const useNginx = (opt.backend ?? (have('nginx') ? 'nginx' : 'node')) === 'nginx';
if (useNginx && !have('nginx')) throw new Error('--backend nginx: nginx is not installed');
const ECHO_MODULE = '/usr/lib/nginx/modules/ngx_http_echo_module.so';
const layout = cpuLayout(!opt['no-pin']);

const runId = stamp();
const resultsDir = path.join(HERE, 'results');
const runDir = path.join(resultsDir, `run-${runId}`);
fs.mkdirSync(runDir, { recursive: true });

const procs = new Procs();
// Planned time + startup margin, times 1.5: the hard bound of the whole script.
const perRound = (t) => t * (cfg.warmup + cfg.duration + cfg.warmup + cfg.delayDuration);
const disarm = guard(procs, (perRound(5) * cfg.rounds + 90 + 10 * cfg.rounds * cfg.waitQuiet) * 1500, 'bench');

// ------------------------------------------------------------------------------------------------
// 1. Backend: three ports so the three regions have distinct endpoints (the validator rejects one
//    endpoint URL in two regions). `/…/delay` answers after 10 ms, everything else at once.

const ports = { back: [await freePort(), await freePort(), await freePort()] };
let backendKind;
let delayAvailable = true;

if (useNginx) {
  const echo = fs.existsSync(ECHO_MODULE);
  if (!echo) {
    delayAvailable = false;
    notes.push(`nginx has no echo module (${ECHO_MODULE}; apt-get install libnginx-mod-http-echo): latency test skipped`);
  }
  const dir = path.join(runDir, 'nginx');
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const quoted = JSON.stringify(BODY); // "...\n": nginx reads \n in a quoted string as a newline
  const server = (port) => `
    server {
        listen 127.0.0.1:${port} backlog=4096;
        ${echo ? `location ~ /delay$ { echo_sleep 0.010; echo -n ${quoted}; }` : ''}
        location / { return 200 ${quoted}; }
    }`;
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `# Generated by test/bench/bench.mjs: the backend of every target (see the peer harness's conf/backend-nginx.conf).
${echo ? `load_module ${ECHO_MODULE};` : ''}
pid nginx.pid;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 75s;
    keepalive_requests 100000000;   # never recycle keep-alive connections during a run
    default_type text/plain;
    client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
${ports.back.map(server).join('\n')}
}
`,
  );
  procs.start(
    'backend',
    'nginx',
    ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off; worker_processes 1;'],
    {
      cpus: layout.load,
      stdout: path.join(runDir, 'backend.log'),
    },
  );
  backendKind = `nginx ${machineInfo().nginx ?? ''} (1 worker, return 200${echo ? '; /delay: echo_sleep 10 ms' : ''})`.trim();
} else {
  procs.start('backend', process.execPath, [path.join(HERE, 'backend.mjs'), ...ports.back.map((p) => `ok:${p}`)], {
    cpus: layout.load,
    stdout: path.join(runDir, 'backend.log'),
  });
  backendKind = 'node http, 1 process (not cluster), 3 ports; /delay: setTimeout 10 ms';
}
for (const p of ports.back) {
  await waitFor(
    `backend :${p}`,
    async () => (await get(p, '/'))?.body === BODY,
    15_000,
    () => `\n${tail(path.join(runDir, 'backend.log'))}`,
  );
}
const [usEast, euWest, apSoutheast] = ports.back;

// ------------------------------------------------------------------------------------------------
// 2. Targets. Direct and baseline point at eu-west's backend: the one Meridian picks for 5.9.0.1.

const targets = [];
targets.push({ name: 'direct', port: euWest, kind: 'backend', pid: null });

ports.baseline = await freePort();
{
  const child = procs.start(
    'baseline',
    process.execPath,
    [path.join(HERE, 'proxy-http-proxy.mjs'), String(ports.baseline), `127.0.0.1:${euWest}`],
    {
      cpus: layout.proxy,
      stdout: path.join(runDir, 'baseline.log'),
    },
  );
  targets.push({
    name: 'baseline',
    port: ports.baseline,
    kind: 'http-proxy 1.18.1, keep-alive agent, nothing else',
    pid: child.pid,
    cpus: layout.proxy,
  });
}

/** `tls`: { cert, key } files for an HTTPS listener, else plain HTTP. */
async function startMeridian(name, workers, cpus, { logLevel = opt['log-level'] ?? 'info', cli = CLI, tls = null, etcd = null } = {}) {
  const port = await freePort();
  const adminPort = await freePort();
  const file = path.join(runDir, `${name}.yaml`);
  let extra = tls ? `tls: { cert: ${tls.cert}, key: ${tls.key} }\n` : '';
  if (etcd) extra += `fleet:\n  etcd: { endpoints: ['${etcd}'], prefix: /meridian/bench/ }\n  id: bench-1\n`;
  fs.writeFileSync(
    file,
    meridianYaml({ by: 'test/bench/bench.mjs', port, adminPort, ports: { usEast, euWest, apSoutheast }, workers, extra }),
  );
  if (workers) {
    const v = spawnSync(process.execPath, [cli, 'validate', '--config', file], { encoding: 'utf8' });
    if (v.status !== 0) {
      const why =
        `${v.stdout}${v.stderr}`
          .trim()
          .split('\n')
          .find((l) => l.includes('workers')) ?? `${v.stdout}${v.stderr}`.trim();
      notes.push(`${name} skipped: this build does not accept \`workers: ${workers}\` (${why})`);
      return null;
    }
  }
  const log = path.join(runDir, `${name}.log`);
  const child = procs.start(name, process.execPath, [cli, 'serve', '--config', file, '--log-level', logLevel], {
    cpus,
    stdout: opt['access-log'] ?? '/dev/null',
    stderr: log,
  });
  const hint = () => `\n${tail(log)}`;
  await waitFor(`${name} /readyz`, async () => (await get(adminPort, '/readyz'))?.status === 200, 30_000, hint);
  const probe = await waitFor(
    `${name} forwarding`,
    async () => {
      const r = await get(port, cfg.path, { 'x-forwarded-for': cfg.xff }, 2000, tls !== null);
      return r?.status === 200 && r.body === BODY ? r : null;
    },
    10_000,
    hint,
  );
  const region = probe.headers['x-meridian-region'];
  const reason = probe.headers['x-meridian-reason'];
  return {
    name,
    port,
    adminPort,
    pid: child.pid,
    cpus,
    config: file,
    workers: workers || 1,
    secure: tls !== null,
    kind:
      `${cli === CLI ? '' : `${cli}: `}meridian serve, ${workers ? `workers: ${workers}` : '1 process'}, log level ${logLevel}` +
      `${tls ? ', HTTPS (self-signed EC P-256, keep-alive)' : ''}${etcd ? ', fleet member (etcd on loopback)' : ''}; GET ${cfg.path} from ${cfg.xff} -> ${region} (${reason})`,
  };
}

const m1 = await startMeridian('meridian', 0, layout.proxy);
targets.push(m1);
if (!opt['no-tls']) {
  const cert = selfSignedCert(runDir);
  if (cert) targets.push(await startMeridian('meridian-tls', 0, layout.proxy, { tls: cert }));
  else notes.push('meridian-tls skipped: openssl is not installed (it makes the self-signed certificate)');
}
if (!opt['no-fleet']) {
  const etcd = await startEtcd(procs, runDir);
  if (etcd) targets.push(await startMeridian('meridian-fleet', 0, layout.proxy, { etcd }));
  else notes.push('meridian-fleet skipped: etcd is not installed (apt-get install etcd-server)');
}
if (opt['also-log-level'])
  targets.push(await startMeridian(`meridian-${opt['also-log-level']}`, 0, layout.proxy, { logLevel: opt['also-log-level'] }));
const alsoCli = opt['also-cli'] ?? process.env.ALSO_CLI;
if (alsoCli) targets.push(await startMeridian('meridian-other', 0, layout.proxy, { cli: path.resolve(alsoCli) }));
if (cfg.workers > 0) {
  // Several workers cannot share one core meaningfully; like the peer harness's nginx-2w they get
  // every CPU and so compete with the load generator and the backend on this 2-core box.
  const mw = await startMeridian(`meridian-${cfg.workers}w`, cfg.workers, layout.all);
  if (mw) targets.push(mw);
}
const only = opt.only ? new Set(opt.only.split(',').map((s) => s.trim())) : null;
const active = only ? targets.filter((t) => only.has(t.name)) : targets;

// ------------------------------------------------------------------------------------------------
// 3. Load. wrk -t1 with a done() hook (no per-request Lua), or autocannon in its own process.
//    Both speak HTTPS to an https:// URL, accept any certificate, and keep connections alive, so
//    a TLS handshake is paid once per connection, not per request.

function load(t, urlPath, conns, seconds, onMid) {
  const url = `${t.secure ? 'https' : 'http'}://127.0.0.1:${t.port}${urlPath}`;
  let cmd;
  let args;
  if (loader === 'wrk') {
    cmd = 'wrk';
    args = ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', '-s', path.join(HERE, 'peers', 'wrk-json.lua'), '-H', header, url];
  } else {
    cmd = process.execPath;
    args = [path.join(HERE, 'autocannon-run.mjs'), url, String(conns), String(seconds), header];
  }
  if (layout.pinned) {
    args = ['-c', layout.load, cmd, ...args];
    cmd = 'taskset';
  }
  return new Promise((resolve, reject) => {
    const child = procs.start('load', cmd, args, { stdout: 'pipe', stderr: 'pipe' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const mid = onMid ? setTimeout(() => onMid(child.pid), (seconds * 1000) / 2) : null;
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.on('close', () => {
      clearTimeout(kill);
      if (mid) clearTimeout(mid);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) return reject(new Error(`${cmd} gave no result for ${url}:\n${out.slice(-1000)}`));
      resolve(
        Object.fromEntries(
          line
            .slice(7)
            .split(' ')
            .map((kv) => kv.split('='))
            .map(([k, v]) => [k, Number(v)]),
        ),
      );
    });
  });
}

const rss = (t) => (t.pid ? nodeRss(t.pid) : null);
const raw = [];
const idleRss = {};
for (const t of active) if (t.pid) idleRss[t.name] = rss(t);

console.log(`Meridian bench ${cfg.quick ? '(quick) ' : ''}— ${active.map((t) => t.name).join(', ')}; ${cfg.rounds} rounds, interleaved`);
console.log(
  `  load: ${loader}, GET ${cfg.path} ${cfg.conns} conns ${cfg.duration}s` +
    (delayAvailable ? `; GET ${cfg.delayPath} ${cfg.delayConns} conns ${cfg.delayDuration}s` : '') +
    `; warm-up ${cfg.warmup}s; header "${header}"`,
);
console.log(
  `  layout: ${layout.pinned ? `load+backend on CPU ${layout.load}, proxies on CPU ${layout.proxy} (multi-worker targets on ${layout.all})` : 'not pinned'}`,
);

async function measure(round, mode, t) {
  const [p, conns, secs] = mode === 'rps' ? [cfg.path, cfg.conns, cfg.duration] : [cfg.delayPath, cfg.delayConns, cfg.delayDuration];
  if (cfg.waitQuiet > 0 && foreignLoad().length > 0) {
    const until = Date.now() + cfg.waitQuiet * 1000;
    process.stdout.write(`  (another load generator is running; waiting up to ${cfg.waitQuiet}s ...`);
    while (foreignLoad().length > 0 && Date.now() < until) await sleep(500);
    console.log(foreignLoad().length > 0 ? ' still running, measuring anyway)' : ' done)');
  }
  if (cfg.warmup > 0) await load(t, p, conns, cfg.warmup);
  const foreign = new Set(foreignLoad());
  const before = cpuSnap();
  let mid = null;
  const r = await load(t, p, conns, secs, (ownPid) => {
    mid = rss(t);
    for (const pid of foreignLoad([ownPid])) foreign.add(pid);
  });
  const cpu = cpuUse(before, cpuSnap());
  // Someone else's wrk/autocannon ran at the start or half-way: this row shared the machine.
  const shared = foreign.size > 0;
  const row = { round, mode, name: t.name, ...r, cpu, rss: mid, foreign_load_pids: [...foreign] };
  raw.push(row);
  const rssText = (mid ? ` rss=${mid.map((x) => mb(x.rss)).join('+')}MB` : '') + (shared ? ' [another load generator was running]' : '');
  console.log(
    `  round=${round} ${mode.padEnd(5)} ${t.name.padEnd(12)} rps=${r.rps.toFixed(0).padStart(6)} p50=${(r.p50_us / 1000).toFixed(3)}ms ` +
      `p99=${(r.p99_us / 1000).toFixed(3)}ms errors=${r.errors + r.non2xx} cpu=${Object.entries(cpu)
        .map(([k, v]) => `${k}:${v}`)
        .join(',')}${rssText}`,
  );
}

for (let round = 1; round <= cfg.rounds; round++) {
  for (const t of active) await measure(round, 'rps', t);
  if (delayAvailable) for (const t of active) await measure(round, 'delay', t);
}
await procs.shutdown();
disarm();
const sharedRows = raw.filter((r) => r.foreign_load_pids.length > 0).length;
if (sharedRows > 0) {
  notes.push(
    `${sharedRows} of ${raw.length} runs overlapped another load generator on this machine (wrk/autocannon we did not start): ` +
      'those numbers are not comparable; rerun on a quiet machine',
  );
}

// ------------------------------------------------------------------------------------------------
// 4. Report.

function aggregate(mode) {
  const out = {};
  for (const t of active) {
    const rs = raw.filter((r) => r.mode === mode && r.name === t.name);
    if (rs.length === 0) continue;
    const rps = rs.map((r) => r.rps);
    const loadRss = rs.map((r) => r.rss).filter(Boolean);
    out[t.name] = {
      rounds: rs.length,
      rps: median(rps),
      rps_by_round: rps,
      spread_pct: (100 * (Math.max(...rps) - Math.min(...rps))) / median(rps),
      // A run that completed no request has no latency (wrk prints 0): leave it out of the medians.
      p50_us: median(rs.filter((r) => r.requests > 0).map((r) => r.p50_us)),
      p99_us: median(rs.filter((r) => r.requests > 0).map((r) => r.p99_us)),
      errors: rs.reduce((a, r) => a + r.errors + r.non2xx, 0),
      cpu0_pct: median(rs.map((r) => r.cpu.cpu0)),
      cpu1_pct: median(rs.map((r) => r.cpu.cpu1)),
      steal_pct: median(rs.map((r) => r.cpu.steal)),
      // RSS per process, sampled half-way through each run: the largest over rounds.
      rss_load_mb: loadRss.length ? loadRss[0].map((_, i) => mb(Math.max(...loadRss.map((s) => s[i]?.rss ?? 0)))) : null,
    };
  }
  return out;
}
const thr = aggregate('rps');
const dly = aggregate('delay');
const ratio = (a, b) => (a != null && b ? a / b : null);
for (const x of Object.values(thr)) {
  x.x_direct = ratio(x.rps, thr.direct?.rps);
  x.x_baseline = ratio(x.rps, thr.baseline?.rps);
  x.p99_x_baseline = ratio(x.p99_us, thr.baseline?.p99_us);
}
// TLS against plain HTTP: the same Meridian config, so the ratio is the cost of the TLS layer.
if (thr['meridian-fleet']) thr['meridian-fleet'].x_meridian = ratio(thr['meridian-fleet'].rps, thr.meridian?.rps);
if (thr['meridian-tls']) thr['meridian-tls'].x_plain_http = ratio(thr['meridian-tls'].rps, thr.meridian?.rps);
for (const x of Object.values(dly)) {
  const over = (a, b) => (a == null || b == null ? null : a - b);
  x.p50_over_direct_us = over(x.p50_us, dly.direct?.p50_us);
  x.p99_over_direct_us = over(x.p99_us, dly.direct?.p99_us);
}
const memory = Object.fromEntries(
  active
    .filter((t) => t.pid)
    .map((t) => [
      t.name,
      {
        processes: idleRss[t.name]?.length ?? 0,
        idle_mb: (idleRss[t.name] ?? []).map((x) => mb(x.rss)),
        load_mb: thr[t.name]?.rss_load_mb ?? null,
      },
    ]),
);

const ms = (us) => (us == null ? null : (us / 1000).toFixed(3));
const r3 = (v) => (v == null ? null : v.toFixed(3));
const mi = machineInfo();
const info = {
  date: new Date().toISOString(),
  machine: mi,
  backend: backendKind,
  loader: loader === 'wrk' ? `wrk ${mi.wrk ?? ''} -t1 (done() hook only)`.trim() : 'autocannon (devDependency), own process',
  layout: layout.pinned ? `load+backend CPU ${layout.load}; proxies CPU ${layout.proxy}; multi-worker ${layout.all}` : 'not pinned',
  settings: cfg,
  access_log: `${opt['access-log'] ?? '/dev/null'} (stdout), log level ${opt['log-level'] ?? 'info'}`,
  targets: Object.fromEntries(targets.map((t) => [t.name, t.kind])),
  notes,
};

const lines = [];
const say = (s = '') => lines.push(s);
say(
  `\nmachine: ${mi.cpus} x ${mi.cpu_model}, ${mi.os}, kernel ${mi.kernel}, node ${mi.node}, loadavg at start ${mi.loadavg_at_start.join(' ')}`,
);
say(`backend: ${backendKind}`);
say(`load:    ${info.loader}; ${info.layout}`);
for (const t of active) say(`${t.name.padEnd(12)} ${t.kind}`);
for (const n of notes) say(`NOTE: ${n}`);
say(
  `\nThroughput, GET ${cfg.path} (100 B), ${cfg.conns} connections, median of ${cfg.rounds} rounds` +
    (thr['meridian-tls'] ? '; x_http = meridian-tls / meridian (HTTPS over plain HTTP, same config)' : ''),
);
say(
  table(
    ['name', 'rps', 'x_baseline', 'x_direct', 'x_http', 'p50_ms', 'p99_ms', 'p99_x_base', 'spread%', 'cpu0%', 'cpu1%', 'steal%', 'errors'],
    Object.entries(thr).map(([n, x]) => [
      n,
      x.rps.toFixed(0),
      r3(x.x_baseline),
      r3(x.x_direct),
      r3(x.x_plain_http ?? null),
      ms(x.p50_us),
      ms(x.p99_us),
      r3(x.p99_x_baseline),
      x.spread_pct.toFixed(1),
      x.cpu0_pct,
      x.cpu1_pct,
      x.steal_pct,
      x.errors,
    ]),
  ),
);
if (delayAvailable) {
  say(`\nAdded latency, GET ${cfg.delayPath} (backend answers after 10 ms), ${cfg.delayConns} connections; +p50/+p99 over direct`);
  say(
    table(
      ['name', 'p50_ms', 'p99_ms', '+p50_ms', '+p99_ms', 'rps', 'cpu1%', 'errors'],
      Object.entries(dly).map(([n, x]) => [
        n,
        ms(x.p50_us),
        ms(x.p99_us),
        ms(x.p50_over_direct_us),
        ms(x.p99_over_direct_us),
        x.rps.toFixed(0),
        x.cpu1_pct,
        x.errors,
      ]),
    ),
  );
}
say('\nMemory (RSS per Node process, MB): idle = after start, before load; load = largest half-way sample of the throughput runs');
say(
  table(
    ['name', 'processes', 'idle_mb', 'load_mb'],
    Object.entries(memory).map(([n, x]) => [n, x.processes, x.idle_mb.join(' + '), (x.load_mb ?? []).join(' + ')]),
  ),
);

// The issue's targets, for reading the numbers (a report, not a pass/fail test).
const mer = thr.meridian;
const checks = [];
if (mer && thr.baseline) {
  checks.push(
    `meridian/baseline rps ${r3(mer.x_baseline)} (target >= 0.95); p99 ${ms(mer.p99_us)} vs ${ms(thr.baseline.p99_us)} ms (target: no worse)`,
  );
}
if (dly.meridian && dly.direct) checks.push(`meridian +p50 at 10 ms backend ${ms(dly.meridian.p50_over_direct_us)} ms (target <= 1 ms)`);
// Paired per-round ratios: both targets ran within seconds of each other, so a round's ratio
// survives slow drift better than a ratio of medians; rounds that overlapped foreign load are marked.
function pairedRatios(a, b) {
  const per = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    const x = raw.find((r) => r.round === round && r.mode === 'rps' && r.name === a);
    const y = raw.find((r) => r.round === round && r.mode === 'rps' && r.name === b);
    if (!x || !y || !y.rps) continue;
    const quiet = x.foreign_load_pids.length === 0 && y.foreign_load_pids.length === 0;
    per.push({ round, ratio: x.rps / y.rps, quiet });
  }
  const quietOnes = per.filter((x) => x.quiet).map((x) => x.ratio);
  return (
    `${a}/${b} rps per round: ${per.map((x) => `${r3(x.ratio)}${x.quiet ? '' : '*'}`).join(' ')}` +
    (per.some((x) => !x.quiet) ? ' (* = overlapped foreign load)' : '') +
    (quietOnes.length ? `; median of quiet rounds ${r3(median(quietOnes))} (${quietOnes.length})` : '; no quiet round')
  );
}
if (mer && thr.baseline) checks.push(pairedRatios('meridian', 'baseline'));
const tlsRow = thr['meridian-tls'];
if (tlsRow && mer) {
  checks.push(
    `meridian-tls/meridian rps ${r3(tlsRow.x_plain_http)}; p50 ${ms(tlsRow.p50_us)} vs ${ms(mer.p50_us)} ms, ` +
      `p99 ${ms(tlsRow.p99_us)} vs ${ms(mer.p99_us)} ms (HTTPS, keep-alive: the cost of TLS on the same config)`,
  );
  checks.push(pairedRatios('meridian-tls', 'meridian'));
}
if (thr['meridian-fleet'] && mer) {
  checks.push(`meridian-fleet/meridian rps ${r3(thr['meridian-fleet'].x_meridian)} (target >= 0.98: the fleet adds at most 2 %)`);
  checks.push(pairedRatios('meridian-fleet', 'meridian'));
}
const mw = Object.keys(thr).find((n) => /^meridian-\d+w$/.test(n));
if (mw && mer)
  checks.push(`${mw}/meridian rps ${r3(thr[mw].rps / mer.rps)} (target > 1 on this 2-core box; ${mw} shares CPUs with load+backend)`);
const maxRss = Math.max(
  ...Object.entries(memory)
    .filter(([n]) => n.startsWith('meridian'))
    .flatMap(([, x]) => x.load_mb ?? []),
);
if (Number.isFinite(maxRss))
  checks.push(`largest Meridian process RSS under load ${maxRss} MB (target <= 250 MB per worker; flatness: npm run bench:soak)`);
if (checks.length) {
  say('\nAgainst the targets (development numbers on a shared machine are noisy):');
  for (const c of checks) say(`  ${c}`);
}
console.log(lines.join('\n'));

const json = { info, throughput: thr, delay: dly, memory, checks, raw };
fs.mkdirSync(resultsDir, { recursive: true });
const out = path.join(resultsDir, `bench-${runId}.json`);
fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
fs.copyFileSync(out, path.join(resultsDir, 'latest.json'));
fs.writeFileSync(path.join(runDir, 'report.txt'), lines.join('\n') + '\n');
console.log(`\nJSON: ${path.relative(ROOT, out)} (and results/latest.json); configs and logs: ${path.relative(ROOT, runDir)}/`);
process.exit(0);
