// The drill's phases, each an action on the running fleet and a wait until the fleet has answered it,
// as every router's GET /admin/fleet tells. The waits are bounded (a fleet that never converges fails
// the drill with what it waited for); no phase's length is asserted.
import { sleep } from '../demo.js';
import type { Load } from './load.js';
import type { RouterProcess } from './router-proc.js';
import { CUT_ROUTER, REGIONS, ROUTERS, type FleetWorld } from './world.js';

interface FleetView {
  readonly connected: boolean;
  readonly leader: string | null;
  readonly members: readonly { readonly id: string }[];
  readonly writeRegion: { readonly region: string; readonly epoch: number; readonly state: string } | null;
}

export interface Phase {
  readonly name: string;
  readonly title: string;
  /** Resolves with what was done, in words (region and router names, epochs). */
  run(w: FleetWorld, load: Load): Promise<string>;
}

/** How long each phase lets the load run once the fleet has settled, so every phase shows steady traffic too. */
const SETTLE_MS = 1_000;
const WAIT_MS = 20_000;

async function fleetOf(r: RouterProcess | undefined): Promise<FleetView | null> {
  if (!r) return null;
  try {
    const res = await fetch(`http://127.0.0.1:${r.adminPort}/admin/fleet`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as FleetView) : null;
  } catch {
    return null;
  }
}

async function views(w: FleetWorld, ids: readonly string[]): Promise<(FleetView | null)[]> {
  return Promise.all(ids.map((id) => fleetOf(w.routers.get(id))));
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the fleet did not converge within ${WAIT_MS / 1000} s: ${what}`);
    await sleep(50);
  }
}

/** Every router in `ids` connected, agreeing on one active write region (and, if given, it is `region`). */
async function converged(w: FleetWorld, ids: readonly string[], region?: string): Promise<string> {
  let agreed = '';
  await until(`routers ${ids.join(', ')} connected with one active write region${region ? ` (${region})` : ''}`, async () => {
    const v = await views(w, ids);
    const key = v[0]?.writeRegion;
    agreed = key ? `${key.region}@${key.epoch}` : '';
    return v.every(
      (f) =>
        f?.connected === true &&
        f.writeRegion?.state === 'active' &&
        f.writeRegion.epoch === key?.epoch &&
        f.writeRegion.region === key.region &&
        (region === undefined || key.region === region),
    );
  });
  return agreed;
}

/** The fleet of three ready: one leader, every member listed, one active write region. */
export async function fleetReady(w: FleetWorld): Promise<void> {
  await until('three routers with one leader', async () => {
    const v = await views(w, ROUTERS);
    return v.every((f) => f?.members.length === ROUTERS.length && f.leader !== null && f.leader === v[0]?.leader);
  });
  await converged(w, ROUTERS);
}

/** The write region all running routers agree on, as `region@epoch`. */
function writeRegion(w: FleetWorld): Promise<string> {
  return converged(w, [...w.routers.keys()]);
}

const regionOf = (key: string): string => key.split('@')[0]!;

const baseline: Phase = {
  name: 'baseline',
  title: 'steady load, nothing broken',
  run: async (w) => {
    await sleep(2 * SETTLE_MS);
    return `writes to ${await writeRegion(w)}`;
  },
};

const killWriteRegion: Phase = {
  name: 'kill-write-region',
  title: 'the write region killed (listener closed, sockets reset), revived once the fleet moved',
  async run(w) {
    const before = await writeRegion(w);
    const victim = regionOf(before);
    await w.backends.get(victim)!.kill();
    await until(`write region moved off ${victim}`, async () => {
      const v = await views(w, ROUTERS);
      return v.every((f) => f?.writeRegion?.state === 'active' && f.writeRegion.region !== victim);
    });
    await sleep(SETTLE_MS);
    const after = await writeRegion(w);
    await w.backends.get(victim)!.revive();
    await sleep(SETTLE_MS);
    return `killed ${victim} (write region ${before}); the fleet moved writes to ${after}; ${victim} revived`;
  },
};

const cutRouter: Phase = {
  name: 'cut-router',
  title: `router ${CUT_ROUTER} cut off from etcd; the write region moved through router a meanwhile`,
  async run(w) {
    const from = await writeRegion(w);
    const to = REGIONS.find((r) => r !== regionOf(from))!;
    const others = ROUTERS.filter((id) => id !== CUT_ROUTER);
    await w.relay.stop();
    await until(`router ${CUT_ROUTER} sees it is cut off`, async () => (await fleetOf(w.routers.get(CUT_ROUTER)))?.connected === false);
    await until(`POST /admin/write-region {"region":"${to}"} accepted by router a`, async () => {
      const res = await fetch(`http://127.0.0.1:${w.routers.get('a')!.adminPort}/admin/write-region`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ region: to }),
        signal: AbortSignal.timeout(5_000),
      }).catch(() => null);
      return res?.status === 200;
    });
    const moved = await converged(w, others, to);
    await w.relay.start();
    await converged(w, ROUTERS, to);
    await sleep(SETTLE_MS);
    return `cut router ${CUT_ROUTER} off; moved the write region ${from} -> ${moved} through router a; reconnected ${CUT_ROUTER}`;
  },
};

const killLeader: Phase = {
  name: 'kill-leader',
  title: 'the leader router SIGKILLed, restarted once another router led',
  async run(w, load) {
    const key = await writeRegion(w);
    const leader = (await fleetOf(w.routers.get('a')))?.leader;
    if (!leader || !w.routers.has(leader)) throw new Error(`no leader to kill (router a says: ${leader ?? 'none'})`);
    await load.take(leader);
    await w.routers.get(leader)!.kill('SIGKILL');
    w.routers.delete(leader);
    const rest = ROUTERS.filter((id) => id !== leader);
    let next = '';
    await until(`a new leader after ${leader}`, async () => {
      const v = await views(w, rest);
      next = v[0]?.leader ?? '';
      return v.every((f) => f?.leader != null && f.leader !== leader && f.leader === v[0]?.leader);
    });
    await w.restart(leader);
    await until(`router ${leader} back in a fleet of three`, async () => (await fleetOf(w.routers.get(leader)))?.members.length === 3);
    const after = await converged(w, ROUTERS);
    // back in rotation once it has probed every region, as a load balancer's readiness check would wait
    await until(`router ${leader} ready`, async () => {
      const url = `http://127.0.0.1:${w.routers.get(leader)!.adminPort}/readyz`;
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      return res?.status === 200;
    });
    load.give(leader);
    await sleep(SETTLE_MS);
    return `SIGKILLed leader ${leader} (write region ${key}); ${next} took the lead; ${leader} restarted; write region ${after}`;
  },
};

const etcdOutage: Phase = {
  name: 'etcd-outage',
  title: 'etcd stopped, started again on the same port with the same data',
  async run(w) {
    const before = await writeRegion(w);
    await w.etcd.pause();
    await until('every router sees it is cut off', async () => (await views(w, ROUTERS)).every((f) => f?.connected === false));
    await sleep(SETTLE_MS);
    await w.etcd.resume();
    const after = await converged(w, ROUTERS);
    await sleep(SETTLE_MS);
    return `stopped etcd (write region ${before}); every router fenced; started etcd again; write region ${after}`;
  },
};

export const PHASES: readonly Phase[] = [baseline, killWriteRegion, cutRouter, killLeader, etcdOutage];
