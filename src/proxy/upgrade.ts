// WebSocket upgrades: the decision's region (a handshake is a GET, so the route's read selector
// picks it), one endpoint, one try — a handshake has no body to buffer and is not retried. Until
// the upstream switches protocols every answer is an HTTP error answer on the raw socket; after
// it, the two sockets live and die together.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERRORS } from '../errors.js';
import { classifyFailure } from '../failure.js';
import type { Decision, HealthView, RequestFacts } from '../types.js';
import { answerRaw, refusalFor, upstreamFailureCode, type Refusal } from './answers.js';
import type { ExchangeDeps } from './exchange.js';
import { absoluteAuthority, framingRefusal, isHopByHop, originForm, upstreamHeaders } from './headers.js';
import type { ForwardHooks } from './http-proxy.js';
import type { UpgradeLog } from './recorder.js';
import { pickEndpoint } from './retry.js';
import type { Runtime } from './runtime.js';

const NONE_TRIED: ReadonlySet<string> = new Set();

/** Every upgrade in progress or upgraded, so shutdown can end them. */
export class Upgrades {
  /** Client sockets of upgrade requests (WebSockets), so shutdown can end them after the grace period. */
  private readonly tunnels = new Set<Duplex>();

  constructor(private readonly deps: ExchangeDeps) {}

  handle(
    rt: Runtime,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    facts: RequestFacts,
    decision: Decision,
    view: HealthView,
    writeEpoch: string | null,
  ): void {
    socket.on('error', () => socket.destroy());
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    const { deps } = this;
    const region = decision.region;
    // As for a plain request: the bytes after the head are tunnelled as they come, so a backend
    // that drops the framing field Connection names would read them differently.
    const framing = framingRefusal(req.headers.connection);
    const endpoint =
      region && framing === null ? pickEndpoint(deps.picker, rt.snap, view, region, NONE_TRIED, decision.reason === 'all-down') : null;
    const log: UpgradeLog = {
      kind: 'websocket',
      path: facts.path,
      region,
      reason: decision.reason,
      clientCountry: facts.geo?.country ?? null,
    };
    if (!region || !endpoint) {
      const refusal: Refusal = framing ?? (region ? { code: 'all_down' } : refusalFor(decision));
      answerRaw(socket, refusal, rt.snap);
      deps.recorder.upgradeRefused(log, ERRORS[refusal.code].status);
      return;
    }
    const authority = absoluteAuthority(req.url);
    req.url = originForm(req.url);
    req.headers = upstreamHeaders(req.headers, {
      peer: req.socket.remoteAddress ?? '',
      peerTrusted: rt.ips.isTrustedPeer(req.socket.remoteAddress),
      country: facts.geo?.country ?? null,
      upgrade: true,
      authority,
      proto: rt.proto,
      writeEpoch,
    });
    const tunnel = new Tunnel(deps, rt, socket, region, endpoint, log);
    deps.forwarder.ws(req, socket, head, deps.pool.get(endpoint).target, tunnel, tunnel.onError);
  }

  /**
   * Destroy every upgraded (WebSocket) client socket and, through the close handlers, its upstream.
   * They never end on their own, and `server.close()` waits for them: without this a SIGTERM with
   * one WebSocket open never exits.
   */
  closeAll(): void {
    for (const s of this.tunnels) s.destroy();
    this.tunnels.clear();
  }
}

/** One upgrade: the hooks object http-proxy hands back, its timeout, and its error callback. */
class Tunnel implements ForwardHooks {
  private upgraded = false;
  /** The upstream refused the upgrade with an answer of its own, which is being passed on. */
  private answered = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly deps: ExchangeDeps,
    private readonly rt: Runtime,
    private readonly socket: Duplex,
    private readonly region: string,
    private readonly endpoint: string,
    private readonly log: UpgradeLog,
  ) {
    this.timer = setTimeout(() => {
      if (!this.upgraded) answerRaw(socket, { code: 'upstream_timeout' });
    }, rt.snap.timeouts.connectMs + rt.snap.timeouts.requestMs);
  }

  onProxyReq(proxyReq: ClientRequest): void {
    const { socket } = this;
    // http-proxy's own 'response' listener would write the header block with the upstream's
    // framing and then the de-chunked body (a mangled answer). It is added right after this hook
    // returns, so it is taken off a microtask later, long before any response can arrive.
    proxyReq.on('response', this.rejected);
    queueMicrotask(() => {
      for (const l of proxyReq.listeners('response'))
        if (l !== this.rejected) proxyReq.off('response', l as (res: IncomingMessage) => void);
    });
    proxyReq.on('upgrade', (_res: IncomingMessage, upstream: Socket) => {
      this.upgraded = true;
      clearTimeout(this.timer);
      // No traffic either way for limits.tunnelIdleTimeout: the tunnel is closed (writes to the
      // client and reads from it both re-arm the socket's timer).
      (socket as Socket).setTimeout(this.rt.snap.limits.tunnelIdleTimeoutMs, () => {
        this.deps.recorder.limitHit('tunnelIdleTimeout');
        socket.destroy();
      });
      // http-proxy end()s rather than destroys the two sockets (http-proxy issue #1510): tie their lives.
      socket.once('close', () => upstream.destroy());
      upstream.once('close', () => socket.destroy());
      this.deps.recorder.upgraded(this.log, this.endpoint);
    });
    socket.once('close', () => {
      clearTimeout(this.timer);
      if (!this.upgraded) proxyReq.destroy();
    });
  }

  /**
   * The upstream answered the handshake without switching protocols: pass its answer on intact —
   * status, fields and the whole body, delimited by closing the connection (the body arrives
   * de-chunked, so its original framing fields are dropped) — then close.
   */
  private readonly rejected = (res: IncomingMessage): void => {
    if (res.statusCode === 101) return; // the 'upgrade' event handles it
    clearTimeout(this.timer);
    this.answered = true;
    const { socket, deps } = this;
    const status = res.statusCode ?? 502;
    const failing = this.rt.snap.passive.statuses.has(status);
    deps.health.reportResult(this.endpoint, !failing, failing ? 'status' : undefined);
    deps.recorder.upgradeRefused(this.log, status);
    let head = `HTTP/1.1 ${status} ${res.statusMessage ?? ''}\r\n`;
    const raw = res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (isHopByHop(name) || name === 'content-length') continue;
      head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    if (!socket.writable) {
      res.destroy();
      return;
    }
    socket.write(`${head}connection: close\r\n\r\n`);
    res.on('data', (c: Buffer) => socket.write(c));
    res.on('end', () => socket.end());
    res.on('error', () => socket.destroy());
    setTimeout(() => socket.destroy(), this.rt.snap.timeouts.requestMs).unref();
  };

  readonly onError = (err: Error): void => {
    clearTimeout(this.timer);
    if (this.upgraded || this.answered) {
      this.socket.destroy();
      return;
    }
    const failure = classifyFailure({ error: err, clientGone: this.socket.destroyed });
    const kind = failure.counted;
    if (kind === null) return; // the client left before the upstream answered: not the upstream's fault
    const { deps } = this;
    deps.health.reportResult(this.endpoint, false, kind);
    deps.recorder.upstreamFailed(this.region, kind);
    const code = upstreamFailureCode(kind);
    answerRaw(this.socket, { code });
    deps.recorder.upgradeFailed(this.log, this.endpoint, ERRORS[code].status, failure, err);
  };
}
