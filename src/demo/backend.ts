import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A simulated regional backend for `meridian demo`, the failover drill and the integration tests.
 * It answers every request with JSON naming its region, reports replication lag on its health
 * path, and can be made to fail in the ways real regions fail: hard death (listener gone, sockets
 * reset), failing or hanging health checks, error statuses, hangs and resets on live traffic.
 *
 * Special paths (for tests and curl experiments):
 *   /__status/NNN   answer with status NNN
 *   /__hang         never answer (the router's request timeout must fire)
 *   /__reset        destroy the connection after reading the request
 *   /__slow/MS      answer after MS milliseconds
 *   /__badheader    answer with a header value containing a control character
 */
export interface BackendOptions {
  region: string;
  port?: number;
  host?: string;
  healthPath?: string;
  lagHeader?: string;
  /** Replication lag in seconds reported on health responses; null = header not sent. */
  lagSeconds?: number | null;
  /**
   * Called for every write that carries a fleet epoch and passed the epoch fence, as it is applied:
   * the fleet drill timestamps these to find writes lost, applied twice, or accepted by two regions at once.
   */
  onWrite?: (id: string | null, epoch: number) => void;
}

export type HealthMode = 'ok' | 'fail' | 'hang';
export type TrafficMode = 'ok' | 'fail' | 'hang' | 'reset';

export interface RequestRecord {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

export class Backend {
  readonly region: string;
  readonly server: http.Server;
  healthMode: HealthMode = 'ok';
  trafficMode: TrafficMode = 'ok';
  lagSeconds: number | null;
  /** Every non-health request seen, in order. */
  readonly requests: RequestRecord[] = [];
  /** How many times each x-request-id was applied (a write counts once it reached this handler). */
  readonly applied = new Map<string, number>();
  healthChecks = 0;
  /**
   * The data tier's fence: the highest `x-meridian-write-epoch` a write carried here. A write with a
   * lower epoch comes from a router that has not yet learned the write region moved: refused, 409.
   */
  highestEpoch = 0;
  /** Writes accepted per epoch (writes without the header are not counted here). */
  readonly writesByEpoch = new Map<number, number>();
  /** Writes refused by the fence. */
  staleWrites = 0;
  private readonly sockets = new Set<Socket>();
  private readonly host: string;
  private readonly healthPath: string;
  private readonly lagHeader: string;
  private readonly onWrite: BackendOptions['onWrite'];
  private boundPort = 0;
  private listening = false;

  constructor(opts: BackendOptions) {
    this.region = opts.region;
    this.host = opts.host ?? '127.0.0.1';
    this.healthPath = opts.healthPath ?? '/health';
    this.lagHeader = opts.lagHeader ?? 'x-replication-lag';
    this.lagSeconds = opts.lagSeconds === undefined ? 0 : opts.lagSeconds;
    this.boundPort = opts.port ?? 0;
    this.onWrite = opts.onWrite;
    // Keep-alive longer than the router's agent idle timeout, as a real backend behind a proxy should.
    this.server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    this.server.headersTimeout = 66_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${this.host}:${this.boundPort}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.boundPort, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.listening = true;
    return this;
  }

  /** Hard death: stop listening and reset every open connection, as a crashed region would. */
  async kill(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) resetOrDestroy(s);
    this.sockets.clear();
    await closed;
  }

  /** Come back on the same port after kill(). */
  async revive(): Promise<void> {
    if (this.listening) return;
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  countByMethod(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.method] = (out[r.method] ?? 0) + 1;
    return out;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    if (url === this.healthPath || url.startsWith(`${this.healthPath}?`)) {
      this.healthChecks++;
      req.resume();
      if (this.healthMode === 'hang') return; // the prober's timeout must fire
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
      if (this.lagSeconds !== null) headers[this.lagHeader] = String(this.lagSeconds);
      const ok = this.healthMode === 'ok';
      res.writeHead(ok ? 200 : 503, headers);
      res.end(JSON.stringify({ region: this.region, healthy: ok }));
      return;
    }
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => this.respond(req, res, url, bodyBytes));
    req.on('error', () => res.destroy());
  }

  /** True: refuse this write (stale epoch); else it is counted under its epoch. */
  private fenced(method: string, header: string | string[] | undefined): boolean {
    const epoch = writeEpoch(method, header);
    if (epoch === null) return false;
    if (epoch < this.highestEpoch) return true;
    this.highestEpoch = epoch;
    this.writesByEpoch.set(epoch, (this.writesByEpoch.get(epoch) ?? 0) + 1);
    return false;
  }

  private respond(req: http.IncomingMessage, res: http.ServerResponse, url: string, bodyBytes: number): void {
    const method = req.method ?? 'GET';
    this.requests.push({ method, url, headers: req.headers, bodyBytes });
    if (this.fenced(method, req.headers['x-meridian-write-epoch'])) {
      this.staleWrites++;
      res.writeHead(409, { 'content-type': 'application/json', 'x-backend-region': this.region });
      res.end(JSON.stringify({ error: 'stale-write-epoch', region: this.region, highestEpoch: this.highestEpoch }));
      return;
    }
    const id = req.headers['x-request-id'];
    if (typeof id === 'string') this.applied.set(id, (this.applied.get(id) ?? 0) + 1);
    const epoch = this.onWrite ? writeEpoch(method, req.headers['x-meridian-write-epoch']) : null;
    if (epoch !== null) this.onWrite?.(typeof id === 'string' ? id : null, epoch);

    if (this.trafficMode === 'hang' || url.startsWith('/__hang')) return;
    if (this.trafficMode === 'reset' || url.startsWith('/__reset')) {
      resetOrDestroy(req.socket);
      return;
    }
    if (url.startsWith('/__badheader')) {
      // Bypass Node's own header validation to send what a broken backend might send.
      req.socket.write(`HTTP/1.1 200 OK\r\nx-bad: a\u0001b\r\ncontent-length: 2\r\n\r\nok`);
      return;
    }
    let status = this.trafficMode === 'fail' ? 503 : 200;
    const m = /^\/__status\/(\d{3})/.exec(url);
    if (m) status = Number(m[1]);
    const slow = /^\/__slow\/(\d+)/.exec(url);
    const body = JSON.stringify({
      region: this.region,
      port: this.boundPort,
      method,
      url,
      bodyBytes,
      clientCountry: req.headers['x-meridian-client-country'] ?? null,
      forwardedFor: req.headers['x-forwarded-for'] ?? null,
    });
    const send = (): void => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', 'x-backend-region': this.region });
      res.end(body);
    };
    if (slow) setTimeout(send, Number(slow[1]));
    else send();
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The epoch of a write, if it carries one (a read, or a request without the header: null). */
function writeEpoch(method: string, header: string | string[] | undefined): number | null {
  if (READS.has(method) || typeof header !== 'string' || !/^\d{1,15}$/.test(header)) return null;
  return Number(header);
}

/**
 * Reset the connection (RST), as a crashed host would. libuv forbids mixing a shutdown with a
 * reset on one socket (uv_tcp_close_reset docs), and doing so has left processes unable to exit;
 * a socket whose write side is already ending is simply destroyed.
 */
function resetOrDestroy(s: Socket): void {
  if (s.destroyed) return;
  if (s.writableEnded || s.writableFinished || s.connecting) s.destroy();
  else s.resetAndDestroy();
}

export async function startBackend(opts: BackendOptions): Promise<Backend> {
  return new Backend(opts).start();
}
