// A real etcd on loopback, for the fleet drill (meridian drill --fleet) and the integration tests: the
// `etcd` binary (Debian package etcd-server) on free client and peer ports with a temporary data dir,
// removed on stop(); optionally with TLS, or as a cluster of several members. Each member can be stopped and started again on the same ports and data
// dir, which is how tests take a member or the whole store away and bring it back.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdTls {
  /** PEM files: the CA that signed both sides, etcd's server certificate and key. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A client certificate and key signed by the CA, which etcd then requires of every client. */
  readonly client: { readonly cert: string; readonly key: string };
}

export interface EtcdServer {
  /** `http(s)://127.0.0.1:<client port>`. */
  readonly endpoint: string;
  readonly clientPort: number;
  /** Kill the process (SIGTERM), keep the data dir and ports; start() brings it back with the data. */
  pause(): Promise<void>;
  /** Start again after pause(), on the same ports with the same data. */
  resume(): Promise<void>;
  /** Kill the process and remove the data dir. */
  stop(): Promise<void>;
  /** The last lines etcd wrote, for failure messages. */
  output(): string;
}

/** Where to get etcd, for every message that says it is missing. */
export const ETCD_INSTALL_ADVICE = [
  'Debian/Ubuntu: apt-get install etcd-server',
  'or a release from https://github.com/etcd-io/etcd/releases (unpack it, put etcd on PATH)',
  'or set ETCD_BIN to the etcd binary',
].join('\n');

/** The etcd to run ($ETCD_BIN, an etcd that is not on PATH, else `etcd`), or null when it does not run. */
export function findEtcdBinary(): string | null {
  const bin = process.env.ETCD_BIN ?? 'etcd';
  const found = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return found.error || found.status !== 0 ? null : bin;
}

/** Throws a clear error when the binary is missing, so a test fails saying what to install. */
function requireEtcdBinary(): string {
  const bin = findEtcdBinary();
  if (bin === null) throw new Error(`\`${process.env.ETCD_BIN ?? 'etcd'}\` cannot be run; a real etcd is needed:\n${ETCD_INSTALL_ADVICE}`);
  return bin;
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForTcp(port: number, deadline: number, proc: ChildProcess, out: () => string): Promise<void> {
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode} before listening:\n${out()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`etcd did not listen on ${port} within 15 s:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function getHealth(endpoint: string, tls: EtcdTls | undefined): Promise<string> {
  if (!tls) return fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) }).then((r) => r.text());
  return new Promise((resolve, reject) => {
    const req = https.get(
      `${endpoint}/health`,
      { ca: readFileSync(tls.ca), cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key), timeout: 1000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Wait until etcd answers its /health endpoint with a leader (a fresh single node needs an election). */
async function waitHealthy(endpoint: string, tls: EtcdTls | undefined, deadline: number, out: () => string): Promise<void> {
  for (;;) {
    try {
      const body = JSON.parse(await getHealth(endpoint, tls)) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`etcd not healthy within 15 s:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface NodeSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** `name=peer-url,...` of every member of the cluster. */
  readonly initialCluster: string;
  readonly tls: EtcdTls | undefined;
}

/** One etcd process that can be stopped and started again on the same ports and data dir. */
function etcdNode(bin: string, spec: NodeSpec, waitForHealth: boolean): EtcdServer & { launch(health: boolean): Promise<void> } {
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-etcd-'));
  const endpoint = `${spec.tls ? 'https' : 'http'}://127.0.0.1:${spec.clientPort}`;
  const peer = `http://127.0.0.1:${spec.peerPort}`;
  const tlsFlags = spec.tls
    ? [`--cert-file=${spec.tls.cert}`, `--key-file=${spec.tls.key}`, `--trusted-ca-file=${spec.tls.ca}`, '--client-cert-auth']
    : [];
  let proc: ChildProcess | null = null;
  let log = '';
  const out = (): string => log.split('\n').slice(-30).join('\n');

  const launch = async (health: boolean): Promise<void> => {
    // Short raft timings: a cluster elects a leader quickly, and etcd's minimum lease TTL (1.5
    // election timeouts) drops to well below the 1-3 s leases the tests use.
    const p = spawn(
      bin,
      [
        `--name=${spec.name}`,
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${spec.initialCluster}`,
        '--heartbeat-interval=50',
        '--election-timeout=500',
        '--logger=zap',
        '--log-outputs=stderr',
        ...tlsFlags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (c: Buffer): void => {
      log = (log + c.toString('utf8')).slice(-20_000);
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    proc = p;
    const deadline = Date.now() + 15_000;
    await waitForTcp(spec.clientPort, deadline, p, out);
    // a member of a cluster that is still forming has no leader yet: the caller waits for that
    if (health) await waitHealthy(endpoint, spec.tls, deadline, out);
  };

  const kill = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGTERM');
    const hard = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(hard);
  };

  return {
    endpoint,
    clientPort: spec.clientPort,
    launch,
    pause: kill,
    resume: () => launch(waitForHealth),
    async stop() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
    output: out,
  };
}

export async function startEtcd(o: { tls?: EtcdTls } = {}): Promise<EtcdServer> {
  const bin = requireEtcdBinary();
  const clientPort = await freePort();
  const peerPort = await freePort();
  const name = 'meridian-test';
  const node = etcdNode(bin, { name, clientPort, peerPort, initialCluster: `${name}=http://127.0.0.1:${peerPort}`, tls: o.tls }, true);
  await node.launch(true);
  return node;
}

export interface EtcdCluster {
  readonly nodes: readonly EtcdServer[];
  readonly endpoints: readonly string[];
  stop(): Promise<void>;
}

/** `size` etcd members forming one cluster on loopback; each node can be stopped and started again. */
export async function startEtcdCluster(size: number): Promise<EtcdCluster> {
  const bin = requireEtcdBinary();
  const specs: NodeSpec[] = [];
  for (let i = 0; i < size; i++)
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), initialCluster: '', tls: undefined });
  const initialCluster = specs.map((n) => `${n.name}=http://127.0.0.1:${n.peerPort}`).join(',');
  // a restarted member is healthy only once it rejoined a cluster with a leader
  const nodes = specs.map((n) => etcdNode(bin, { ...n, initialCluster }, true));
  await Promise.all(nodes.map((n) => n.launch(false)));
  const deadline = Date.now() + 15_000;
  await Promise.all(nodes.map((n) => waitHealthy(n.endpoint, undefined, deadline, () => n.output())));
  return {
    nodes,
    endpoints: nodes.map((n) => n.endpoint),
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
