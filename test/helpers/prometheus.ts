// A real Prometheus for tests: the Debian `prometheus` binary with its own config file scraping
// the given targets every second as job "meridian", a temp storage dir and a free loopback port.
// stop() ends the process and removes the dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './router-process.js';

export interface PromResult {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromRange {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

export interface Prometheus {
  readonly url: string;
  /** An instant query; rejects on an HTTP or PromQL error, with Prometheus's message. */
  query(expr: string): Promise<PromResult[]>;
  /** A range query, `step` seconds apart; rejects like query(). */
  queryRange(expr: string, start: number, end: number, step: number): Promise<PromRange[]>;
  /** How many successful scrapes of `target` (host:port) Prometheus has made. */
  scrapes(target: string): Promise<number>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startPrometheus(targets: readonly string[], metricsPath = '/metrics'): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: meridian',
      `    metrics_path: ${metricsPath}`,
      `    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const proc = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  async function api(path: string): Promise<unknown> {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data?: unknown; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.errorType ?? res.status}: ${body.error ?? ''}`);
    return body.data;
  }

  const prom: Prometheus = {
    url,
    async query(expr) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)) as {
        resultType: string;
        result: PromResult[] | [number, string];
      };
      return data.resultType === 'scalar' ? [{ metric: {}, value: data.result as [number, string] }] : (data.result as PromResult[]);
    },
    async queryRange(expr, start, end, step) {
      const q = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
      const data = (await api(`/api/v1/query_range?${q.toString()}`)) as { result: PromRange[] };
      return data.result;
    },
    async scrapes(target) {
      const r = await prom.query(`sum_over_time(up{job="meridian", instance="${target}"}[1h])`);
      return Number(r[0]?.value[1] ?? 0);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
        return (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true;
      },
      20_000,
      'prometheus ready',
    );
  } catch (err) {
    await prom.stop();
    throw err;
  }
  return prom;
}
