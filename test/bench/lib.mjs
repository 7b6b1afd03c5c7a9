// Shared plumbing for the benchmark scripts (bench.mjs, soak.mjs): free ports, child processes in
// their own process groups (torn down on exit, Ctrl-C and SIGTERM), CPU pinning, readiness checks,
// RSS of a process tree, /proc/stat CPU shares, machine info. Plain ESM so it runs right after
// `npm ci && npm run build` with no extra compile step.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const CLI = path.join(ROOT, 'dist/cli.js');

/** 100-byte body (99 characters and a newline), the same size as the peer harness's backend. */
export const BODY = 'meridian-bench backend: 100-byte static body for reverse-proxy throughput tests'.padEnd(99, '.') + '\n';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether an executable is on PATH. */
export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** A free TCP port on 127.0.0.1 (bound and released; racy in theory, fine on a dev box). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * CPU layout: with taskset and ≥ 2 CPUs, load generator + backend on CPU 0 and the proxy under
 * test alone on CPU 1 (as the peer harness does), so each proxy gets exactly one core and the
 * cpu columns say which core was busy. Otherwise everything floats.
 */
export function cpuLayout(pin) {
  const n = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const all = `0-${n - 1}`;
  if (pin && n >= 2 && have('taskset')) return { pinned: true, ncpu: n, load: '0', proxy: '1', all };
  return { pinned: false, ncpu: n, load: null, proxy: null, all: null };
}

/**
 * Child processes, each in its own process group (detached), so that killing the group also
 * kills whatever it started (nginx workers, cluster workers). `shutdown()` sends SIGTERM to every
 * group, waits up to `graceMs`, then SIGKILLs what is left; an `exit` hook SIGKILLs synchronously
 * if the script dies another way.
 */
export class Procs {
  constructor() {
    this.list = [];
    this.done = false;
    process.on('exit', () => this.killNow('SIGKILL'));
  }

  /**
   * start(name, cmd, args, { cpus, stdout, stderr, env, cwd }) → ChildProcess.
   * stdout/stderr: a file path, 'ignore', or 'pipe'.
   */
  start(name, cmd, args, opts = {}) {
    const open = (where) => (where === undefined || where === 'ignore' ? 'ignore' : where === 'pipe' ? 'pipe' : fs.openSync(where, 'a'));
    const out = open(opts.stdout);
    const err = open(opts.stderr ?? opts.stdout);
    let file = cmd;
    let argv = args;
    if (opts.cpus) {
      file = 'taskset';
      argv = ['-c', opts.cpus, cmd, ...args];
    }
    const child = spawn(file, argv, {
      detached: true,
      stdio: ['ignore', out, err],
      env: { ...process.env, ...(opts.env ?? {}) },
      cwd: opts.cwd ?? ROOT,
    });
    for (const fd of [out, err]) if (typeof fd === 'number') fs.closeSync(fd);
    const rec = { name, child, exited: false, code: null };
    child.on('exit', (code, signal) => {
      rec.exited = true;
      rec.code = code ?? signal;
    });
    child.on('error', () => {
      rec.exited = true;
    });
    this.list.push(rec);
    return child;
  }

