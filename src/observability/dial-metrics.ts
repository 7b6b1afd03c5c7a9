import client from 'prom-client';

/**
 * `meridian_region_dial_percent{region}`: the share of the traffic preferring each region that its
 * dial keeps now (100 without a dial; a ramp is read at scrape time). Registered by the process
 * that holds the shared state (the single process, or the cluster primary).
 */
export function registerDialPercent(
  registry: client.Registry,
  regions: () => readonly string[],
  percent: (region: string) => number,
): void {
  new client.Gauge({
    name: 'meridian_region_dial_percent',
    help: 'Share (0-100) of the traffic preferring the region that its traffic dial keeps there now',
    labelNames: ['region'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.reset();
      for (const r of regions()) this.labels(r).set(percent(r));
    },
  });
}
