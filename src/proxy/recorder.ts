// What the request path tells the outside world: metrics, the access line and the log lines of
// failures and upgrades. The exchange and the upgrade path see this one object, not the metrics
// registry or the logger.
import type { Failure, UpstreamFailureKind } from '../failure.js';
import { AccessLog, type RequestRecord } from '../observability/access-log.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

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

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.access = new AccessLog(logger);
  }

  requestStarted(): void {
    this.metrics.inFlightCount++;
  }

  /** The one place a request ends: counters, duration, the access line. `at`: performance.now() at the end. */
  requestEnded(r: RequestRecord, methodClass: 'read' | 'write', totalMs: number, at: number): void {
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
