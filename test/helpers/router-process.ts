// Integration harness: the real router, started as `node dist/cli.js serve --config FILE` from a
// YAML file in a temp dir, listening on port 0; its pino JSON lines are parsed from stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');

export type LogLine = Record<string, unknown> & { msg?: string; level?: number; event?: string };

export interface RouterProc {
  readonly proc: ChildProcess;
  readonly configFile: string;
  readonly port: number;
  readonly adminPort: number;
  readonly logs: LogLine[];
  /** Everything written to stderr (deprecation warnings would land here). */
  stderr(): string;
  /** Resolves with the first log line (already seen or future) matching `pred`. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Rewrite the config file (for reload tests). */
  writeConfig(yaml: string): void;
  /** SIGTERM (default) and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `meridian ARGS` run to its end from the repo root, `env` added to this process's environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Temp dirs made by this test process, removed when it exits (whether its tests passed or not). */
const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export function writeTempConfig(yaml: string, name = 'meridian.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-test-'));
  tempDirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

export async function startRouter(
  yaml: string,
  opts: {
    env?: NodeJS.ProcessEnv;
    logLevel?: string;
    /** A command line the router runs under (e.g. `prlimit --nofile=…`). */
    wrap?: readonly string[];
  } = {},
): Promise<RouterProc> {
  const configFile = writeTempConfig(yaml);
  const args = [CLI, 'serve', '--config', configFile, '--log-level', opts.logLevel ?? 'debug'];
  const [cmd, ...pre] = opts.wrap && opts.wrap.length > 0 ? [...opts.wrap, process.execPath] : [process.execPath];
  const proc = spawn(cmd, [...pre, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buf = '';
  let errBuf = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text, raw: true };
      }
      logs.push(line);
      for (let w = waiters.length - 1; w >= 0; w--) {
        if (waiters[w]!.pred(line)) {
          waiters[w]!.resolve(line);
          waiters.splice(w, 1);
        }
      }
    }
  });
  proc.stderr.on('data', (c: Buffer) => (errBuf += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `log line not seen within ${timeoutMs}ms; stderr: ${errBuf.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  };

  const listening = await Promise.race([
    waitForLog((l) => l.event === 'listening', 15_000),
    exited.then((code) => {
      throw new Error(`router exited with ${code} before listening: ${errBuf}`);
    }),
  ]);
  const port = Number(new URL(String(listening.listen)).port);
  const adminPort = Number(new URL(String(listening.admin)).port);
  return {
    proc,
    configFile,
    port,
    adminPort,
    logs,
    stderr: () => errBuf,
    waitForLog,
    writeConfig: (y) => writeFileSync(configFile, y),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    exited,
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One HTTP request on a fresh connection (no pooling between test requests). */
export function request(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; host?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: opts.host ?? '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Poll `fn` until it returns a truthy value or the time runs out (behaviour, not timing, is asserted). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function admin(r: RouterProc, method: string, path: string, token?: string, body?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = 'application/json';
  return request(r.adminPort, { method, path, headers, body });
}

/** Wait until the router's /readyz answers 200 (every endpoint probed once). */
export async function waitReady(r: RouterProc, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await request(r.adminPort, { path: '/readyz' })).status === 200, timeoutMs, 'readyz');
}
