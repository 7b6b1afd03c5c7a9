import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { App, ConfigInvalidError } from '../app.js';
import type { Logger } from '../observability/logger.js';
import { createLogger, flushLogger } from '../observability/logger.js';
import { startBackend, type Backend } from './backend.js';

/** The simulated regions of config/demo.yaml: fixed loopback ports and reported replication lag. */
const DEMO_REGIONS = [
  { region: 'us-east', port: 9001, lagSeconds: 0 },
  { region: 'eu-west', port: 9002, lagSeconds: 0.4 },
  { region: 'ap-southeast', port: 9003, lagSeconds: 1.2 },
] as const;

/** Client IPs whose GeoIP records (geoip-lite data) place them where the demo says. */
export const DEMO_CLIENTS = {
  germany: '5.9.0.1',
  japan: '1.0.16.1',
  usa: '8.8.8.8',
} as const;

export interface DemoOptions {
  configFile: string;
  logLevel: string;
}

export interface DemoWorld {
  app: App;
  backends: Map<string, Backend>;
  close(): Promise<void>;
}

/** Start the three simulated regions and the router; wait until every endpoint was probed once. */
export async function startDemoWorld(
  configFile: string,
  logger: Logger,
  onHealthEvent?: (name: string, payload: unknown) => void,
  opts: { ephemeralPorts?: boolean } = {},
): Promise<DemoWorld> {
  const backends = new Map<string, Backend>();
  try {
    for (const r of DEMO_REGIONS) {
      backends.set(r.region, await startBackend({ region: r.region, port: opts.ephemeralPorts ? 0 : r.port, lagSeconds: r.lagSeconds }));
    }
    if (opts.ephemeralPorts) configFile = ephemeralConfig(configFile, backends);
  } catch (err) {
    for (const b of backends.values()) await b.stop();
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'EADDRINUSE' ? `demo port in use (${e.message}); is another demo running?` : e.message, { cause: err });
  }
  let app: App;
  try {
    app = await App.start({ configFile, logger, onHealthEvent });
  } catch (err) {
    for (const b of backends.values()) await b.stop();
    if (err instanceof ConfigInvalidError) throw new Error(`demo config invalid:\n${err.errors.join('\n')}`, { cause: err });
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'EADDRINUSE' ? `router port in use (${e.message}); is another demo running?` : e.message, { cause: err });
  }
  const deadline = Date.now() + 10_000;
  while (!app.health.ready() && Date.now() < deadline) await sleep(50);
  return {
    app,
    backends,
    async close() {
      await app.shutdown();
      for (const b of backends.values()) await b.stop();
    },
  };
}

/**
 * The demo config with every listener on port 0 and the regions pointing at backends on port 0,
 * so the drill can run beside a running demo (and in CI, where fixed ports may be taken).
 */
