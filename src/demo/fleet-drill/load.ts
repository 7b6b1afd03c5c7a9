// The drill's clients: steady writes (POST, each with its own id in x-request-id) and reads (GET from
// clients in three countries) through every router in rotation. Like a load balancer, the drill takes
// a router out of rotation before it kills it and waits for the requests it already sent there: a
// request in flight to a process that is SIGKILLed fails by construction, which says nothing about
// the fleet.
import http from 'node:http';
import { DEMO_CLIENTS, sleep } from '../demo.js';
import { clock } from './world.js';

export interface Sent {
  readonly kind: 'write' | 'read';
  readonly router: string;
  readonly id: string;
  /** Drill clock, when the request was sent and when its answer (or error) came. */
  readonly start: number;
  readonly end: number;
  /** HTTP status; 0 for a connection-level failure. */
  readonly status: number;
  /** The region that answered (x-meridian-region), or the error code the router gave. */
  readonly detail: string;
}

export interface LoadOptions {
  readonly writersPerRouter: number;
  readonly readersPerRouter: number;
  /** Pause between one client's requests. */
  readonly pauseMs: number;
}

const READERS = Object.values(DEMO_CLIENTS);

export class Load {
  readonly results: Sent[] = [];
  private readonly inRotation = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private readonly agents = new Map<string, http.Agent>();
  private readonly clients: Promise<void>[] = [];
  private running = true;
  private seq = 0;

  constructor(
    private readonly portOf: (router: string) => number,
    routers: readonly string[],
    o: LoadOptions,
  ) {
    for (const r of routers) {
      this.inRotation.add(r);
      this.agents.set(r, new http.Agent({ keepAlive: true }));
      for (let i = 0; i < o.writersPerRouter; i++) this.clients.push(this.client(r, 'write', o.pauseMs));
      for (let i = 0; i < o.readersPerRouter; i++) this.clients.push(this.client(r, 'read', o.pauseMs));
    }
  }

  /** Out of rotation: no new requests to `router`; resolves when those it already has are answered. */
  async take(router: string): Promise<void> {
    this.inRotation.delete(router);
    while ((this.inFlight.get(router) ?? 0) > 0) await sleep(5);
  }

  give(router: string): void {
    this.inRotation.add(router);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
    for (const a of this.agents.values()) a.destroy();
  }

  private async client(router: string, kind: Sent['kind'], pauseMs: number): Promise<void> {
    let n = 0;
    while (this.running) {
      if (!this.inRotation.has(router)) {
        await sleep(pauseMs);
        continue;
      }
      n++;
      this.inFlight.set(router, (this.inFlight.get(router) ?? 0) + 1);
      const sent = await this.send(router, kind, ++this.seq, READERS[n % READERS.length]!);
      this.inFlight.set(router, this.inFlight.get(router)! - 1);
      this.results.push(sent);
      await sleep(pauseMs);
    }
  }

  private async send(router: string, kind: Sent['kind'], seq: number, ip: string): Promise<Sent> {
    const id = `${kind}-${router}-${seq}`;
    const start = clock();
    const headers = { 'x-forwarded-for': ip, 'x-request-id': id };
    return new Promise((resolve) => {
      const done = (status: number, detail: string): void => resolve({ kind, router, id, start, end: clock(), status, detail });
      const method = kind === 'write' ? 'POST' : 'GET';
      const req = http.request(
        { host: '127.0.0.1', port: this.portOf(router), method, path: '/api/orders', headers, agent: this.agents.get(router) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(res.statusCode ?? 0, answerDetail(res, Buffer.concat(chunks).toString('utf8'))));
          res.on('error', (err: NodeJS.ErrnoException) => done(0, err.code ?? 'error'));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => done(0, err.code ?? 'error'));
      req.end(kind === 'write' ? '{}' : undefined);
    });
  }
}

/** The region that answered a success, else the error code of the router's JSON answer. */
function answerDetail(res: http.IncomingMessage, body: string): string {
  const region = String(res.headers['x-meridian-region'] ?? '-');
  if ((res.statusCode ?? 0) < 400) return region;
  try {
    const code = (JSON.parse(body) as { error?: unknown }).error;
    return typeof code === 'string' ? code : region;
  } catch {
    return region;
  }
}
