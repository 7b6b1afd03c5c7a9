import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createProbeAgents,
  EndpointProber,
  FIRST_PROBE_MAX_DELAY_MS,
  probeOnce,
  type ProbeOptions,
  type ProbeResult,
  type Scheduler,
} from '../../src/health/prober.js';
import { HealthStore } from '../../src/health/store.js';
import { systemClock } from '../../src/clock.js';
import { recorder, snapshot } from '../unit/health-fixtures.js';

const OPTS: ProbeOptions = { path: '/health', timeoutMs: 300, expectedStatuses: new Set([200, 204]), lagHeader: 'x-replication-lag' };

const servers: http.Server[] = [];
const seenPaths: string[] = [];
let okUrl = '';
let failUrl = '';
let hangUrl = '';
let refusedUrl = '';
let badLagUrl = '';

function listen(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

before(async () => {
  okUrl = await listen((req, res) => {
    seenPaths.push(req.url ?? '');
    res.writeHead(200, { 'x-replication-lag': '0.8', 'content-type': 'text/plain' });
    res.end('ok'.repeat(10_000));
  });
  failUrl = await listen((_req, res) => {
    res.writeHead(500, { 'x-replication-lag': '2.5' });
    res.end('boom');
  });
  hangUrl = await listen(() => {
    /* never answers */
  });
  badLagUrl = await listen((_req, res) => {
    res.writeHead(204, { 'x-replication-lag': 'soon' });
    res.end();
  });
  // a port that was just closed: connection refused
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
});

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

test('probeOnce: pass, lag header read, path appended, body discarded', async () => {
  const agents = createProbeAgents();
  const r = await probeOnce(okUrl, OPTS, agents);
  assert.equal(r.ok, true);
  assert.equal(r.status, 200);
  assert.equal(r.lagMs, 800);
  assert.equal(r.error, undefined);
  assert.ok(seenPaths.includes('/health'));
});

test('probeOnce: 500 fails (lag still read), refused fails, hang times out, malformed lag ignored', async () => {
  const agents = createProbeAgents();
  const [fail, refused, hang, badLag] = await Promise.all([
    probeOnce(failUrl, OPTS, agents),
    probeOnce(refusedUrl, OPTS, agents),
    probeOnce(hangUrl, OPTS, agents),
    probeOnce(badLagUrl, OPTS, agents),
  ]);
  assert.deepEqual([fail.ok, fail.status, fail.error, fail.lagMs], [false, 500, 'status', 2500]);
  assert.deepEqual([refused.ok, refused.error], [false, 'refused']);
  assert.deepEqual([hang.ok, hang.error], [false, 'timeout']);
  assert.ok(hang.durationMs >= 250);
  assert.deepEqual([badLag.ok, badLag.status, badLag.lagMs], [true, 204, undefined]);
});

test('probeOnce: bad URL never throws', async () => {
  const r = await probeOnce('not a url', OPTS, createProbeAgents());
  assert.deepEqual([r.ok, r.error], [false, 'bad-url']);
});

test('no keep-alive: every probe opens a new connection', async () => {
  let connections = 0;
  const url = await listen((_req, res) => res.end('ok'));
  servers.at(-1)!.on('connection', () => connections++);
  const agents = createProbeAgents();
  for (let i = 0; i < 3; i++) assert.equal((await probeOnce(url, OPTS, agents)).ok, true);
  assert.equal(connections, 3);
});

/** Timers that fire only when the test says so; the delays asked for are the thing under test. */
class ManualScheduler implements Scheduler {
  readonly pending: { fn: () => void; ms: number; handle: number }[] = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.next++;
    this.pending.push({ fn, ms, handle });
    return handle;
  }
  clearTimeout(handle: unknown): void {
    const i = this.pending.findIndex((t) => t.handle === handle);
    if (i >= 0) this.pending.splice(i, 1);
  }
  /** Fire the one pending timer; returns the delay it was scheduled with. */
  async fire(): Promise<number> {
    assert.equal(this.pending.length, 1, 'exactly one probe timer pending');
    const t = this.pending.shift()!;
    t.fn();
    await new Promise((r) => setImmediate(r)); // let the probe's promise settle
    return t.ms;
  }
}

