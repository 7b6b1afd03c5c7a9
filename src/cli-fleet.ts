// `meridian fleet status --config FILE [--json]`: asks the router running with that config (its admin
// listener, GET /admin/fleet) for the members, the leader and the write region the fleet agreed on.
import { formatConfigError, loadConfigFile } from './config/load.js';

interface Member {
  readonly id: string;
  readonly site: string | null;
  readonly version: string;
  readonly startedAt: number;
}

interface FleetAnswer {
  readonly enabled: boolean;
  readonly id?: string;
  readonly connected?: boolean;
  readonly leader?: string | null;
  readonly members?: readonly Member[];
  readonly writeRegion?: { readonly region: string; readonly epoch: number; readonly state: string } | null;
}

function adminUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/admin/fleet`;
}

function render(a: FleetAnswer): string {
  if (!a.enabled) return 'this router is not in a fleet (no `fleet:` in its config)\n';
  const wr = a.writeRegion;
  const lines = [
    `router:       ${a.id ?? '?'} (${a.connected ? 'connected' : 'NOT connected to etcd'})`,
    `leader:       ${a.leader ?? 'none'}`,
    `write region: ${wr ? `${wr.region}  epoch ${wr.epoch}  ${wr.state}` : 'none'}`,
    `members:      ${a.members?.length ?? 0}`,
  ];
  for (const m of a.members ?? []) {
    const lead = m.id === a.leader ? '  (leader)' : '';
    lines.push(
      `  ${m.id.padEnd(24)} site ${(m.site ?? '-').padEnd(12)} v${m.version}  since ${new Date(m.startedAt).toISOString()}${lead}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Exit code: 0 answered, 1 the config is invalid or the router did not answer. */
export async function fleetStatus(file: string, json: boolean): Promise<number> {
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.errors.map(formatConfigError).join('\n')}\n`);
    return 1;
  }
  const { host, port } = loaded.snapshot.admin;
  const url = adminUrl(host, port);
  let answer: FleetAnswer;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    answer = (await res.json()) as FleetAnswer;
  } catch (err) {
    process.stderr.write(`meridian: no answer from the router's admin listener at ${url}: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(json ? `${JSON.stringify(answer, null, 2)}\n` : render(answer));
  return 0;
}
