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
import { answer, refusalFor, residencyBlocks, upstreamFailureCode, type Refusal } from './answers.js';
import { Attempt, type AttemptOwner } from './attempt.js';
import { BodyWatch, bufferBody, type BodyLimit } from './body.js';
import type { Fenceable, OpenWrite, WriteTicket } from './shared-gate.js';
import { absoluteAuthority, bodyLength, framingRefusal, isIdempotent, originForm, upstreamHeaders } from './headers.js';
import type { Forwarder } from './http-proxy.js';
import type { Recorder } from './recorder.js';
import { relayBody, writeHead } from './relay.js';
import { isRetryableStatus, mayRetry, selectTarget, type EndpointPicker, type RetryState, type Target } from './retry.js';
import { markCookie, type HealthPort, type Runtime } from './runtime.js';
import type { SteeringSource } from './steering.js';

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
  /** Dials and in-flight counts for decide(); every exchange counts itself in and out. */
  readonly steering: SteeringSource;
  /** The SharedGate: a fleet's primary request counts itself in flight there, to be stopped on a fence. */
  readonly fence: { opened(x: Fenceable, t: WriteTicket): OpenWrite; closed(w: OpenWrite): void };
}

export class Exchange implements AttemptOwner, Fenceable {
  private readonly tried = new Set<string>();
  private attempt: Attempt | null = null;
  private attempts = 0;
  /** The buffered body to (re)send, 'none', or 'stream' once it is streamed (then nothing can be resent). */
  private body: Buffer | 'none' | 'stream' = 'none';
  private clientGone = false;
  /** A client-side limit ended the request (its body stalled or was too large). */
  private stoppedBy: BodyLimit | null = null;
  /** The fleet member fenced itself while this primary request was open: no attempt may start. */
  private fenced = false;
  private region: string | null;
  /** The region this exchange is counted in flight to (steering.ts), if any. */
  private counted: string | null = null;
  private openWrite: OpenWrite | null = null; // counted at the fleet's gate (a ticket's request)
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
    private readonly ticket: WriteTicket | null, // a fleet's admitted primary request (SharedGate.ticket)
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
    if (this.ticket !== null) this.openWrite = this.deps.fence.opened(this, this.ticket);
    if (this.decision.region === null) {
      this.refuse(refusalFor(this.decision));
      return;
    }
    // A Connection header naming a framing field would have the body dropped on the way upstream.
    const framing = framingRefusal(req.headers.connection);
    if (framing !== null) {
      this.res.shouldKeepAlive = false;
      this.refuse(framing);
      return;
    }
    const len = bodyLength(req);
    const { limits } = rt.snap;
    if (BodyWatch.tooLong(len, limits)) {
      this.stopBody('maxBodyBytes');
      return;
    }
    rt.budget.recordRequest();
    const authority = absoluteAuthority(req.url);
    req.url = originForm(req.url);
    req.headers = upstreamHeaders(req.headers, {
      peer: req.socket.remoteAddress ?? '',
      peerTrusted: rt.ips.isTrustedPeer(req.socket.remoteAddress),
      country: this.facts.geo?.country ?? null,
      upgrade: false,
      authority,
      proto: rt.proto,
      writeEpoch: this.ticket?.epoch ?? null,
    });
    const limit = rt.snap.retry.maxBufferBytes;
    if (len === 0) return this.first();
    const watch = new BodyWatch(req, limits, this.stopBody);
    watch.start(len === 'chunked');
    if (len !== 'chunked' && len > limit) {
      this.body = 'stream'; // too large to hold: streamed once, never resent
      this.first();
      return;
    }
    bufferBody(
      req,
      limit,
      watch,
      (body) => {
        this.body = body;
        req.headers['content-length'] = String(body.length);
        delete req.headers['transfer-encoding'];
        this.first();
      },
      () => {
        this.body = 'stream';
        this.first();
      },
    );
  }

  /** The client stalled its body or sent more than the limit: 408 / 413 and close; the attempt is cut, held against nobody. */
  private readonly stopBody = (limit: BodyLimit): void => {
    this.stoppedBy = limit;
    this.deps.recorder.limitHit(limit);
    this.cutAttempt();
    this.res.shouldKeepAlive = false;
    this.refuse({ code: limit === 'bodyTimeout' ? 'request_timeout' : 'payload_too_large' });
  };

  /**
   * The fleet member fenced itself with this primary request open (SharedGate.abortPrimary): cut it
   * before the lease can expire. Not sent upstream yet → 503 fleet-unavailable (safe to retry);
   * sent → 504 write_outcome_unknown (it may have been applied; never replayed). Held against nobody.
   */
  readonly stopFenced = (): void => {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.fenced = true;
    const sent = this.attempt?.proxyReq != null;
    this.cutAttempt();
    this.res.shouldKeepAlive = false;
    this.refuse({ code: sent ? 'write_outcome_unknown' : 'fleet-unavailable' });
  };

  /** End the attempt under way, if any, and cut its upstream request. */
  private cutAttempt(): void {
    const a = this.attempt;
    if (!a || a.done) return;
    this.finishAttempt(a);
    a.proxyReq?.destroy();
  }

  private select(from: string): Target | null {
    const { deps } = this;
    return selectTarget(deps.picker, this.rt.snap, deps.health.view(), this.decision, from, this.tried);
  }

  /** The first attempt; if every candidate went away since the decision, answer as decide() would. */
  private first(): void {
    if (this.fenced) return; // answered while the body was still arriving
    const t = this.select(this.decision.region!);
    if (t) {
      if (t.region !== this.decision.region) this.reason = 'failover';
      this.send(t);
    } else {
      this.refuse(this.residencyRefusal() ?? { code: this.decision.selector === 'primary' ? 'no_write_region' : 'all_down' });
    }
  }

  private send(t: Target): void {
    // In flight to one region at a time: a retry elsewhere moves the count with it.
    if (this.counted !== t.region) {
      if (this.counted !== null) this.deps.steering.end(this.counted);
      this.counted = this.deps.steering.begin(t.region) ? t.region : null;
    }
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
    proxyReq.on('upgrade', a.onUpgrade);
    const socket = proxyReq.socket;
    if (!socket) return;
    a.bytesBefore = socket.bytesWritten;
    // A streamed body still arriving from the client: the upstream cannot answer before it has the
    // whole request, so its response time counts from the moment the body has been sent. The
    // client's pace is held to limits.bodyTimeout instead.
    if (this.body === 'stream' && !this.req.complete && a.responseTimer) {
      clearTimeout(a.responseTimer);
      a.responseTimer = null;
      proxyReq.once('finish', () => {
        if (!a.done) a.responseTimer = setTimeout(() => this.responseTimedOut(a), this.rt.snap.timeouts.requestMs);
      });
    }
    if (socket.connecting) a.armConnectTimer(proxyReq, socket, this.rt.snap.timeouts.connectMs);
  }

  /** Handled as the backend's 502: retried only where a 502 would be, else 502 upstream_bad_response. */
  switchedUnasked(a: Attempt): void {
    if (a.done || this.clientGone) return;
    this.finishAttempt(a);
    const { deps, rt } = this;
    const status = 502;
    const failing = rt.snap.passive.statuses.has(status);
    deps.health.reportResult(a.endpoint, !failing, failing ? 'status' : undefined);
    deps.recorder.upstreamFailed(a.region, 'bad_response');
    if (isRetryableStatus(rt.snap.retry, status) && mayRetry(rt.snap.retry, 'status', false, this.retryState())) {
      if (this.retry(a, 'status') === 'retried') return;
    }
    this.refuse({ code: 'upstream_bad_response', message: 'the upstream switched protocols on a request that did not ask to upgrade' });
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
    // Only the statuses that say the region is failing count toward ejection (passive.statuses).
    const failing = rt.snap.passive.statuses.has(status);
    deps.health.reportResult(a.endpoint, !failing, failing ? 'status' : undefined);
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
      writeHead(
        res,
        proxyRes,
        status,
        rt.snap.responseHeaders ? a.region : null,
        this.reason,
        markCookie(rt, this.decision, a.region, status, this.deps.clock),
      );
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

  /** The attempt ended with an error: ours (a timer), the upstream's, or this host's. */
  failed(a: Attempt, err: Error): void {
    if (a !== this.attempt || a.done) return; // a stale attempt's late error
    const proxyReq = a.proxyReq;
    this.finishAttempt(a);
    const { deps, rt } = this;
    // http-proxy reports a client that went away as an error too (http-proxy issue #1455).
    const clientGone = this.clientGone || this.stoppedBy !== null || (this.req.destroyed && !this.req.complete);
    const failure = classifyFailure({ error: err, timer: a.timedOut, waitingForSocket: proxyReq === null, clientGone });
    const kind = failure.counted;
    if (kind === null) {
      proxyReq?.destroy();
      if (failure.origin === 'local' && failure.kind !== 'client_gone') {
        // Our own shortage (descriptors, buffers, ports, pool): the region is not to blame.
        deps.recorder.localError(failure.kind, failure.detail);
        this.refuse({ code: 'overloaded' });
      }
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
      const blocked = r === 'none' ? this.residencyRefusal() : null;
      if (blocked) return this.refuse(blocked);
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

  /** Select again after `a` failed: 'none' when no target is left, 'denied' when the budget is spent (taken only once a target exists). */
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

  /** The residency 503 when residency is what stands between this request and a working region. */
  private residencyRefusal(): Refusal | null {
    if (!residencyBlocks(this.decision, this.rt.snap, this.deps.health.view())) return null;
    return { code: 'residency', extra: { rule: this.decision.residencyRule } };
  }

  private finishAttempt(a: Attempt): void {
    a.finish();
    this.upstreamMs += performance.now() - a.startedAt;
  }

  private refuse(r: Refusal): void {
    this.errorCode = r.code;
    answer(this.res, this.rt.snap, r, { region: this.region, reason: this.reason });
  }

  /** The one place a request ends: access line and metrics, and the upstream cut on a client abort. */
  private readonly onClose = (): void => {
    const { res } = this;
    if (this.counted !== null) this.deps.steering.end(this.counted);
    if (this.openWrite !== null) this.deps.fence.closed(this.openWrite);
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
    const outcome = {
      status,
      region: this.region,
      reason: this.reason,
      attempts: this.attempts,
      upstreamMs: this.upstreamMs,
      error: this.errorCode,
    };
    this.deps.recorder.exchangeEnded(this.facts, this.decision, outcome, end - this.started, end, !finished);
  };
}
