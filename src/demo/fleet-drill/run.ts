// `meridian drill --fleet`: the fleet's promises shown from outside. A real etcd, three router
// processes and three demo backends on loopback; write and read load through every router while the
// phases break things in turn; then the report of what clients saw and what the backends applied.
import { ETCD_INSTALL_ADVICE, findEtcdBinary } from './etcd.js';
import { formatFleetReport } from './format.js';
import { Load } from './load.js';
import { PHASES, fleetReady } from './phases.js';
import { analyse, type FleetDrillReport, type PhaseWindow } from './report.js';
import { ROUTERS, clock, startFleetWorld } from './world.js';

async function fleetDrill(progress: (line: string) => void): Promise<FleetDrillReport> {
  const world = await startFleetWorld();
  let load: Load | null = null;
  try {
    await fleetReady(world);
    const portOf = (id: string): number => world.routers.get(id)?.port ?? 0;
    // the first phase opens before the first request, so every request belongs to a phase
    let start = clock();
    load = new Load(portOf, ROUTERS, { writersPerRouter: 2, readersPerRouter: 1, pauseMs: 10 });
    const windows: PhaseWindow[] = [];
    for (const p of PHASES) {
      progress(`  phase ${p.name}: ${p.title}`);
      if (windows.length > 0) start = clock();
      const prev = windows.at(-1);
      if (prev) windows[windows.length - 1] = { ...prev, end: start };
      windows.push({ name: p.name, title: p.title, did: '', start, end: start });
      const did = await p.run(world, load);
      windows[windows.length - 1] = { ...windows.at(-1)!, did };
    }
    await load.stop();
    windows[windows.length - 1] = { ...windows.at(-1)!, end: clock() };
    return analyse(windows, load.results, world.applied, world.events);
  } finally {
    await load?.stop();
    await world.close();
  }
}

/** Exit code: 0 when every figure that must be zero is, 1 when one is not (or the drill broke), 2 without etcd. */
export async function runFleetDrill(o: { json: boolean }): Promise<number> {
  if (findEtcdBinary() === null) {
    process.stderr.write(
      `meridian drill --fleet needs etcd, and \`${process.env.ETCD_BIN ?? 'etcd'}\` cannot be run. Install it:\n${ETCD_INSTALL_ADVICE.replace(/^/gm, '  ')}\n`,
    );
    return 2;
  }
  const progress = (line: string): void => void (o.json ? process.stderr : process.stdout).write(`${line}\n`);
  progress('Running the fleet drill: etcd, three routers and three regions on loopback (under a minute)...');
  let report: FleetDrillReport;
  try {
    report = await fleetDrill(progress);
  } catch (err) {
    process.stderr.write(`meridian drill --fleet: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatFleetReport(report)}\n`);
  return report.pass ? 0 : 1;
}