test('EndpointProber: the first probe is spread within a short bound, the second within one interval, then every interval plus jitter; stop() cancels', async () => {
  const sched = new ManualScheduler();
  const results: ProbeResult[] = [];
  let probes = 0;
  const p = new EndpointProber({
    intervalMs: 2000,
    jitterMs: 200,
    scheduler: sched,
    random: () => 0.5,
    probe: () => {
      probes++;
      return Promise.resolve({ ok: true, durationMs: 0 });
    },
    onResult: (r) => results.push(r),
  });
  p.start();
  // A fresh router must be ready soon: the first probe waits at most FIRST_PROBE_MAX_DELAY_MS, spread by the random draw.
  assert.equal(await sched.fire(), 0.5 * FIRST_PROBE_MAX_DELAY_MS);
  assert.equal(probes, 1);
  assert.equal(results.length, 1);
  // The second round spreads routers that started together over one interval…
  const second = sched.pending[0]!.ms;
  assert.ok(second <= 1000 && second > 990, `second delay ${second}`);
  await sched.fire();
  // …and from then on every interval plus up to `jitter`, less the time the probe took.
  for (let i = 0; i < 3; i++) {
    const d = await sched.fire();
    assert.ok(d <= 2100 && d > 2090, `delay ${d}`);
  }
  assert.equal(probes, 5);
  p.stop();
  assert.equal(sched.pending.length, 0, 'stop() cancels the pending probe');
});

test('EndpointProber: a result that arrives after stop() is dropped, and nothing is scheduled', async () => {
  const sched = new ManualScheduler();
  let release: (r: ProbeResult) => void = () => undefined;
  const results: ProbeResult[] = [];
  const p = new EndpointProber({
    intervalMs: 1000,
    jitterMs: 0,
    scheduler: sched,
    random: () => 0,
    probe: () => new Promise<ProbeResult>((r) => (release = r)),
    onResult: (r) => results.push(r),
  });
  p.start();
  await sched.fire(); // the probe is now in flight
  p.stop();
  release({ ok: true, durationMs: 1 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(results, []);
  assert.equal(sched.pending.length, 0);
});

test('HealthStore with real probes: events for each backend kind, readiness, lag; stop() clears timers', async () => {
  const events = recorder();
  const store = new HealthStore({ clock: systemClock, events });
  store.applySnapshot(
    snapshot({
      regions: { good: [okUrl], bad: [failUrl], dead: [refusedUrl], hung: [hangUrl] },
      health: { interval: '50ms', jitter: '5ms', timeout: '150ms', unhealthyThreshold: 2, healthyThreshold: 1, failbackDelay: '0s' },
      writes: { regions: ['good', 'bad'] },
    }),
  );
  store.start();
  await waitFor(() => store.ready(), 2000);
  await waitFor(() => events.of('endpointTransition').filter((e) => e['to'] === 'down').length >= 3, 3000);
  const v = store.view();
  assert.equal(v.isAvailable('good'), true);
  for (const r of ['bad', 'dead', 'hung']) assert.equal(v.isAvailable(r), false, r);
  assert.equal(v.lagMs('good'), 800);
  assert.equal(v.lagMs('bad'), 2500);
  assert.equal(v.writeRegion, 'good');
  const byEndpoint = (u: string) => events.of('probe').find((e) => e['endpoint'] === u);
  assert.equal(byEndpoint(okUrl)?.['ok'], true);
  assert.equal(byEndpoint(failUrl)?.['status'], 500);
  assert.equal(byEndpoint(refusedUrl)?.['error'], 'refused');
  assert.equal(byEndpoint(hangUrl)?.['error'], 'timeout');
  assert.ok(events.of('lag').some((e) => e['region'] === 'good' && e['lagMs'] === 800));
  store.stop();
  const n = events.of('probe').length;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(events.of('probe').length, n, 'results of probes in flight at stop() are dropped');
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
