// One client request and its attempts upstream: select a target, forward it, and on a failure
// classify it and select again (src/proxy/retry.ts decides), bounded by `retry.attempts` and the
// retry budget; then relay the answer or give the client an error answer of our own.
//
// The events of one attempt reach it as plain calls: http-proxy hands the attempt's hooks object
// back with its 'proxyReq' event, the attempt listens on its own ClientRequest's 'response', and
// the attempt's error callback is the per-call callback of `proxy.web()`.
import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { ErrorCode } from '../errors.js';
import { classifyFailure, type UpstreamFailureKind } from '../failure.js';
import type { Decision, RequestFacts } from '../types.js';
import type { EndpointTarget } from './agents.js';
import { answer, refusalFor, upstreamFailureCode, type Refusal } from './answers.js';
import { bodyLength, isIdempotent, originForm, upstreamHeaders } from './headers.js';
import type { Forwarder, ForwardHooks } from './http-proxy.js';
import type { Recorder } from './recorder.js';
import { relayBody, writeHead } from './relay.js';
import { isRetryableStatus, mayRetry, selectTarget, type EndpointPicker, type RetryState, type Target } from './retry.js';
import type { HealthPort, Runtime } from './runtime.js';

/** Pre-parsed targets and keep-alive agents by endpoint URL. */
interface EndpointPool {
  get(endpoint: string): { readonly target: EndpointTarget; readonly agent: Agent };
}

/** What every exchange works with besides its own request: one object for the whole request path. */
export interface ExchangeDeps {
  readonly forwarder: Forwarder;
  readonly picker: EndpointPicker;
  readonly pool: EndpointPool;
  readonly health: HealthPort;
  readonly recorder: Recorder;
  readonly clock: Clock;
}

/** One try on one endpoint; it is the hooks object http-proxy hands back for this call. */
class Attempt implements ForwardHooks {
  readonly startedAt = performance.now();
  proxyReq: ClientRequest | null = null;
  /** socket.bytesWritten when this attempt got its socket: more means request bytes left us. */
  bytesBefore = 0;
  connectTimer: NodeJS.Timeout | null = null;
  responseTimer: NodeJS.Timeout | null = null;
  timedOut: 'connect' | 'response' | null = null;
  done = false;

  constructor(
    private readonly ex: Exchange,
    readonly region: string,
    readonly endpoint: string,
  ) {}

  onProxyReq(proxyReq: ClientRequest): void {
    this.ex.attached(this, proxyReq);
  }

  readonly onError = (err: Error): void => this.ex.failed(this, err);
  readonly onResponse = (proxyRes: IncomingMessage): void => this.ex.responded(this, proxyRes);
}

export class Exchange {
  private readonly tried = new Set<string>();
  private attempt: Attempt | null = null;
  private attempts = 0;
  /** The buffered body to (re)send, 'none', or 'stream' once it is streamed (then nothing can be resent). */
  private body: Buffer | 'none' | 'stream' = 'none';
  private clientGone = false;
  private region: string | null;
  private reason: string;
  private upstreamMs = 0;
  private errorCode: ErrorCode | null = null;
  private readonly idempotent: boolean;

