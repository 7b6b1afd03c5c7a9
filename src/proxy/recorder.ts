// What the request path tells the outside world: metrics, the access line and the log lines of
// failures and upgrades. The exchange and the upgrade path see this one object, not the metrics
// registry or the logger.
import type { ErrorCode } from '../errors.js';
import type { Failure, UpstreamFailureKind } from '../failure.js';
import { AccessLog, type RequestRecord } from '../observability/access-log.js';
import type { Logger } from '../observability/logger.js';
import { LocalErrors, type LocalErrorKind } from '../observability/local-errors.js';
import type { LimitName, Metrics } from '../observability/metrics.js';
import type { Decision, RequestFacts } from '../types.js';

/** How an exchange ended, as the access line records it. */
export interface ExchangeOutcome {
  readonly status: number;
  readonly region: string | null;
  readonly reason: string;
  readonly attempts: number;
  readonly upstreamMs: number;
  readonly error: ErrorCode | null;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Fields every log line of one WebSocket upgrade carries. */
export interface UpgradeLog {
  readonly kind: 'websocket';
  readonly path: string;
  readonly region: string | null;
  readonly reason: string;
  readonly clientCountry: string | null;
}

export class Recorder {
  private readonly access: AccessLog;
  private readonly local: LocalErrors;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.access = new AccessLog(logger);
    this.local = new LocalErrors(metrics, logger);
  }

  /** A failure of this process's own making; never held against an endpoint. */
  localError(kind: LocalErrorKind, detail: string, source = 'request'): void {
    this.local.report(kind, source, detail);
  }

  tlsReloadFailed(err: Error): void {
    this.logger.error({ event: 'tls-reload-failed', err: err.message }, 'TLS certificates not reloaded; the ones in use stay');
  }

  /** A client stopped by a `limits` setting. */
  limitHit(limit: LimitName): void {
    this.metrics.limitHits.labels(limit).inc();
  }

  requestStarted(): void {
    this.metrics.inFlightCount++;
  }

  /** The one place a request ends: counters, duration, the access line. `at`: performance.now() at the end. */
  /** An exchange ended (answered, refused, or its client gone): its access line and metrics. */
  exchangeEnded(facts: RequestFacts, decision: Decision, o: ExchangeOutcome, totalMs: number, at: number, aborted: boolean): void {
    const record = {
      method: facts.method,
      path: facts.path,
      status: o.status,
      route: decision.route?.name ?? 'none',
      region: o.region ?? 'none',
      reason: o.reason,
      attempts: o.attempts,
      upstreamMs: round(o.upstreamMs),
      totalMs: round(totalMs),
      clientCountry: facts.geo?.country ?? null,
      clientIp: facts.ip,
      error: o.error,
      aborted,
    };
    this.requestEnded(record, decision.kind, totalMs, at);
  }

  private requestEnded(r: RequestRecord, methodClass: 'read' | 'write', totalMs: number, at: number): void {
    this.metrics.inFlightCount--;
    this.metrics.observeRequest(r.route, r.region, methodClass, r.status, r.reason, totalMs / 1000);
    this.access.write(r, at);
  }

  /** An upstream attempt got its response headers `ms` after it started. */
  upstreamResponded(region: string, route: string, ms: number): void {
    this.metrics.observeUpstream(region, route, ms / 1000);
  }

  /** An attempt failed in a way counted against its endpoint. */
  upstreamFailed(region: string, kind: UpstreamFailureKind): void {
    this.metrics.upstreamErrors.labels(region, kind).inc();
  }

  /** The attempt that failed is given up on: its error, for whoever debugs the upstream. */
  attemptAbandoned(endpoint: string, failure: Failure, err: Error): void {
    this.logger.debug(
      { endpoint, err: err.message, kind: failure.kind, origin: failure.origin, detail: failure.detail },
      'upstream attempt failed',
    );
  }

  unrelayable(endpoint: string, err: Error): void {
    this.logger.warn({ endpoint, err: err.message }, 'upstream response not relayable');
  }

  retried(from: string, to: string, kind: UpstreamFailureKind): void {
    this.metrics.retries.labels(from, to, kind).inc();
  }

  retryDenied(): void {
    this.metrics.retriesDenied.inc();
  }

  upgradeRefused(log: UpgradeLog, status: number): void {
    this.logger.info({ ...log, status }, 'upgrade refused');
  }

  upgraded(log: UpgradeLog, endpoint: string): void {
    this.logger.info({ ...log, endpoint, status: 101 }, 'upgrade');
  }

  upgradeFailed(log: UpgradeLog, endpoint: string, status: number, failure: Failure, err: Error): void {
    this.logger.warn({ ...log, endpoint, status, kind: failure.kind, err: err.message }, 'upgrade failed');
  }
}
