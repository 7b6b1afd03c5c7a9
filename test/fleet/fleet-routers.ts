// Pieces shared by the fleet tests that run real router processes against a real etcd
// (fleet-admin, fleet-workers, fleet-handover): a router's YAML and the requests the tests send.
// us-east and eu-west are the write candidates; ap-southeast serves Singapore's clients. These tests
// move writes on purpose only: failover is manual and a probe needs three misses of 1 s to call a
// region down, so a slow probe on a loaded machine cannot move the fleet's writes behind a test's back.
import { clientFor } from '../helpers/clients.js';
import { admin, request, startRouter, waitFor, waitReady, type Answer, type RouterProc } from '../helpers/router-process.js';
import { LOCATIONS, type World } from '../helpers/world.js';

export interface FleetJson {
  enabled: boolean;
  id: string;
  connected: boolean;
  leader: string | null;
  members: { id: string; site: string | null }[];
  writeRegion: { region: string; epoch: number; state: string } | null;
}

export interface FleetRouterConfig {
  readonly id: string;
  /** etcd's client URL as this router reaches it (directly or through a relay). */
  readonly etcd: string;
  readonly world: World;
  /** A fixed admin port (the CLI reads it from the config); default 0. */
  readonly adminPort?: number;
  readonly workers?: number;
  /** The fleet lease; default 2s. */
  readonly lease?: string;
  /** fleet.writesWithoutEtcd; default unset (stop). */
  readonly writesWithoutEtcd?: 'stop' | 'continue';
}

export const US = clientFor('US').ip;
export const SG = clientFor('SG').ip;

export function fleetYaml(c: FleetRouterConfig): string {
  let regions = '';
  for (const [name, list] of c.world.backends) {
    const l = LOCATIONS[name]!;
    regions += `  - name: ${name}\n    location: { lat: ${l.lat}, lon: ${l.lon} }\n    endpoints: [${list[0]!.url}]\n`;
    if (l.countries) regions += `    countries: [${l.countries.join(', ')}]\n`;
  }
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:${c.adminPort ?? 0} }
${c.workers === undefined ? '' : `workers: ${c.workers}\n`}clientIp: { trustedProxies: [127.0.0.1/32] }
regions:
${regions}health: { interval: 200ms, timeout: 1s, unhealthyThreshold: 3, healthyThreshold: 1, failbackDelay: 0s }
writes: { regions: [us-east, eu-west], failover: manual, failback: manual }
timeouts: { request: 3s }
routes:
  - { name: api, match: { pathPrefix: /api }, mode: read-local-write-global }
  - { name: slow, match: { pathPrefix: /__slow }, mode: read-local-write-global }
  - { name: default, match: { pathPrefix: / }, mode: active-active }
fleet:
  etcd: { endpoints: [${c.etcd}], prefix: /meridian/test/ }
  id: ${c.id}
  site: site-${c.id}
  lease: ${c.lease ?? '2s'}
${c.writesWithoutEtcd ? `  writesWithoutEtcd: ${c.writesWithoutEtcd}\n` : ''}`;
}

export const fleetOf = async (r: RouterProc): Promise<FleetJson> => (await admin(r, 'GET', '/admin/fleet')).json as FleetJson;

/** A write (the `primary` selector) from a US client. */
export const write = (r: RouterProc, headers: Record<string, string> = {}): Promise<Answer> =>
  request(r.port, { method: 'POST', path: '/api/orders', headers: { 'x-forwarded-for': US, ...headers }, body: '{}' });

/** Every router in `routers` agrees on the write region `region`, active; resolves with its epoch. */
export async function agreedOn(routers: readonly RouterProc[], region: string): Promise<number | null> {
  const views = await Promise.all(routers.map(fleetOf));
  const w = views[0]!.writeRegion;
  const same = views.every((v) => v.writeRegion?.region === region && v.writeRegion.state === 'active' && v.writeRegion.epoch === w?.epoch);
  return same && w ? w.epoch : null;
}

/**
 * Start one router per config (in order, so the first is the likeliest leader), wait until each is
 * ready and all agree on a fleet of them writing to us-east at epoch 1.
 */
export async function startFleet(configs: readonly FleetRouterConfig[]): Promise<RouterProc[]> {
  const routers: RouterProc[] = [];
  for (const c of configs) routers.push(await startRouter(fleetYaml(c), { logLevel: 'info' }));
  await Promise.all(routers.map((r) => waitReady(r, 20_000)));
  await waitFor(
    async () => (await fleetOf(routers[0]!)).members.length === routers.length && (await agreedOn(routers, 'us-east')) === 1,
    15_000,
    `a fleet of ${routers.length}`,
  );
  return routers;
}

/** Polls writes through `r` until one is answered 200; resolves with that answer. */
export function writingAgain(r: RouterProc, timeoutMs: number, what: string): Promise<Answer> {
  return waitFor(
    async () => {
      const w = await write(r);
      return w.status === 200 ? w : null;
    },
    timeoutMs,
    what,
  );
}
