import http from 'node:http';
import type { HealthConfig } from '../types.js';
import { DEMO_CLIENTS, call, captureLogger, sleep, startDemoWorld } from './demo.js';

/**
 * The failover drill: steady GET and POST load from a client in Germany (served by eu-west),
 * eu-west killed hard (listener closed, sockets reset), later revived. Prints what clients saw,
 * measured from the clients' side and from the router's own access log and health events.
 */
export interface DrillReport {
  victim: string;
  health: HealthConfig;
  killAtMs: number;
  reviveAtMs: number;
  detectionMs: number | null;
  ejectionMs: number | null;
  movedMs: number | null;
  returnedMs: number | null;
  requests: Record<string, { total: number; failed: number; failedStatuses: Record<string, number> }>;
  retries: number;
  postIds: number;
  appliedTwice: number;
  failedPostsApplied: number;
  failedPostsNotApplied: number;
  pass: boolean;
}

interface Result {
  method: string;
  id: string;
  start: number;
  end: number;
  status: number;
  region: string;
}

export interface DrillTiming {
  warmupMs: number;
  downMs: number;
  maxWaitBackMs: number;
  tailMs: number;
  getClients: number;
  postClients: number;
}

const DEFAULT_TIMING: DrillTiming = {
  warmupMs: 3_000,
  downMs: 8_000,
  maxWaitBackMs: 30_000,
  tailMs: 2_000,
  getClients: 6,
  postClients: 2,
};

type DrillEvent = { t: number; name: string; payload: Record<string, unknown> };
type AccessEntry = { t: number; line: Record<string, unknown> };

/** Steady GET and POST clients from Germany until stop(); every answer lands in `results`. */
function startLoad(port: number, timing: DrillTiming, at: () => number): { results: Result[]; stop(): Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: timing.getClients + timing.postClients });
  const results: Result[] = [];
  let running = true;
  let seq = 0;
  const client = async (method: string, path: string): Promise<void> => {
    while (running) {
      const id = `drill-${method}-${++seq}`;
      const start = at();
      let status: number;
      let region = '-';
      try {
        const r = await call(port, method, path, { 'x-forwarded-for': DEMO_CLIENTS.germany, 'x-request-id': id }, agent);
        status = r.status;
        region = r.region;
      } catch {
        status = 0; // connection-level failure seen by the client
      }
      results.push({ method, id, start, end: at(), status, region });
      await sleep(10);
    }
  };
  const clients: Promise<void>[] = [];
  for (let i = 0; i < timing.getClients; i++) clients.push(client('GET', '/drill/items'));
  for (let i = 0; i < timing.postClients; i++) clients.push(client('POST', '/drill/orders'));
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(clients);
      agent.destroy();
    },
  };
}

export async function drill(
  configFile: string,
  timing: DrillTiming = DEFAULT_TIMING,
  opts: { ephemeralPorts?: boolean } = {},
): Promise<DrillReport> {
  const victim = 'eu-west';
  const t0 = performance.now();
  const at = (): number => performance.now() - t0;
  const events: DrillEvent[] = [];
  const access: AccessEntry[] = [];
  const logger = captureLogger('info', (line) => {
    if (line.msg === 'request') access.push({ t: at(), line });
  });
  const onEvent = (name: string, payload: unknown): void =>
    void events.push({ t: at(), name, payload: payload as Record<string, unknown> });
  const world = await startDemoWorld(configFile, logger, onEvent, opts);
  const backend = world.backends.get(victim)!;
  const load = startLoad(world.app.address().port, timing, at);

  await sleep(timing.warmupMs);
  const killAt = at();
  await backend.kill();
  await sleep(timing.downMs);
  const reviveAt = at();
  await backend.revive();
  const deadline = reviveAt + timing.maxWaitBackMs;
  while (at() < deadline && !load.results.some((r) => r.start > reviveAt && r.region === victim)) await sleep(20);
  await sleep(timing.tailMs);
  await load.stop();
  await world.close();

  const applied = new Map<string, number>();
  for (const b of world.backends.values()) for (const [id, n] of b.applied) applied.set(id, (applied.get(id) ?? 0) + n);
  const report = summarise({ victim, results: load.results, access, events, killAt, reviveAt, applied });
  return { ...report, health: world.app.snapshot.health };
}

