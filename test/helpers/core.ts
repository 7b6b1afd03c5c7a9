// Shared bits of the core integration tests (test/integration/core-*.test.ts): config building
// with per-test region tweaks, raw-socket requests, and a Prometheus text reader.
import net from 'node:net';
import { LOCATIONS, type World } from './world.js';
import { request, type Answer } from './router-process.js';

export interface CoreConfigOptions {
  /** Override a region's `countries` (default: LOCATIONS, i.e. us-east [US, CA]). */
  countries?: Record<string, string[]>;
  /** Override a region's endpoints (e.g. a closed port). */
  endpoints?: Record<string, string[]>;
  /** Admin bearer token. */
  token?: string;
  /** Fast probes unless overridden. */
  health?: string;
  /** Appended verbatim (routes, writes, residency, retry, timeouts...). */
  extra?: string;
}

export function coreConfig(w: World, o: CoreConfigOptions = {}): string {
  let y = `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
${o.token ? `  token: ${o.token}\n` : ''}clientIp:
  trustedProxies: [127.0.0.1/32, ::1/128]
regions:
`;
  for (const [name, list] of w.backends) {
    const loc = LOCATIONS[name] ?? { lat: 0, lon: 0 };
    const eps = o.endpoints?.[name] ?? list.map((b) => b.url);
    y += `  - name: ${name}\n    location: { lat: ${loc.lat}, lon: ${loc.lon} }\n    endpoints: [${eps.join(', ')}]\n`;
    const countries = o.countries?.[name] ?? loc.countries;
    if (countries && countries.length > 0) y += `    countries: [${countries.join(', ')}]\n`;
  }
  y += `${o.health ?? 'health: { interval: 200ms, timeout: 150ms, unhealthyThreshold: 1, healthyThreshold: 1, failbackDelay: 0s }'}\n`;
  y += o.extra ?? '';
  return y;
}

/** GET (or other method) through the router as a client at `ip` (sent as X-Forwarded-For from loopback). */
export function asClient(
  port: number,
  ip: string | null,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (ip !== null) headers['x-forwarded-for'] = ip;
  return request(port, { ...opts, headers });
}

/** Write `text` on a fresh TCP connection and collect everything until the server closes it. */
export function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
    s.write(text);
  });
}

/**
 * The value of one Prometheus sample: `name` with exactly the given labels among its labels
 * (other labels may be present). Returns null when no sample matches, or the sum when several do.
 */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[lm[1]!] = lm[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[4]);
  }
  return sum;
}