  constructor(
    private readonly deps: ExchangeDeps,
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
    const { req, rt } = this;
    this.deps.recorder.requestStarted();
    this.res.on('close', this.onClose); // 'close' fires once
    if (this.decision.region === null) {
      this.refuse(refusalFor(this.decision));
      return;
    }
    rt.budget.recordRequest();
    req.url = originForm(req.url);
    req.headers = upstreamHeaders(req.headers, {
      peer: req.socket.remoteAddress ?? '',
      peerTrusted: rt.ips.isTrustedPeer(req.socket.remoteAddress),
      country: this.facts.geo?.country ?? null,
      upgrade: false,
    });
    const len = bodyLength(req);
    const limit = rt.snap.retry.maxBufferBytes;
    if (len === 0) {
      this.first();
    } else if (len !== 'chunked' && len > limit) {
      this.body = 'stream'; // too large to hold: streamed once, never resent
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
        this.body = 'stream';
        this.first();
      }
    };
    const onEnd = (): void => {
      cleanup();
      this.body = Buffer.concat(chunks, size);
      req.headers['content-length'] = String(size);
      delete req.headers['transfer-encoding'];
      this.first();
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
    };
    req.on('data', onData);
    req.on('end', onEnd);
  }

  private select(from: string): Target | null {
    const { deps } = this;
    return selectTarget(deps.picker, this.rt.snap, deps.health.view(), this.decision, from, this.tried);
  }

  /** The first attempt; if every candidate went away since the decision, answer as decide() would. */
  private first(): void {
    const t = this.select(this.decision.region!);
    if (t) {
      if (t.region !== this.decision.region) this.reason = 'failover';
      this.send(t);
    } else if (this.residencyBlocks()) {
      this.refuse(this.residencyRefusal());
    } else {
      this.refuse({ code: this.decision.selector === 'primary' ? 'no_write_region' : 'all_down' });
    }
  }

  private send(t: Target): void {
    this.region = t.region;
    this.tried.add(t.endpoint);
    this.attempts++;
    const a = new Attempt(this, t.region, t.endpoint);
    this.attempt = a;
    a.responseTimer = setTimeout(() => this.responseTimedOut(a), this.rt.snap.timeouts.requestMs);
    this.deps.forwarder.web(this.req, this.res, this.deps.pool.get(t.endpoint), this.body, a, a.onError);
  }

  private responseTimedOut(a: Attempt): void {
    a.timedOut = 'response';
    const err = Object.assign(new Error('no response headers in time'), { code: 'ERESPONSE_TIMEOUT' });
    // Still waiting for a socket from the pool: there is no request to cut, the attempt ends here.
    if (a.proxyReq) a.proxyReq.destroy(err);
    else this.failed(a, err);
  }

  /** The attempt's upstream request has its socket; nothing of the request is written yet. */
  attached(a: Attempt, proxyReq: ClientRequest): void {
    if (a.done) {
      proxyReq.destroy(); // the attempt was given up while it waited for a socket
      return;
    }
    a.proxyReq = proxyReq;
    proxyReq.on('response', a.onResponse);
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

  responded(a: Attempt, proxyRes: IncomingMessage): void {
    if (a.done || this.clientGone) {
      proxyRes.destroy();
      return;
    }
    this.finishAttempt(a);
    const status = proxyRes.statusCode ?? 502;
    const { deps, rt } = this;
    deps.recorder.upstreamResponded(a.region, this.decision.route?.name ?? 'none', performance.now() - a.startedAt);
    deps.health.reportResult(a.endpoint, status < 500, status >= 500 ? 'status' : undefined);
    if (isRetryableStatus(rt.snap.retry, status)) {
      const kind = 'status';
      deps.recorder.upstreamFailed(a.region, kind);
      // With nowhere else to go, the client gets the backend's own answer (and its Retry-After).
      if (mayRetry(rt.snap.retry, kind, false, this.retryState()) && this.retry(a, kind) === 'retried') {
        proxyRes.resume(); // drain so the keep-alive socket can be reused
        return;
      }
    }
    this.relay(a, proxyRes, status);
  }

  private relay(a: Attempt, proxyRes: IncomingMessage, status: number): void {
    const { res, rt } = this;
    try {
      writeHead(res, proxyRes, status, rt.snap.responseHeaders ? a.region : null, this.reason, this.markCookie(a.region, status));
    } catch (err) {
      proxyRes.destroy();
      const failure = classifyFailure({ error: err, unrelayable: true });
      if (failure.counted) this.deps.recorder.upstreamFailed(a.region, failure.counted);
      this.deps.recorder.unrelayable(a.endpoint, err as Error);
      this.refuse({ code: 'upstream_bad_response' });
      return;
    }
    relayBody(proxyRes, res);
  }

  /** Only a write that succeeded pins the client's reads; a refused one (4xx) changed nothing. */
  private markCookie(region: string, status: number): string | null {
    const { rt } = this;
    const route = this.decision.route;
    if (route === null || this.decision.kind !== 'write' || status >= 400 || rt.marks === null) return null;
    const suffix = rt.markCookieSuffix.get(route.name);
    if (!suffix) return null;
    return `${rt.snap.readYourWrites.cookie}=${rt.marks.sign(region, this.deps.clock.now())}${suffix}`;
  }

  /** The attempt ended with an error: ours (a timer), the upstream's, or this host's. */
  failed(a: Attempt, err: Error): void {
    if (a !== this.attempt || a.done) return; // a stale attempt's late error
    const proxyReq = a.proxyReq;
    this.finishAttempt(a);
    const { deps, rt } = this;
    // http-proxy reports a client that went away as an error too (http-proxy issue #1455).
    const clientGone = this.clientGone || (this.req.destroyed && !this.req.complete);
    const failure = classifyFailure({ error: err, timer: a.timedOut, waitingForSocket: proxyReq === null, clientGone });
    const kind = failure.counted;
    if (kind === null) {
      proxyReq?.destroy();
      return;
    }
    deps.recorder.upstreamFailed(a.region, kind);
    deps.health.reportResult(a.endpoint, false, kind);
    const socket = proxyReq?.socket;
    // Nothing of the request left this host: refused/unreachable/connect timeout, or a socket that
    // died before a single byte of ours was written to it.
    const notSent = kind === 'connect' || (socket != null && socket.bytesWritten === a.bytesBefore);
    if (mayRetry(rt.snap.retry, kind, notSent, this.retryState())) {
      const r = this.retry(a, kind);
      if (r === 'retried') return;
      // Out of candidates: when residency narrowed them, say so — failover never crosses it.
      if (r === 'none' && this.residencyBlocks()) {
        this.refuse(this.residencyRefusal());
        return;
      }
    }
    deps.recorder.attemptAbandoned(a.endpoint, failure, err);
    this.refuse({ code: upstreamFailureCode(kind) });
  }

  private retryState(): RetryState {
    return {
      attempts: this.attempts,
      idempotent: this.idempotent,
      replayable: this.body !== 'stream',
      answered: this.res.headersSent || this.clientGone,
    };
  }

  /**
   * Select again after attempt `a` failed. 'none' when no target is left; 'denied' when the budget
   * is spent; the budget token is taken only once a target exists.
   */
  private retry(a: Attempt, kind: UpstreamFailureKind): 'retried' | 'none' | 'denied' {
    const t = this.select(a.region);
    if (!t) return 'none';
    const { recorder } = this.deps;
    if (!this.rt.budget.tryAcquireRetry()) {
      recorder.retryDenied();
      return 'denied';
    }
    recorder.retried(a.region, t.region, kind);
    if (t.region !== a.region) this.reason = 'failover';
    this.send(t);
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
    const { snap } = this.rt;
    const rule = snap.residency.find((r) => r.name === name);
    if (!rule) return false;
    const view = this.deps.health.view();
    return snap.regions.some((r) => !rule.regions.has(r.name) && view.isAvailable(r.name));
  }

  private residencyRefusal(): Refusal {
    return { code: 'residency', extra: { rule: this.decision.residencyRule } };
  }

  private finishAttempt(a: Attempt): void {
    a.done = true;
    if (a.connectTimer) clearTimeout(a.connectTimer);
    if (a.responseTimer) clearTimeout(a.responseTimer);
    a.connectTimer = a.responseTimer = null;
    this.upstreamMs += performance.now() - a.startedAt;
  }

  private refuse(r: Refusal): void {
    this.errorCode = r.code;
    answer(this.res, this.rt.snap, r, { region: this.region, reason: this.reason });
  }

  /** The one place a request ends: access line and metrics, and the upstream cut on a client abort. */
  private readonly onClose = (): void => {
    const { res } = this;
    const finished = res.writableFinished;
    if (!finished) {
      this.clientGone = true;
      const a = this.attempt;
      if (a && !a.done) this.finishAttempt(a);
      // http-proxy does not cancel the upstream request when the client goes away (http-proxy issue #1586).
      a?.proxyReq?.destroy();
    }
    const status = finished || res.headersSent ? res.statusCode : 499;
    const end = performance.now();
    const totalMs = end - this.started;
    const record = {
      method: this.facts.method,
      path: this.facts.path,
      status,
      route: this.decision.route?.name ?? 'none',
      region: this.region ?? 'none',
      reason: this.reason,
      attempts: this.attempts,
      upstreamMs: round(this.upstreamMs),
      totalMs: round(totalMs),
      clientCountry: this.facts.geo?.country ?? null,
      clientIp: this.facts.ip,
      error: this.errorCode,
      aborted: !finished,
    };
    this.deps.recorder.requestEnded(record, this.decision.kind, totalMs, end);
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