/** What the clients saw, and what the router's events and access log say, from kill to return. */
function summarise(w: {
  victim: string;
  results: readonly Result[];
  access: readonly AccessEntry[];
  events: readonly DrillEvent[];
  killAt: number;
  reviveAt: number;
  applied: ReadonlyMap<string, number>;
}): Omit<DrillReport, 'health'> {
  const { victim, results, access, killAt, reviveAt, applied } = w;
  const firstEvent = (pred: (e: DrillEvent) => boolean): number | null => {
    const e = w.events.find((x) => x.t >= killAt && pred(x));
    return e ? e.t - killAt : null;
  };
  // Active detection: the probes (not live traffic) declare the victim's endpoint DOWN.
  const detectionMs = firstEvent(
    (e) => e.name === 'endpointTransition' && e.payload.region === victim && e.payload.to === 'down' && e.payload.cause === 'probe',
  );
  const ejectionMs = firstEvent((e) => e.name === 'ejected' && e.payload.region === victim);
  // Traffic has moved once no request needs the dead region any more: the last request that had
  // to be retried away from it (or failed) marks the end of the move.
  const touched = access.filter((a) => a.t >= killAt && a.t < reviveAt && (Number(a.line.attempts) > 1 || Number(a.line.status) >= 500));
  const movedMs = touched.length ? Math.max(...touched.map((a) => a.t)) - killAt : 0;
  const back = results.find((r) => r.start > reviveAt && r.region === victim);
  const returnedMs = back ? back.start - reviveAt : null;

  const requests: DrillReport['requests'] = {};
  for (const r of results) {
    const m = (requests[r.method] ??= { total: 0, failed: 0, failedStatuses: {} });
    m.total++;
    if (r.status === 0 || r.status >= 500) {
      m.failed++;
      const k = r.status === 0 ? 'connection error' : String(r.status);
      m.failedStatuses[k] = (m.failedStatuses[k] ?? 0) + 1;
    }
  }
  const posts = results.filter((r) => r.method === 'POST');
  const appliedTwice = posts.filter((r) => (applied.get(r.id) ?? 0) > 1).length;
  const failedPosts = posts.filter((r) => r.status === 0 || r.status >= 500);
  const failedPostsApplied = failedPosts.filter((r) => (applied.get(r.id) ?? 0) > 0).length;
  const retries = access.reduce((n, a) => n + Math.max(0, Number(a.line.attempts ?? 1) - 1), 0);
  return {
    victim,
    killAtMs: killAt,
    reviveAtMs: reviveAt,
    detectionMs,
    ejectionMs,
    movedMs,
    returnedMs,
    requests,
    retries,
    postIds: posts.length,
    appliedTwice,
    failedPostsApplied,
    failedPostsNotApplied: failedPosts.length - failedPostsApplied,
    pass: (requests.GET?.failed ?? 0) === 0 && appliedTwice === 0 && returnedMs !== null,
  };
}

const s = (ms: number | null): string => (ms === null ? 'not seen' : `${(ms / 1000).toFixed(2)} s`);

export function formatReport(r: DrillReport, cfg: string, h: HealthConfig): string {
  const lines: string[] = [];
  lines.push(`Meridian failover drill (${cfg})`);
  lines.push(
    `  health: interval ${h.intervalMs} ms, unhealthyThreshold ${h.unhealthyThreshold}, healthyThreshold ${h.healthyThreshold}, failbackDelay ${h.failbackDelayMs} ms`,
  );
  const g = r.requests.GET ?? { total: 0, failed: 0, failedStatuses: {} };
  const p = r.requests.POST ?? { total: 0, failed: 0, failedStatuses: {} };
  lines.push(
    `  load: GET and POST clients from Germany (${DEMO_CLIENTS.germany}, nearest region ${r.victim}); ${g.total + p.total} requests`,
  );
  lines.push(`  ${r.victim} killed hard at ${s(r.killAtMs)}, revived at ${s(r.reviveAtMs)}`);
  lines.push('');
  lines.push(`  live traffic ejected ${r.victim} (passive):   ${s(r.ejectionMs)}`);
  lines.push(`  probes marked ${r.victim} down (active):     ${s(r.detectionMs)}`);
  lines.push(`  all traffic moved off ${r.victim}:           ${s(r.movedMs)}`);
  lines.push(`  traffic back in ${r.victim} after revival:   ${s(r.returnedMs)}`);
  lines.push(`  retries used:                             ${r.retries}`);
  const detail = (m: typeof g): string =>
    m.failed
      ? ` (${Object.entries(m.failedStatuses)
          .map(([k, v]) => `${v}× ${k}`)
          .join(', ')})`
      : '';
  lines.push(`  failed GET:                               ${g.failed} of ${g.total}${detail(g)}`);
  lines.push(`  failed POST:                              ${p.failed} of ${p.total}${detail(p)}`);
  if (p.failed) {
    lines.push(
      `    of which a backend had applied: ${r.failedPostsApplied}; not applied: ${r.failedPostsNotApplied} (not replayed: the router cannot know)`,
    );
  }
  lines.push(`  POST applied twice:                       ${r.appliedTwice} (checked ${r.postIds} request ids across all regions)`);
  lines.push('');
  lines.push(
    `  ${r.pass ? 'PASS' : 'FAIL'}: ${g.failed === 0 ? 'zero failed GETs' : `${g.failed} failed GETs`}, ${r.appliedTwice === 0 ? 'no POST applied twice' : 'a POST was applied twice'}, ${r.returnedMs !== null ? 'traffic returned after recovery' : 'traffic did not return'}`,
  );
  return lines.join('\n');
}

export async function runDrill(configFile: string): Promise<number> {
  process.stdout.write('Running the failover drill (about 20 seconds)...\n');
  let report: DrillReport;
  try {
    report = await drill(configFile);
  } catch (err) {
    process.stderr.write(`meridian drill: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${formatReport(report, configFile, report.health)}\n`);
  return report.pass ? 0 : 1;
}
