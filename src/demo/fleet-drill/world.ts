// The drill's fleet on loopback: a real etcd, three demo backends that record every write they apply,
// and three router processes (a, b, c) with one config file each. Router c reaches etcd through a
// TCP relay, so the drill can cut it off alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, type Backend } from '../backend.js';
import { startEtcd, type EtcdServer } from './etcd.js';
import { startTcpRelay, type TcpRelay } from './relay.js';
import { startRouterProcess, type RouterEvent, type RouterProcess } from './router-proc.js';

/** One clock for every timestamp the drill compares: the drill's own process. */
export const clock = (): number => performance.timeOrigin + performance.now();

export const REGIONS = ['us-east', 'eu-west', 'ap-southeast'] as const;
export const ROUTERS = ['a', 'b', 'c'] as const;
/** The router that reaches etcd through the cuttable relay. */
export const CUT_ROUTER = 'c';

const LOCATIONS: Record<string, string> = {
  'us-east': '{ lat: 39.04, lon: -77.49 }\n    countries: [US, CA]',
  'eu-west': '{ lat: 53.35, lon: -6.26 }',
  'ap-southeast': '{ lat: 1.35, lon: 103.82 }',
};

/** A write a backend applied: its id, the epoch it carried, where and when (drill clock). */
export interface AppliedWrite {
  readonly id: string | null;
  readonly epoch: number;
  readonly region: string;
  readonly at: number;
}

export interface FleetWorld {
  readonly etcd: EtcdServer;
  readonly relay: TcpRelay;
  readonly backends: ReadonlyMap<string, Backend>;
  /** The running router processes by id (a restarted router replaces its entry). */
  readonly routers: Map<string, RouterProcess>;
  readonly applied: AppliedWrite[];
  readonly events: RouterEvent[];
  /** Start router `id` again (after it was killed), with the same config. */
  restart(id: string): Promise<RouterProcess>;
  close(): Promise<void>;
}

function configYaml(id: string, etcdUrl: string, backends: ReadonlyMap<string, Backend>): string {
  const regions = REGIONS.map((r) => `  - name: ${r}\n    location: ${LOCATIONS[r]}\n    endpoints: [${backends.get(r)!.url}]\n`);
  // Probes every 200 ms and a 2 s lease keep every phase to a few seconds; three failed probes (on
  // two routers, a quorum) before a region is down, so a busy machine does not move writes by itself.
  // A short passive ejection:
  // writes that hit the killed region before the probes notice must not keep it out for long.
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
clientIp: { trustedProxies: [127.0.0.1/32] }
regions:
${regions.join('')}health: { interval: 200ms, timeout: 190ms, unhealthyThreshold: 3, healthyThreshold: 1, failbackDelay: 0s }
passive: { ejectFor: 500ms, maxEjectMultiplier: 1 }
writes: { regions: [${REGIONS.join(', ')}], failover: automatic, failback: manual }
retry: { attempts: 2 }
timeouts: { request: 3s }
routes:
  - { name: api, match: { pathPrefix: /api }, mode: read-local-write-global }
fleet:
  etcd: { endpoints: [${etcdUrl}], prefix: /meridian/drill/ }
  id: ${id}
  site: site-${id}
  lease: 2s
`;
}

export async function startFleetWorld(): Promise<FleetWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-fleet-drill-'));
  const applied: AppliedWrite[] = [];
  const events: RouterEvent[] = [];
  const backends = new Map<string, Backend>();
  const routers = new Map<string, RouterProcess>();
  let etcd: EtcdServer | null = null;
  let relay: TcpRelay | null = null;
  const close = async (): Promise<void> => {
    await Promise.all([...routers.values()].map((r) => r.kill('SIGKILL')));
    await relay?.close();
    for (const b of backends.values()) await b.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    etcd = await startEtcd();
    relay = await startTcpRelay(etcd.clientPort);
    for (const region of REGIONS) {
      const onWrite = (id: string | null, epoch: number): void => void applied.push({ id, epoch, region, at: clock() });
      backends.set(region, await startBackend({ region, lagSeconds: 0, onWrite }));
    }
    const files = new Map<string, string>();
    for (const id of ROUTERS) {
      const file = join(dir, `router-${id}.yaml`);
      writeFileSync(file, configYaml(id, id === CUT_ROUTER ? relay.url : etcd.endpoint, backends));
      files.set(id, file);
    }
    const start = async (id: string): Promise<RouterProcess> => {
      const r = await startRouterProcess(id, files.get(id)!, (e) => events.push(e));
      routers.set(id, r);
      return r;
    };
    await Promise.all(ROUTERS.map(start));
    return { etcd, relay, backends, routers, applied, events, restart: start, close };
  } catch (err) {
    await close();
    throw err;
  }
}
