// Retry budget (README, "Retries"): retries may be at most `budget` × the requests seen over the last
// `budgetWindowMs`, but `budgetMinPerWindow` retries are always allowed so a quiet router can still
// retry its few failures. This is what stops a dying fleet from being hammered by retry storms
// (Finagle / Envoy retry budgets).
//
// Sliding window with BUCKETS fixed buckets (memory O(1)): the window covers the current bucket plus
// the BUCKETS-1 before it, so it slides in steps of budgetWindowMs / BUCKETS.
// Count one recordRequest() per client request (not per attempt); tryAcquireRetry() before each retry.

import type { Clock } from '../clock.js';
import type { RetryConfig } from '../types.js';

const BUCKETS = 10;

export type RetryBudgetConfig = Pick<RetryConfig, 'budget' | 'budgetMinPerWindow' | 'budgetWindowMs'>;

export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  /** Absolute index (time / width) of the newest bucket. */
  private head = -Infinity;
  private cfg: RetryBudgetConfig;
  private width: number;

  constructor(
    cfg: RetryBudgetConfig,
    private readonly clock: Clock,
  ) {
    this.cfg = cfg;
    this.width = bucketWidth(cfg);
  }

  /** Apply a reloaded config; counts are kept when the window did not change. */
  configure(cfg: RetryBudgetConfig): void {
    const width = bucketWidth(cfg);
    if (width !== this.width) {
      this.requests.fill(0);
      this.retries.fill(0);
      this.head = -Infinity;
      this.width = width;
    }
    this.cfg = cfg;
  }

  recordRequest(): void {
    this.requests[this.advance()]! += 1;
  }

  /** Takes one retry from the budget if one is left; false means "do not retry". */
  tryAcquireRetry(): boolean {
    const i = this.advance();
    if (sum(this.retries) >= this.allowance()) return false;
    this.retries[i]! += 1;
    return true;
  }

  /** Current window counts (for metrics / admin). */
  stats(): { requests: number; retries: number; allowed: number } {
    this.advance();
    return { requests: sum(this.requests), retries: sum(this.retries), allowed: this.allowance() };
  }

  private allowance(): number {
    return Math.max(this.cfg.budgetMinPerWindow, this.cfg.budget * sum(this.requests));
  }

  /** Slide the window to now; returns the slot of the current bucket. */
  private advance(): number {
    const idx = Math.floor(this.clock.now() / this.width);
    if (idx > this.head) {
      const gap = this.head === -Infinity ? BUCKETS : Math.min(BUCKETS, idx - this.head);
      for (let k = 0; k < gap; k++) {
        const slot = mod(idx - k, BUCKETS);
        this.requests[slot] = 0;
        this.retries[slot] = 0;
      }
      this.head = idx;
    }
    // A clock that steps back lands in the newest bucket rather than corrupting old ones.
    return mod(this.head, BUCKETS);
  }
}

function bucketWidth(cfg: RetryBudgetConfig): number {
  return Math.max(1, cfg.budgetWindowMs / BUCKETS);
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
