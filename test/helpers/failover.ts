// Shared pieces of the failover integration tests (test/integration/failover-*.test.ts): clients
// placed by country, concurrent load with a per-request record, access-log and metrics readers.
import type { Backend } from '../../src/demo/backend.js';
import { clientFor } from './clients.js';
import { request, waitFor, type Answer, type LogLine, type RouterProc, waitReady } from './router-process.js';
import type { World } from './world.js';

export function ip(country: string): string {
  return clientFor(country).ip;
}

/** One request from a client in `country` (X-Forwarded-For from the trusted loopback peer). */
export function from(
  r: RouterProc,
  country: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const { headers, ...rest } = opts;
  return request(r.port, { ...rest, headers: { 'x-forwarded-for': ip(country), ...headers } });
}

export interface Outcome {
  /** Sequence number in start order. */
  readonly seq: number;
  /** performance.now() when the request was started / answered. */
  readonly start: number;
  readonly end: number;
  readonly status: number;
  /** Region that answered (backend JSON), or null. */
  readonly region: string | null;
  readonly reason: string | null;
  readonly error: string | null;
}

/** Concurrent GET loops from one country until stop() is called. */
export function load(
  r: RouterProc,
  country: string,
  opts: { concurrency?: number; path?: string } = {},
): { results: Outcome[]; stop(): Promise<Outcome[]> } {
  const results: Outcome[] = [];
  let running = true;
  let seq = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      const n = seq++;
      const start = performance.now();
      try {
        const a = await from(r, country, { path: opts.path ?? '/load' });
        results.push({
          seq: n,
          start,
          end: performance.now(),
          status: a.status,
          region: a.json?.region ?? null,
          reason: (a.headers['x-meridian-reason'] as string | undefined) ?? null,
          error: null,
        });
      } catch (err) {
        results.push({ seq: n, start, end: performance.now(), status: 0, region: null, reason: null, error: (err as Error).message });
      }
    }
  };
  const loops = Array.from({ length: opts.concurrency ?? 8 }, () => loop());
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
      return results;
    },
  };
}

export function accessLines(r: RouterProc): LogLine[] {
  return r.logs.filter((l) => l.msg === 'request');
}

export function indexOfLog(r: RouterProc, pred: (l: LogLine) => boolean): number {
  return r.logs.findIndex(pred);
}

export async function state(r: RouterProc): Promise<any> {
  const a = await request(r.adminPort, { path: '/admin/state' });
  if (a.status !== 200) throw new Error(`/admin/state answered ${a.status}`);
  return a.json;
}

export async function metrics(r: RouterProc): Promise<string> {
  return (await request(r.adminPort, { path: '/metrics' })).text;
}

/** Value of one sample line of /metrics, e.g. sample(text, 'meridian_write_region', {region: 'us-east'}). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const p of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[p[1]!] = p[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return null;
}

/** Wait until /readyz answers 200. */
export const ready = waitReady;

/** Wait until /admin/state says the region has the given status. */
export async function regionStatus(r: RouterProc, region: string, status: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => (await state(r)).regions.find((x: { name: string }) => x.name === region)?.status === status,
    timeoutMs,
    `${region} ${status}`,
  );
}

export function backends(w: World): Backend[] {
  return [...w.backends.values()].flat();
}

/** How many times a request id was applied, summed over every backend of the world. */
export function appliedTotal(w: World, id: string): number {
  return backends(w).reduce((n, b) => n + (b.applied.get(id) ?? 0), 0);
}

export const regionEvent = (region: string, to: string) => (l: LogLine) =>
  l.event === 'region-transition' && l.region === region && l.to === to;
