import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';
import { buildFacts } from '../identity/facts.js';
import type { TrustedProxies } from '../identity/client-ip.js';
import type { ClientIpMemo } from '../identity/client-ip.js';
import type { GeoLookup } from '../identity/geoip.js';
import type { WriteMarkCodec } from '../identity/write-mark.js';
import { AccessLog } from '../observability/access-log.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { decide } from '../routing/decide.js';
import type { Decision, HealthView, RequestFacts, Snapshot } from '../types.js';
import { AgentPool, type EndpointTarget } from './agents.js';
import { bodyLength, isHopByHop, isIdempotent, originForm, prepareUpstreamHeaders } from './headers.js';
import httpProxy, { forwardLean, type HttpProxy } from './http-proxy.js';
import { type RetryBudget } from './retry-budget.js';

/** What the request path needs from the health layer. */
export interface HealthPort {
  view(): HealthView;
  reportResult(endpoint: string, ok: boolean, kind?: string): void;
}

/** Everything derived from one config snapshot; swapped whole on reload. */
export interface Runtime {
  readonly snap: Snapshot;
  readonly trusted: TrustedProxies;
  /** Client-IP walks and peer trust remembered for `trusted` (one per snapshot, so never stale). */
  readonly ips: ClientIpMemo;
  readonly budget: RetryBudget;
  readonly marks: WriteMarkCodec | null;
  /** Precomputed Set-Cookie attributes per route with read-your-writes. */
  readonly markCookieSuffix: ReadonlyMap<string, string>;
}

type FailureKind = 'connect' | 'timeout' | 'reset' | 'bad_response';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNECT_TIMEOUT',
]);

interface Attempt {
  readonly n: number;
  readonly region: string;
  readonly endpoint: string;
  readonly startedAt: number;
  proxyReq: ClientRequest | null;
  /** socket.bytesWritten when this attempt got its socket: more means request bytes left us. */
  bytesBefore: number;
  connectTimer: NodeJS.Timeout | null;
  responseTimer: NodeJS.Timeout | null;
  timedOut: 'connect' | 'response' | null;
  done: boolean;
}

const kExchange = Symbol('meridian.exchange');
type WithExchange = IncomingMessage & { [kExchange]?: Exchange };
type WithExchangeRes = ServerResponse & { [kExchange]?: Exchange };
const kClientRes = Symbol('meridian.clientRes');
type WithClientRes = IncomingMessage & { [kClientRes]?: ServerResponse };
const kUpstreamRes = Symbol('meridian.upstreamRes');
type WithUpstreamRes = ServerResponse & { [kUpstreamRes]?: IncomingMessage };
const kUpgrade = Symbol('meridian.upgrade');
type WithUpgradeHook = IncomingMessage & { [kUpgrade]?: (proxyReq: ClientRequest) => void };

/**
 * The request path: identity → decide → forward with retries → log and metrics.
 * http-proxy makes the upstream request; this class decides where, how often, and what the
 * client sees. Responses are self-handled so a retryable status can be retried before any byte
 * reaches the client.
 */
export class Router {
  readonly proxy: HttpProxy;
  private readonly agents = new AgentPool();
  private readonly rr = new Map<string, number>();
  /** Client sockets of upgrade requests (WebSockets), so shutdown can end them after the grace period. */
  private readonly tunnels = new Set<Duplex>();
  readonly access: AccessLog;
  runtime: Runtime;

