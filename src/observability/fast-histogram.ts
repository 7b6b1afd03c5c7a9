import type client from 'prom-client';

/** One sample as prom-client's registry reads it from get(). */
interface HistogramValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** The counts of one label value: per bucket (not cumulative; the last slot is above every bound), sum, count. */
export interface HistogramSeries {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram with two labels (region and route on the request path). prom-client's
 * Histogram converts, validates and hashes the label set on every observe(), even through a bound
 * child, which made it the most expensive metric call per request (docs/profile.md); here the
 * caller holds its series (found by two Map lookups on strings it already has, no label-set key
 * built) and an observation is a bucket search and three additions.
 *
 * It is a metric of prom-client's registry like any other: registered with `registerMetric`, it
 * answers `get()` with the same values prom-client's Histogram would (cumulative `_bucket` series
 * with `le`, then `_sum` and `_count`), so `/metrics` text and the cluster aggregator (`sum`)
 * treat it exactly as before.
 */
export class FastHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly [string, string];
  private readonly bounds: readonly number[];
  /** first label value → second label value → series. */
  private readonly series = new Map<string, Map<string, HistogramSeries>>();

  constructor(opts: {
    name: string;
    help: string;
    labelNames: readonly [string, string];
    buckets: readonly number[];
    registers: readonly client.Registry[];
  }) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames;
    this.bounds = [...opts.buckets].sort((a, b) => a - b);
    for (const r of opts.registers) r.registerMetric(this as unknown as client.Metric);
  }

  /** The series of one pair of label values, created at zero on first use; keep it and pass it to observe(). */
  labels(first: string, second: string): HistogramSeries {
    let inner = this.series.get(first);
    if (inner === undefined) this.series.set(first, (inner = new Map<string, HistogramSeries>()));
    let s = inner.get(second);
    if (s === undefined) {
      s = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      inner.set(second, s);
    }
    return s;
  }

  observe(s: HistogramSeries, value: number): void {
    if (!Number.isFinite(value)) return; // prom-client throws; a request must never fail on a metric
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  reset(): void {
    this.series.clear();
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    const [n1, n2] = this.labelNames;
    for (const [v1, inner] of this.series) {
      for (const [v2, s] of inner) {
        let acc = 0;
        for (let i = 0; i < this.bounds.length; i++) {
          acc += s.counts[i]!;
          values.push({ labels: { le: this.bounds[i]!, [n1]: v1, [n2]: v2 }, value: acc, metricName: bucket });
        }
        values.push({ labels: { le: '+Inf', [n1]: v1, [n2]: v2 }, value: s.count, metricName: bucket });
        values.push({ labels: { [n1]: v1, [n2]: v2 }, value: s.sum, metricName: `${this.name}_sum` });
        values.push({ labels: { [n1]: v1, [n2]: v2 }, value: s.count, metricName: `${this.name}_count` });
      }
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
