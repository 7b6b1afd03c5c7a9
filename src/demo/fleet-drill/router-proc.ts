// One router of the fleet drill, as an operator runs it: `meridian serve --config FILE` in its own
// process. Its listeners are on port 0; the ports come from its `listening` log line, and its fleet
// events (leader changes, handovers, connection to etcd) from the pino JSON lines on its stdout.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url));

/** The log events the drill reads; access lines and the rest are dropped as they arrive. */
const KEPT = new Set(['listening', 'fleet-connected', 'fleet-disconnected', 'fleet-leader', 'write-handover-start', 'write-handover-done']);

export interface RouterEvent {
  readonly router: string;
  /** The router's own pino `time` (ms since the epoch, this machine's clock). */
  readonly time: number;
  readonly event: string;
  readonly epoch: number | null;
  /** Whether this router process was the fleet's leader when it logged the line (per its fleet-leader lines). */
  readonly byLeader: boolean;
  readonly line: Readonly<Record<string, unknown>>;
}

export interface RouterProcess {
  readonly id: string;
  readonly port: number;
  readonly adminPort: number;
  /** Stop it: SIGTERM drains, SIGKILL is a crash. Resolves when the process is gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Start `meridian serve` on `configFile`; resolves once it listens (with its ports), rejects if it exits first. */
export function startRouterProcess(id: string, configFile: string, onEvent: (e: RouterEvent) => void): Promise<RouterProcess> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let leader = false;
  let buf = '';
  return new Promise<RouterProcess>((resolve, reject) => {
    const timer = setTimeout(() => fail(`router ${id} did not listen within 20 s`), 20_000);
    function fail(why: string): void {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${why}; stderr: ${stderr.trim() || '(empty)'}`));
    }
    void exited.then(() => fail(`router ${id} exited before listening (code ${proc.exitCode})`));
    const onLine = (line: Record<string, unknown>): void => {
      const event = typeof line.event === 'string' ? line.event : '';
      if (!KEPT.has(event)) return;
      if (event === 'fleet-leader') leader = line.self === true;
      const epoch = typeof line.epoch === 'number' ? line.epoch : null;
      const time = typeof line.time === 'number' ? line.time : Date.now();
      if (event === 'listening') {
        clearTimeout(timer);
        resolve({
          id,
          port: Number(new URL(String(line.listen)).port),
          adminPort: Number(new URL(String(line.admin)).port),
          kill: async (signal) => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            await exited;
          },
        });
      }
      onEvent({ router: id, time, event, epoch, byLeader: leader, line });
    };
    proc.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (text.startsWith('{')) onLine(parseLine(text));
      }
    });
  });
}

function parseLine(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}
