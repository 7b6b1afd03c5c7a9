// Errors of the router's own making (out of file descriptors, buffers, local ports, a full socket
// pool): counted in meridian_local_errors_total{kind} every time, logged at most once per kind per
// LOG_EVERY_MS with how many were not logged meanwhile, so a descriptor storm does not become a log
// storm (which would itself need descriptors and disk).
import type { LocalFailureKind } from '../failure.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

const LOG_EVERY_MS = 10_000;

export type LocalErrorKind = Exclude<LocalFailureKind, 'client_gone'>;

export class LocalErrors {
  private readonly lastLog = new Map<LocalErrorKind, number>();
  private readonly quiet = new Map<LocalErrorKind, number>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** `source`: where it happened (probe, request, upgrade, accept); `detail`: the error code. */
  report(kind: LocalErrorKind, source: string, detail: string): void {
    this.metrics.localErrors.labels(kind).inc();
    const now = this.now();
    const last = this.lastLog.get(kind);
    if (last !== undefined && now - last < LOG_EVERY_MS) {
      this.quiet.set(kind, (this.quiet.get(kind) ?? 0) + 1);
      return;
    }
    const suppressed = this.quiet.get(kind) ?? 0;
    this.lastLog.set(kind, now);
    this.quiet.set(kind, 0);
    this.logger.warn(
      { event: 'local-error', kind, source, detail, suppressed },
      `local error ${detail} (${source}): not held against any region${suppressed > 0 ? `; ${suppressed} more since the last line` : ''}`,
    );
  }
}