  killNow(signal) {
    for (const r of this.list) {
      // An exited group leader's pid may have been reused: only signal groups we know are alive.
      if (r.child.pid === undefined || r.exited) continue;
      try {
        process.kill(-r.child.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** Stop one child's process group (SIGTERM, then SIGKILL after graceMs). */
  async stop(child, graceMs = 3000) {
    const rec = this.list.find((r) => r.child === child);
    if (!rec || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const until = Date.now() + graceMs;
    while (!rec.exited && Date.now() < until) await sleep(50);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // exited within the grace period
    }
  }

  async shutdown(graceMs = 3000) {
    if (this.done) return;
    this.done = true;
    this.killNow('SIGTERM');
    const until = Date.now() + graceMs;
    while (this.list.some((r) => !r.exited) && Date.now() < until) await sleep(50);
    this.killNow('SIGKILL');
  }
}

/**
 * Tear everything down on Ctrl-C / SIGTERM, and bound the whole script by `limitMs` (a benchmark
 * that hangs must not keep servers running). Returns a function that disarms the time limit.
 */
export function guard(procs, limitMs, label) {
  const bail = async (why, code) => {
    console.error(`\n${label}: ${why}; stopping every server it started`);
    await procs.shutdown(1500);
    process.exit(code);
  };
  process.on('SIGINT', () => bail('interrupted (SIGINT)', 130));
  process.on('SIGTERM', () => bail('terminated (SIGTERM)', 143));
  const t = setTimeout(() => bail(`time limit of ${Math.round(limitMs / 1000)} s reached`, 124), limitMs);
  return () => clearTimeout(t);
}

/**
 * GET http://127.0.0.1:port/path once (own connection) → { status, body, headers } or null on error.
 * `secure`: over HTTPS, any certificate accepted (the bench's own self-signed one).
 */
export function get(port, urlPath, headers = {}, timeoutMs = 2000, secure = false) {
  return new Promise((resolve) => {
    const opts = { host: '127.0.0.1', port, path: urlPath, headers, agent: false, timeout: timeoutMs };
    const client = secure ? https : http;
    const req = client.get(secure ? { ...opts, rejectUnauthorized: false } : opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Poll until `check()` resolves truthy, or throw after timeoutMs (naming `what`, plus `hint()`). */
export async function waitFor(what, check, timeoutMs, hint = () => '') {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`${what} not ready after ${timeoutMs} ms${hint()}`);
    await sleep(100);
  }
}

/** Last lines of a log file, for error messages. */
export function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// /proc readers (Linux). Everything returns null elsewhere rather than failing the benchmark.

function readProc(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Resident set size of one process in bytes (VmRSS), or null. */
export function rssOf(pid) {
  const s = readProc(`/proc/${pid}/status`);
  const m = s && /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) * 1024 : null;
}

/** pid and every descendant (via /proc/PID/task/TID/children). */
export function processTree(pid) {
  const out = [];
  const walk = (p) => {
    out.push(p);
    let tasks;
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      const c = readProc(`/proc/${p}/task/${t}/children`);
      if (c) for (const k of c.trim().split(/\s+/).filter(Boolean)) walk(Number(k));
    }
  };
  walk(pid);
  return out;
}

/** Node processes of a tree (a `taskset` or `sh` wrapper is not counted), each with its RSS. */
export function nodeRss(rootPid) {
  return processTree(rootPid)
    .filter((p) => (readProc(`/proc/${p}/comm`) ?? '').trim().startsWith('node'))
    .map((pid) => ({ pid, rss: rssOf(pid) }))
    .filter((x) => x.rss !== null);
}

/** Per-CPU busy/idle/steal jiffies. */
export function cpuSnap() {
  const s = readProc('/proc/stat');
  if (!s) return null;
  const out = {};
  for (const line of s.split('\n')) {
    const f = line.split(/\s+/);
    if (!/^cpu\d+$/.test(f[0] ?? '')) continue;
    const n = f.slice(1).map(Number);
    out[f[0]] = { busy: n[0] + n[1] + n[2] + n[5] + n[6], idle: n[3] + n[4], steal: n[7] };
  }
  return out;
}

/** Busy % per CPU and steal % between two snapshots. */
export function cpuUse(a, b) {
  if (!a || !b) return {};
  const out = {};
  let st = 0;
  let tt = 0;
  for (const [cpu, x] of Object.entries(b)) {
    const y = a[cpu];
    if (!y) continue;
    const db = x.busy - y.busy;
    const di = x.idle - y.idle;
    const ds = x.steal - y.steal;
    const t = db + di + ds;
    out[cpu] = t > 0 ? Math.round((100 * db) / t) : 0;
    st += ds;
    tt += t;
  }
  out.steal = tt > 0 ? Number(((100 * st) / tt).toFixed(1)) : 0;
  return out;
}

/** The machine, for reports: CPUs, model, kernel, Node, load average when the run started. */
export function machineInfo() {
  const cpuinfo = readProc('/proc/cpuinfo') ?? '';
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const ver = (cmd, args, re) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' }); // `wrk -v` exits 1 after printing its version
    if (r.error) return null;
    const text = `${r.stdout}${r.stderr}`;
    return re ? (re.exec(text)?.[1] ?? text.trim()) : text.trim().split('\n')[0];
  };
  return {
    cpus: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    cpu_model: model,
    mem_total_mb: Math.round(os.totalmem() / 2 ** 20),
    kernel: os.release(),
    os: (readProc('/etc/os-release') ?? '').match(/PRETTY_NAME="([^"]+)"/)?.[1] ?? os.type(),
    node: process.version,
    loadavg_at_start: os.loadavg().map((x) => Number(x.toFixed(2))),
    nginx: have('nginx') ? ver('nginx', ['-v'], /nginx\/(\S+)/) : null,
    wrk: have('wrk') ? ver('wrk', ['-v'], /wrk (\S+)/) : null,
  };
}

export const mb = (bytes) => (bytes == null ? null : Number((bytes / 2 ** 20).toFixed(1)));

/** Fixed-width table: first column left-aligned, the rest right-aligned. */
export function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map((c) => (c == null ? '-' : String(c))));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ')).join('\n');
}

export function stamp(d = new Date()) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

/**
 * What loading geoip-lite costs one process: a fresh `node` that requires the router's other
 * runtime dependencies, with and without geoip-lite, measured after a forced GC (median of `n`
 * pairs). geoip-lite reads its city database into Buffers synchronously at require time, so the
 * difference is paid once per process — once per worker with `workers: N`.
 */
export function geoipCost(n = 3) {
  const deps = "require('http-proxy');require('pino');require('prom-client');require('yaml');require('cookie');";
  const probe = (withGeo) =>
    `${deps}const t=process.hrtime.bigint();${withGeo ? "require('geoip-lite').lookup('5.9.0.1');" : ''}` +
    'const ms=Number(process.hrtime.bigint()-t)/1e6;global.gc();const m=process.memoryUsage();' +
    'console.log(JSON.stringify({ms,rss:m.rss,heapUsed:m.heapUsed,external:m.external,arrayBuffers:m.arrayBuffers}))';
  const run = (withGeo) => {
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', probe(withGeo)], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node -e failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const without = [];
  const withGeo = [];
  for (let i = 0; i < n; i++) {
    without.push(run(false));
    withGeo.push(run(true));
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const out = { samples: n };
  for (const k of ['rss', 'heapUsed', 'external', 'arrayBuffers']) {
    out[`${k}_without_mb`] = mb(med(without, k));
    out[`${k}_with_mb`] = mb(med(withGeo, k));
    out[`${k}_cost_mb`] = mb(med(withGeo, k) - med(without, k));
  }
  out.load_ms = Number(med(withGeo, 'ms').toFixed(1));
  return out;
}

export function geoipCostText(g) {
  return (
    `GeoIP (geoip-lite ${geoipVersion()}) per process: RSS +${g.rss_cost_mb} MB (${g.rss_without_mb} -> ${g.rss_with_mb} MB), ` +
    `of which Buffers (external) +${g.external_cost_mb} MB and JS heap +${g.heapUsed_cost_mb} MB; loads in ${g.load_ms} ms (median of ${g.samples})`
  );
}

export function geoipVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/geoip-lite/package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

/**
 * Load generators running on this machine that we did not start (wrk, autocannon), so a run that
 * shared the machine with someone else's benchmark can be flagged instead of silently trusted.
 */
export function foreignLoad(ownPids = []) {
  const own = new Set(ownPids);
  const out = [];
  let pids;
  try {
    pids = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return out;
  }
  for (const pid of pids) {
    if (own.has(pid) || pid === process.pid) continue;
    const comm = (readProc(`/proc/${pid}/comm`) ?? '').trim();
    if (comm === 'wrk' || (comm.startsWith('node') && (readProc(`/proc/${pid}/cmdline`) ?? '').includes('autocannon'))) {
      out.push(pid);
    }
  }
  return out;
}

/**
 * The realistic Meridian config every benchmark runs: three regions (us-east with its countries,
 * eu-west, ap-southeast), the load generator's loopback trusted for X-Forwarded-For so GeoIP runs,
 * a read-local-write-global `/api/` route with read-your-writes and an active-active default.
 * `health` and `extra` (more top-level keys, e.g. passive, timeouts) let a benchmark tune it.
 */
export function meridianYaml({
  by,
  port,
  adminPort,
  ports,
  workers = 0,
  health = { interval: '2s', timeout: '1s' },
  extra = '',
  apNote = '',
}) {
  return `# Generated by ${by}: a realistic Meridian config for the benchmark.
listen: 127.0.0.1:${port}
admin:
  listen: 127.0.0.1:${adminPort}
clientIp:
  trustedProxies: [127.0.0.1/32]     # the load generator's X-Forwarded-For is believed: GeoIP runs
regions:
  - name: us-east                    # Ashburn
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [http://127.0.0.1:${ports.usEast}]
    countries: [US, CA]
  - name: eu-west                    # Dublin
    location: { lat: 53.35, lon: -6.26 }
    endpoints: [http://127.0.0.1:${ports.euWest}]
  - name: ap-southeast               # Singapore${apNote ? `; ${apNote}` : ''}
    location: { lat: 1.29, lon: 103.85 }
    endpoints: [http://127.0.0.1:${ports.apSoutheast}]
health:
  path: /health
  interval: ${health.interval}
  timeout: ${health.timeout}
${extra}writes:
  regions: [us-east, eu-west]
readYourWrites:
  secret: meridian-bench-secret-0123456789
routes:
  - name: api
    match: { pathPrefix: /api/ }
    mode: read-local-write-global
    readYourWrites: 10s
  - name: default
    match: { pathPrefix: / }
    mode: active-active
${workers ? `workers: ${workers}\n` : ''}`;
}

/**
 * A self-signed certificate and key for `name` (EC P-256, one day) written into `dir` as
 * `name.crt` / `name.key`, made with openssl; null when openssl is not installed.
 */
export function selfSignedCert(dir, name = 'bench.example') {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  args.push('-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert);
  const r = spawnSync('openssl', args, { stdio: 'ignore' });
  return r.status === 0 ? { cert, key } : null;
}

/**
 * An etcd for the "meridian-fleet" target: the `etcd` binary (or ETCD_BIN) on free loopback ports with
 * a data dir under `dir`, started through `procs` (so it dies with the bench). Resolves its client URL
 * once it answers /health, or null when etcd is not installed.
 */
export async function startEtcd(procs, dir) {
  const bin = process.env.ETCD_BIN ?? 'etcd';
  if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const client = await freePort();
  const peer = await freePort();
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const args = ['--name', 'bench', '--data-dir', path.join(dir, 'etcd'), '--listen-client-urls', c, '--advertise-client-urls', c];
  args.push('--listen-peer-urls', p, '--initial-advertise-peer-urls', p, '--initial-cluster', `bench=${p}`, '--log-level', 'warn');
  procs.start('etcd', bin, args, { stdout: path.join(dir, 'etcd.log') });
  await waitFor(
    'etcd /health',
    async () => (await get(client, '/health'))?.status === 200,
    20_000,
    () => `\n${tail(path.join(dir, 'etcd.log'))}`,
  );
  return c;
}
