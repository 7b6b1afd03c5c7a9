// Simulated regions for integration tests: real HTTP servers on port 0 (src/demo/backend.ts).
import { type Backend, startBackend } from '../../src/demo/backend.js';

export const LOCATIONS: Record<string, { lat: number; lon: number; countries?: string[] }> = {
  'us-east': { lat: 39.04, lon: -77.49, countries: ['US', 'CA'] },
  'eu-west': { lat: 53.35, lon: -6.26 },
  'ap-southeast': { lat: 1.35, lon: 103.82 },
};

export interface World {
  backends: Map<string, Backend[]>;
  /** The first backend of a region. */
  b(region: string): Backend;
  stop(): Promise<void>;
}

/** Start `perRegion` backends for each named region (default: the three demo regions, one each). */
export async function startWorld(
  regions: readonly string[] = ['us-east', 'eu-west', 'ap-southeast'],
  perRegion = 1,
  lag: Record<string, number | null> = {},
): Promise<World> {
  const backends = new Map<string, Backend[]>();
  for (const region of regions) {
    const list: Backend[] = [];
    for (let i = 0; i < perRegion; i++) list.push(await startBackend({ region, lagSeconds: lag[region] === undefined ? 0 : lag[region] }));
    backends.set(region, list);
  }
  return {
    backends,
    b: (region) => backends.get(region)![0]!,
    async stop() {
      for (const list of backends.values()) for (const b of list) await b.stop();
    },
  };
}

/** The `regions:` block for a world. */
export function regionsYaml(w: World): string {
  let y = 'regions:\n';
  for (const [name, list] of w.backends) {
    const loc = LOCATIONS[name] ?? { lat: 0, lon: 0 };
    y += `  - name: ${name}\n    location: { lat: ${loc.lat}, lon: ${loc.lon} }\n    endpoints: [${list.map((b) => b.url).join(', ')}]\n`;
    if (loc.countries) y += `    countries: [${loc.countries.join(', ')}]\n`;
  }
  return y;
}

/** A complete config: port 0 listeners, loopback trusted, fast probes; `extra` is appended verbatim. */
export function configYaml(w: World, extra = ''): string {
  return `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
clientIp:
  trustedProxies: [127.0.0.1/32, ::1/128]
${regionsYaml(w)}${extra}`;
}