  constructor(
    runtime: Runtime,
    readonly health: HealthPort,
    readonly geo: GeoLookup,
    readonly metrics: Metrics,
    readonly logger: Logger,
    readonly clock: Clock,
  ) {
    this.runtime = runtime;
    this.access = new AccessLog(logger);
    this.proxy = httpProxy.createProxyServer({ selfHandleResponse: true, xfwd: false, toProxy: true, ws: true });
    // With per-call callbacks this listener only sees errors without one; never let it throw.
    this.proxy.on('error', () => undefined);
    this.proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage) => {
      (req as WithExchange)[kExchange]?.onProxyReq(proxyReq);
    });
    this.proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) => {
      (req as WithUpgradeHook)[kUpgrade]?.(proxyReq);
    });
    this.proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage) => {
      const ex = (req as WithExchange)[kExchange];
      if (ex) ex.onProxyRes(proxyRes);
      else proxyRes.destroy();
    });
  }

  swap(runtime: Runtime): void {
    this.runtime = runtime;
    this.agents.retain(new Set(runtime.snap.regions.flatMap((r) => r.endpoints)));
  }

  close(): void {
    this.closeTunnels();
    this.agents.destroy();
    this.proxy.close();
  }

  /**
   * Destroy every upgraded (WebSocket) client socket and, through the close handlers, its upstream.
   * They never end on their own, and `server.close()` waits for them: without this a SIGTERM with
   * one WebSocket open never exits.
   */
  closeTunnels(): void {
    for (const s of this.tunnels) s.destroy();
    this.tunnels.clear();
  }

  /** Round robin over the endpoints the health view allows, skipping ones already tried. */
  pickEndpoint(region: string, view: HealthView, tried: ReadonlySet<string>, anyState: boolean): string | null {
    let list = view.availableEndpoints(region);
    if (list.length === 0 && anyState) list = this.runtime.snap.regionByName.get(region)?.endpoints ?? [];
    const n = list.length;
    if (n === 0) return null;
    const start = this.rr.get(region) ?? 0;
    this.rr.set(region, start + 1);
    for (let i = 0; i < n; i++) {
      const ep = list[(start + i) % n]!;
      if (!tried.has(ep)) return ep;
    }
    return null;
  }

  target(endpoint: string): { target: EndpointTarget; agent: Agent } {
    return this.agents.get(endpoint);
  }

  facts(rt: Runtime, req: IncomingMessage, now: number): RequestFacts {
    return buildFacts({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, peer: req.socket.remoteAddress }, rt.snap, {
      geo: this.geo,
      trusted: rt.trusted,
      ips: rt.ips,
      marks: rt.marks,
      now,
      rand: Math.random(),
    });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.runtime;
    const now = this.clock.now();
    const started = performance.now();
    const facts = this.facts(rt, req, now);
    const view = this.health.view();
    const decision = decide(rt.snap, facts, view, now);
    const ex = new Exchange(this, rt, req, res, facts, decision, started);
    (req as WithExchange)[kExchange] = ex;
    ex.start();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    const rt = this.runtime;
    const now = this.clock.now();
    const facts = this.facts(rt, req, now);
    // A WebSocket handshake is a GET: it follows the route's read selector.
    const view = this.health.view();
    const decision = decide(rt.snap, { ...facts, method: 'GET' }, view, now);
    const region = decision.region;
    const endpoint = region ? this.pickEndpoint(region, view, new Set(), decision.reason === 'all-down') : null;
    const logBase = { kind: 'websocket', path: facts.path, region, reason: decision.reason, clientCountry: facts.geo?.country ?? null };
    if (!region || !endpoint) {
      const { code, extra } = region ? { code: 'all_down' as ErrorCode, extra: undefined } : refusalFor(decision);
      rawError(socket, rt.snap, code, extra);
      this.logger.info({ ...logBase, status: ERRORS[code].status }, 'upgrade refused');
      return;
    }
    req.url = originForm(req.url);
    prepareUpstreamHeaders(req.headers, {
      peer: req.socket.remoteAddress ?? '',
      peerTrusted: rt.ips.isTrustedPeer(req.socket.remoteAddress),
      country: facts.geo?.country ?? null,
      upgrade: true,
    });
    const { target } = this.target(endpoint);
    let upgraded = false;
    const timer = setTimeout(() => {
      if (!upgraded) rawError(socket, rt.snap, 'upstream_timeout');
    }, rt.snap.timeouts.connectMs + rt.snap.timeouts.requestMs);
    (req as WithUpgradeHook)[kUpgrade] = (proxyReq: ClientRequest): void => {
      proxyReq.on('upgrade', (_res: IncomingMessage, upstream: Socket) => {
        upgraded = true;
        clearTimeout(timer);
        // PITFALLS #1510: http-proxy end()s rather than destroys; tie the two sockets' lives.
        socket.once('close', () => upstream.destroy());
        upstream.once('close', () => socket.destroy());
        this.logger.info({ ...logBase, endpoint, status: 101 }, 'upgrade');
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (!upgraded) proxyReq.destroy();
      });
    };
    this.proxy.ws(req, socket, head, { target: target as never, toProxy: true, xfwd: false }, (err: Error) => {
      clearTimeout(timer);
      if (!upgraded) {
        this.health.reportResult(endpoint, false, 'connect');
        this.metrics.upstreamErrors.labels(region, 'connect').inc();
        rawError(socket, rt.snap, 'upstream_connect_failed');
        this.logger.warn({ ...logBase, endpoint, status: 502, err: err.message }, 'upgrade failed');
      } else {
        socket.destroy();
      }
    });
  }
}