function ephemeralConfig(configFile: string, backends: ReadonlyMap<string, Backend>): string {
  let text = readFileSync(configFile, 'utf8')
    .replace(/^(listen:\s*)127\.0\.0\.1:\d+/m, '$1127.0.0.1:0')
    .replace(/^(\s+listen:\s*)127\.0\.0\.1:\d+/m, '$1127.0.0.1:0');
  for (const r of DEMO_REGIONS) text = text.replaceAll(`http://127.0.0.1:${r.port}`, backends.get(r.region)!.url);
  const dir = mkdtempSync(join(tmpdir(), 'meridian-drill-'));
  const file = join(dir, basename(configFile));
  writeFileSync(file, text);
  return file;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Seen {
  status: number;
  region: string;
  reason: string;
}

/** One request through the router, as curl would send it. */
export function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  agent?: http.Agent,
): Promise<Seen & { headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          region: String(res.headers['x-meridian-region'] ?? '-'),
          reason: String(res.headers['x-meridian-reason'] ?? '-'),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function adminPost(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Example {
  readonly title: string;
  readonly client: keyof typeof DEMO_CLIENTS;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
}

/** What the banner shows, each run once against the live router. */
const EXAMPLES: readonly Example[] = [
  { title: 'a client in Germany lands in eu-west', client: 'germany', method: 'GET', path: '/hello' },
  { title: 'a client in Japan lands in ap-southeast', client: 'japan', method: 'GET', path: '/hello' },
  { title: 'a client in the US lands in us-east, pinned by its countries list', client: 'usa', method: 'GET', path: '/hello' },
  {
    title: 'home affinity: user 42 always lands in its hashed home region, wherever it connects from',
    client: 'japan',
    method: 'GET',
    path: '/users/42',
    headers: { 'x-user-id': '42' },
  },
  { title: 'explicit home region by header', client: 'usa', method: 'GET', path: '/users/7', headers: { 'x-home-region': 'ap-southeast' } },
  { title: 'a write on a read-local-write-global route goes to the write region', client: 'germany', method: 'POST', path: '/api/orders' },
];

function curl(base: string, method: string, path: string, headers: Record<string, string>): string {
  const h = Object.entries(headers).map(([k, v]) => ` -H '${k === 'x-forwarded-for' ? 'X-Forwarded-For' : k}: ${v}'`);
  return `curl -si${method === 'GET' ? '' : ` -X ${method}`}${h.join('')} ${base}${path}`;
}

/** Run every example once so the banner shows what the router actually did, not a promise. */
async function banner(port: number, adminPort: number, configFile: string): Promise<string> {
  const base = `http://127.0.0.1:${port}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const answer = async (method: string, path: string, headers: Record<string, string>): Promise<string> => {
    const r = await call(port, method, path, headers);
    return `    -> ${r.status} from ${r.region} (reason: ${r.reason})\n`;
  };
  let out = `\nMeridian demo: router ${base}, admin ${admin}\n`;
  out += `Regions: ${DEMO_REGIONS.map((r) => `${r.region} 127.0.0.1:${r.port} (lag ${r.lagSeconds}s)`).join(', ')}\n`;
  out += `Config: ${configFile}\n\nTry these (look at the x-meridian-region and x-meridian-reason headers):\n\n`;
  for (const e of EXAMPLES) {
    const headers = { 'x-forwarded-for': DEMO_CLIENTS[e.client], ...e.headers };
    out += `  # ${e.title}\n  ${curl(base, e.method, e.path, headers)}\n${await answer(e.method, e.path, headers)}`;
  }
  const germany = { 'x-forwarded-for': DEMO_CLIENTS.germany };
  out += `  # drain eu-west: German traffic moves to the next nearest region; then undrain\n`;
  out += `  curl -s -X POST ${admin}/admin/regions/eu-west/drain\n`;
  await adminPost(adminPort, '/admin/regions/eu-west/drain');
  out += `  ${curl(base, 'GET', '/hello', germany)}\n${await answer('GET', '/hello', germany)}`;
  out += `  curl -s -X POST ${admin}/admin/regions/eu-west/undrain\n\n`;
  await adminPost(adminPort, '/admin/regions/eu-west/undrain');
  out += `  # why did a request go where it went?\n  curl -s '${admin}/admin/explain?ip=${DEMO_CLIENTS.germany}&method=POST&path=/api/orders'\n\n`;
  out += `  # state, metrics\n  curl -s ${admin}/admin/state\n  curl -s ${admin}/metrics | grep '^meridian_'\n\n`;
  out += `Router logs are at level warn here; meridian demo --log-level info shows one access line per request.\n`;
  out += `The failover drill: meridian demo --drill.  Ctrl-C stops the demo.\n\n`;
  return out;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const logger = createLogger(opts.logLevel);
  let world: DemoWorld;
  try {
    world = await startDemoWorld(opts.configFile, logger);
  } catch (err) {
    flushLogger(logger);
    process.stderr.write(`meridian demo: ${(err as Error).message}\n`);
    return 1;
  }
  const { port, adminPort } = world.app.address();
  process.stdout.write(await banner(port, adminPort, opts.configFile));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await world.close();
  flushLogger(logger);
  return 0;
}

/** A pino logger whose JSON lines are handed to `onLine` (the drill reads the router's access log). */
export function captureLogger(level: string, onLine: (obj: Record<string, unknown>) => void): Logger {
  const stream = new PassThrough();
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        onLine(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not JSON: ignore
      }
    }
  });
  return pino({ level }, stream);
}
