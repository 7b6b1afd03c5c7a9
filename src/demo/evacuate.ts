// The evacuation drill (`meridian drill --evacuate`): steady GET load from many distinct users in
// Germany (served by eu-west), then `drain eu-west {"over": ...}` and, per second, the share of
// requests eu-west still took, the dial at that second, and the failures — a ramp, not a cliff,
// and nothing failed.
import http from 'node:http';
import { captureLogger, DEMO_CLIENTS, call, sleep, startDemoWorld } from './demo.js';

interface EvacuationSecond {
  readonly second: number;
  readonly requests: number;
  /** Share (0..1) of this second's requests that eu-west answered. */
  readonly share: number;
  readonly dial: number;
  readonly failed: number;
}

interface EvacuationReport {
  readonly region: string;
  readonly overMs: number;
  readonly seconds: readonly EvacuationSecond[];
  readonly failed: number;
  /** The largest rise of the share from one second to a later one (stickiness makes it ~0). */
  readonly largestRise: number;
  readonly pass: boolean;
}

const USERS = 500;
const CLIENTS = 16;

async function evacuationDrill(configFile: string, overMs = 10_000, opts: { ephemeralPorts?: boolean } = {}): Promise<EvacuationReport> {
  const region = 'eu-west';
  const world = await startDemoWorld(
    configFile,
    captureLogger('warn', () => undefined),
    undefined,
    opts,
  );
  const port = world.app.address().port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const t0 = performance.now();
  const seen: { t: number; region: string; status: number }[] = [];
  let running = true;
  let next = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      const user = `user-${next++ % USERS}`;
      try {
        const r = await call(port, 'GET', '/evacuate', { 'x-forwarded-for': DEMO_CLIENTS.germany, 'x-user-id': user }, agent);
        seen.push({ t: performance.now() - t0, region: r.region, status: r.status });
      } catch {
        seen.push({ t: performance.now() - t0, region: '-', status: 0 });
      }
    }
  };
  const loops = Array.from({ length: CLIENTS }, loop);
  await sleep(2_000);
  const startAt = performance.now() - t0;
  const dialAt = (t: number): number => Math.max(0, Math.round(100 * (1 - (t - startAt) / overMs)));
  await world.app.dial(region, { percent: 0, overMs, undrain: false });
  await sleep(overMs + 2_000);
  running = false;
  await Promise.all(loops);
  agent.destroy();
  await world.close();
  return summarise(region, overMs, seen, startAt, dialAt);
}

function summarise(
  region: string,
  overMs: number,
  seen: readonly { t: number; region: string; status: number }[],
  startAt: number,
  dialAt: (t: number) => number,
): EvacuationReport {
  const seconds: EvacuationSecond[] = [];
  const last = Math.ceil((startAt + overMs + 2_000) / 1000);
  for (let s = Math.floor(startAt / 1000) - 1; s < last; s++) {
    const inSec = seen.filter((x) => x.t >= s * 1000 && x.t < (s + 1) * 1000);
    if (inSec.length === 0) continue;
    seconds.push({
      second: s - Math.floor(startAt / 1000),
      requests: inSec.length,
      share: inSec.filter((x) => x.region === region).length / inSec.length,
      dial: dialAt(Math.max(startAt, (s + 1) * 1000)),
      failed: inSec.filter((x) => x.status !== 200).length,
    });
  }
  let largestRise = 0;
  let lowest = Infinity;
  for (const s of seconds) {
    largestRise = Math.max(largestRise, s.share - lowest);
    lowest = Math.min(lowest, s.share);
  }
  const failed = seen.filter((x) => x.status !== 200).length;
  const end = seconds.at(-1)?.share ?? 1;
  return { region, overMs, seconds, failed, largestRise, pass: failed === 0 && end === 0 && largestRise <= 0.05 };
}

function formatEvacuation(r: EvacuationReport): string {
  const lines = [`Evacuation of ${r.region} over ${r.overMs / 1000}s under load (${USERS} users in Germany, ${CLIENTS} connections):`, ''];
  lines.push(`  second  requests  share in ${r.region.padEnd(8)}  dial  failed   (dial: at the end of the second)`);
  for (const s of r.seconds) {
    const bar = '#'.repeat(Math.round(s.share * 40));
    lines.push(
      `  ${String(s.second).padStart(6)}  ${String(s.requests).padStart(8)}  ${`${(s.share * 100).toFixed(1)}%`.padStart(15)}  ${`${s.dial}%`.padStart(4)}  ${String(s.failed).padStart(6)}  ${bar}`,
    );
  }
  lines.push('');
  lines.push(
    `  ${r.pass ? 'PASS' : 'FAIL'}: ${r.failed === 0 ? 'zero failed requests' : `${r.failed} failed requests`}, share ${r.largestRise <= 0.05 ? 'fell smoothly' : `rose by ${(r.largestRise * 100).toFixed(1)} points`}, ${r.seconds.at(-1)?.share === 0 ? `${r.region} empty at the end` : `${r.region} not empty at the end`}`,
  );
  return lines.join('\n');
}

export async function runEvacuationDrill(configFile: string, overMs: number): Promise<number> {
  process.stdout.write(`Running the evacuation drill (about ${Math.round(overMs / 1000) + 5} seconds)...\n`);
  try {
    const r = await evacuationDrill(configFile, overMs, { ephemeralPorts: true });
    process.stdout.write(`${formatEvacuation(r)}\n`);
    return r.pass ? 0 : 1;
  } catch (err) {
    process.stderr.write(`meridian drill --evacuate: ${(err as Error).message}\n`);
    return 1;
  }
}