/** The answer for a decision that names no region: one place, for requests and upgrades alike. */
export function refusalFor(d: Decision): { code: ErrorCode; extra?: Record<string, unknown> } {
  const rule = d.residencyRule ? { rule: d.residencyRule } : undefined;
  if (d.status === 404) return { code: 'no_route' };
  if (d.reason === 'residency') return { code: 'residency', extra: rule };
  if (d.selector === 'primary') return { code: 'no_write_region', extra: rule };
  return { code: 'all_down', extra: rule };
}

/** Seconds a client should wait before retrying a 503: one probe interval, at least 1 s. */
function retryAfter(snap: Snapshot): string {
  return String(Math.max(1, Math.ceil(snap.health.intervalMs / 1000)));
}

/** Write a complete HTTP error answer on a raw socket (before any upgrade) and close it. */
function rawError(socket: Duplex, snap: Snapshot, code: ErrorCode, extra?: Record<string, unknown>): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = ERRORS[code].status;
  const body = errorBody(code, undefined, extra);
  const wait = status === 503 ? `retry-after: ${retryAfter(snap)}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${wait}connection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

function statusText(status: number): string {
  return { 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' }[status] ?? 'Error';
}

/** One client request and its attempts upstream. */
class Exchange {
  private readonly tried = new Set<string>();
  private attempt: Attempt | null = null;
  private attempts = 0;
  private body: Buffer | null = null;
  /** False once any body byte was streamed from the client: nothing can be resent. */
  private replayable = true;
  private clientGone = false;
  private region: string | null;
  private reason: string;
  private upstreamMs = 0;
  private errorCode: ErrorCode | null = null;
  private readonly idempotent: boolean;

  constructor(
    private readonly router: Router,
    private readonly rt: Runtime,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly facts: RequestFacts,
    private readonly decision: Decision,
    private readonly started: number,
  ) {
    this.region = decision.region;
    this.reason = decision.reason;
    this.idempotent = isIdempotent(facts.method);
  }

  start(): void {
    const { router, res } = this;
    router.metrics.inFlightCount++;
    (res as WithExchangeRes)[kExchange] = this;
    res.on('close', onResponseClose); // 'close' fires once; a shared listener allocates nothing per request
    const d = this.decision;
    if (d.region === null) {
      const { code, extra } = refusalFor(d);
      this.sendError(code, d.detail, extra);
      return;
    }
    this.rt.budget.recordRequest();
    this.req.url = originForm(this.req.url);
    prepareUpstreamHeaders(this.req.headers, {
      peer: this.req.socket.remoteAddress ?? '',
      peerTrusted: this.rt.ips.isTrustedPeer(this.req.socket.remoteAddress),
      country: this.facts.geo?.country ?? null,
      upgrade: false,
    });
    const len = bodyLength(this.req);
    const limit = this.rt.snap.retry.maxBufferBytes;
    if (len === 0) {
      this.first();
    } else if (len !== 'chunked' && len > limit) {
      this.replayable = false; // too large to hold: streamed once, never resent
      this.first();
    } else {
      this.bufferBody(limit);
    }
  }

  /** Hold a small body so a retry can resend it; a body that outgrows the limit is streamed. */
  private bufferBody(limit: number): void {
    const { req } = this;
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        req.unshift(Buffer.concat(chunks));
        this.replayable = false;
        this.first();
      }
    };
    const onEnd = (): void => {
      cleanup();
      this.body = Buffer.concat(chunks, size);
      this.req.headers['content-length'] = String(size);
      delete this.req.headers['transfer-encoding'];
      this.first();
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  /**
   * Where to send the request next: another untried endpoint of `from`'s region, else the next
   * candidate region in decision order — only regions available now (health can change while a
   * body is buffered or an attempt runs), except under `allDown: try`.
   */
  private target(from: string): { region: string; endpoint: string } | null {
    const view = this.router.health.view();
    const anyState = this.decision.reason === 'all-down';
    const list = this.decision.candidates;
    for (let i = Math.max(0, list.indexOf(from)); i < list.length; i++) {
      const region = list[i]!;
      if (!anyState && !view.isAvailable(region)) continue;
      const endpoint = this.router.pickEndpoint(region, view, this.tried, anyState);
      if (endpoint) return { region, endpoint };
    }
    return null;
  }

  /** The first attempt; if every candidate went away since the decision, answer as decide() would. */
  private first(): void {
    const t = this.target(this.decision.region!);
    if (t) {
      if (t.region !== this.decision.region) this.reason = 'failover';
      this.region = t.region;
      this.send(t.region, t.endpoint);
    } else if (this.residencyBlocks()) {
      this.sendError('residency', undefined, { rule: this.decision.residencyRule });
    } else {
      this.sendError(this.decision.selector === 'primary' ? 'no_write_region' : 'all_down');
    }
  }

  /**
   * Retry after attempt `a` failed. 'none' when no target is left; 'denied' when the budget is spent;
   * the budget token is taken only once a target exists.
   */
  private retry(a: Attempt, kind: FailureKind | 'status'): 'retried' | 'none' | 'denied' {
    const t = this.target(a.region);
    if (!t) return 'none';
    if (!this.rt.budget.tryAcquireRetry()) {
      this.router.metrics.retriesDenied.inc();
      return 'denied';
    }
    this.router.metrics.retries.labels(a.region, t.region, kind).inc();
    if (t.region !== a.region) this.reason = 'failover';
    this.region = t.region;
    this.send(t.region, t.endpoint);
    return 'retried';
  }

  /**
   * Whether the residency rule is what stands between this request and a working region: some
   * region outside the rule is available. Only then is the answer a residency 503; otherwise the
   * upstream's own failure (502/504) is the truth.
   */
  private residencyBlocks(): boolean {
    const name = this.decision.residencyRule;
    if (!name) return false;
    const rule = this.rt.snap.residency.find((r) => r.name === name);
    if (!rule) return false;
    const view = this.router.health.view();
    return this.rt.snap.regions.some((r) => !rule.regions.has(r.name) && view.isAvailable(r.name));
  }

  private send(region: string, endpoint: string): void {
    const { router, rt, req, res } = this;
    this.tried.add(endpoint);
    const a: Attempt = {
      n: ++this.attempts,
      region,
      endpoint,
      startedAt: performance.now(),
      proxyReq: null,
      bytesBefore: 0,
      connectTimer: null,
      responseTimer: null,
      timedOut: null,
      done: false,
    };
    this.attempt = a;
    a.responseTimer = setTimeout(() => {
      a.timedOut = 'response';
      a.proxyReq?.destroy(Object.assign(new Error('no response headers in time'), { code: 'ERESPONSE_TIMEOUT' }));
    }, rt.snap.timeouts.requestMs);
    const { target, agent } = router.target(endpoint);
    // The library's web passes for this one option set, without proxy.web()'s per-call dispatch.
    const buffer = this.body ? Readable.from([this.body]) : undefined;
    forwardLean(router.proxy, req, res, target, agent, buffer, (err: Error) => this.onError(a, err));
  }

  onProxyReq(proxyReq: ClientRequest): void {
    const a = this.attempt;
    if (!a || a.done) {
      proxyReq.destroy();
      return;
    }
    a.proxyReq = proxyReq;
    const socket = proxyReq.socket;
    if (!socket) return;
    a.bytesBefore = socket.bytesWritten;
    if (socket.connecting) {
      a.connectTimer = setTimeout(() => {
        a.timedOut = 'connect';
        proxyReq.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
      }, this.rt.snap.timeouts.connectMs);
      socket.once('connect', () => {
        if (a.connectTimer) clearTimeout(a.connectTimer);
        a.connectTimer = null;
      });
    }
  }

  onProxyRes(proxyRes: IncomingMessage): void {
    const a = this.attempt;
    if (!a || a.done || (proxyRes as IncomingMessage & { req?: ClientRequest }).req !== a.proxyReq || this.clientGone) {
      proxyRes.destroy();
      return;
    }
    this.finishAttempt(a);
    const status = proxyRes.statusCode ?? 502;
    const { router, rt } = this;
    router.health.reportResult(a.endpoint, status < 500, status >= 500 ? 'status' : undefined);
    if (rt.snap.retry.onStatuses.has(status)) {
      router.metrics.upstreamErrors.labels(a.region, 'status').inc();
      // With nowhere else to go, the client gets the backend's own answer (and its Retry-After).
      if (this.idempotent && this.canRetry() && this.retry(a, 'status') === 'retried') {
        proxyRes.resume(); // drain so the keep-alive socket can be reused
        return;
      }
    }
    this.relay(a, proxyRes, status);
  }

  private relay(a: Attempt, proxyRes: IncomingMessage, status: number): void {
    const { res, rt, router } = this;
    try {
      // The answer's header block is built once as [name, value, ...] and handed to writeHead, which
      // validates and serialises it in one go; appendHeader per field first built Node's header map
      // and then serialised that (docs/profile.md). Repeated fields (Set-Cookie) stay separate lines.
      const raw = proxyRes.rawHeaders;
      const ours = rt.snap.responseHeaders;
      const out: string[] = [];
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        if (isHopByHop(name)) continue;
        // Our own x-meridian-* replace a backend's (they used to be set with setHeader after the copy).
        if (ours && (name === 'x-meridian-region' || name === 'x-meridian-reason')) continue;
        out.push(raw[i]!, raw[i + 1]!);
      }
      if (ours) out.push('x-meridian-region', a.region, 'x-meridian-reason', this.reason);
      const route = this.decision.route;
      // Only a write that succeeded pins the client's reads; a refused one (4xx) changed nothing.
      if (route && this.decision.kind === 'write' && status < 400 && rt.marks) {
        const suffix = rt.markCookieSuffix.get(route.name);
        if (suffix) out.push('set-cookie', `${rt.snap.readYourWrites.cookie}=${rt.marks.sign(a.region, router.clock.now())}${suffix}`);
      }
      if (res.getHeaderNames().length === 0) {
        res.writeHead(status, out);
      } else {
        // Something already set a header (App adds `connection: close` while shutting down);
        // writeHead would setHeader() each pair, and repeated fields would replace each other.
        for (let i = 0; i < out.length; i += 2) res.appendHeader(out[i]!, out[i + 1]!);
        res.writeHead(status);
      }
    } catch (err) {
      // A header Node refuses to send (invalid characters that slipped past the parser).
      proxyRes.destroy();
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.statusMessage = ''; // writeHead set it for `status`; the error answer picks its own
      router.metrics.upstreamErrors.labels(a.region, 'bad_response').inc();
      router.logger.warn({ endpoint: a.endpoint, err: (err as Error).message }, 'upstream response not relayable');
      this.sendError('upstream_bad_response');
      return;
    }
    (proxyRes as WithClientRes)[kClientRes] = res;
    proxyRes.on('error', onUpstreamResponseError);
    proxyRes.on('close', onUpstreamResponseClose);
    // The body is relayed by three shared listeners rather than pipe(), which allocates seven
    // closures and adds and removes seven listeners per response (docs/profile.md). Same flow:
    // write each chunk, pause the upstream while the client's buffer is full, end with it.
    (res as WithUpstreamRes)[kUpstreamRes] = proxyRes;
    proxyRes.on('data', onUpstreamData);
    proxyRes.on('end', onUpstreamEnd);
  }

  private onError(a: Attempt, err: Error & { code?: string }): void {
    if (a !== this.attempt || a.done) return; // a stale attempt's late error
    const proxyReq = a.proxyReq;
    this.finishAttempt(a);
    if (this.clientGone || (this.req.destroyed && !this.req.complete)) {
      // The client went away (http-proxy reports that as an error too, #1455): not an upstream fault.
      proxyReq?.destroy();
      return;
    }
    const kind: FailureKind =
      a.timedOut === 'response'
        ? 'timeout'
        : a.timedOut === 'connect' || CONNECT_CODES.has(err.code ?? '')
          ? 'connect'
          : (err.code ?? '').startsWith('HPE_')
            ? 'bad_response'
            : 'reset';
    const { router, rt } = this;
    router.metrics.upstreamErrors.labels(a.region, kind).inc();
    router.health.reportResult(a.endpoint, false, kind);
    const socket = proxyReq?.socket;
    // Nothing of the request left this host: refused/unreachable/connect timeout, or a socket that
    // died before a single byte of ours was written to it.
    const notSent = kind === 'connect' || (socket != null && socket.bytesWritten === a.bytesBefore);
    const code: ErrorCode =
      kind === 'timeout'
        ? 'upstream_timeout'
        : kind === 'connect'
          ? 'upstream_connect_failed'
          : kind === 'reset'
            ? 'upstream_reset'
            : 'upstream_bad_response';
    const allowed = kind === 'timeout' ? rt.snap.retry.onTimeout : rt.snap.retry.onConnect;
    if (allowed && (this.idempotent || notSent) && this.canRetry()) {
      const r = this.retry(a, kind);
      if (r === 'retried') return;
      // Out of candidates: when residency narrowed them, say so — failover never crosses it.
      if (r === 'none' && this.residencyBlocks()) {
        this.sendError('residency', undefined, { rule: this.decision.residencyRule });
        return;
      }
    }
    router.logger.debug({ endpoint: a.endpoint, err: err.message, code: err.code, kind }, 'upstream attempt failed');
    this.sendError(code);
  }

  /** Nothing sent to the client yet, the body can be resent, and attempts are left. */
  private canRetry(): boolean {
    if (this.res.headersSent || this.clientGone || !this.replayable) return false;
    return this.attempts < this.rt.snap.retry.attempts;
  }

  private finishAttempt(a: Attempt): void {
    a.done = true;
    if (a.connectTimer) clearTimeout(a.connectTimer);
    if (a.responseTimer) clearTimeout(a.responseTimer);
    a.connectTimer = a.responseTimer = null;
    this.upstreamMs += performance.now() - a.startedAt;
  }

  private sendError(code: ErrorCode, message?: string, extra?: Record<string, unknown>): void {
    const { res, rt } = this;
    this.errorCode = code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const def = ERRORS[code];
    const body = errorBody(code, message, extra);
    res.statusCode = def.status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(body));
    if (def.status === 503) res.setHeader('retry-after', retryAfter(rt.snap));
    if (rt.snap.responseHeaders) {
      if (this.region) res.setHeader('x-meridian-region', this.region);
      res.setHeader('x-meridian-reason', this.reason);
    }
    res.end(body);
  }

  /** The one place a request ends: access log line, metrics, and upstream cleanup on abort. */
  onClose(): void {
    const { res, router } = this;
    router.metrics.inFlightCount--;
    const finished = res.writableFinished;
    if (!finished) {
      this.clientGone = true;
      const a = this.attempt;
      if (a && !a.done) this.finishAttempt(a);
      a?.proxyReq?.destroy(); // PITFALLS #1586: http-proxy does not cancel the upstream on client abort
    }
    const status = finished ? res.statusCode : res.headersSent ? res.statusCode : 499;
    const end = performance.now();
    const totalMs = end - this.started;
    const region = this.region ?? 'none';
    const route = this.decision.route?.name ?? 'none';
    router.metrics.observeRequest(route, region, this.decision.kind, status, this.reason, totalMs / 1000);
    router.access.write(
      {
        method: this.facts.method,
        path: this.facts.path,
        status,
        route,
        region,
        reason: this.reason,
        attempts: this.attempts,
        upstreamMs: round(this.upstreamMs),
        totalMs: round(totalMs),
        clientCountry: this.facts.geo?.country ?? null,
        clientIp: this.facts.ip,
        error: this.errorCode,
        aborted: !finished,
      },
      end,
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

// Listeners shared by every request (the exchange or client response hangs off the emitter), so
// the request path does not allocate a closure per listener.
function onResponseClose(this: ServerResponse): void {
  (this as WithExchangeRes)[kExchange]?.onClose();
}

function onUpstreamResponseError(this: IncomingMessage): void {
  (this as WithClientRes)[kClientRes]?.destroy();
}

function onUpstreamResponseClose(this: IncomingMessage): void {
  // Upstream died mid-body: the client must see a truncated response.
  if (!this.complete) (this as WithClientRes)[kClientRes]?.destroy();
}

function onUpstreamData(this: IncomingMessage, chunk: Buffer): void {
  const res = (this as WithClientRes)[kClientRes];
  // A client that went away: the close handler destroys the upstream; drop what is still in flight
  // (pipe() would have unpiped on the client's 'close').
  if (res === undefined || res.destroyed) return;
  if (!res.write(chunk)) {
    this.pause();
    res.once('drain', onClientDrain);
  }
}

function onClientDrain(this: ServerResponse): void {
  (this as WithUpstreamRes)[kUpstreamRes]?.resume();
}

function onUpstreamEnd(this: IncomingMessage): void {
  const res = (this as WithClientRes)[kClientRes];
  if (res !== undefined && !res.destroyed) res.end();
}
