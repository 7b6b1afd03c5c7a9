import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { FastHistogram } from '../../src/observability/fast-histogram.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The same observations through prom-client's Histogram and through FastHistogram. */
function both(observations: Array<[string, number, string?]>): { ours: client.Registry; theirs: client.Registry } {
  const ours = new client.Registry();
  const theirs = new client.Registry();
  const fast = new FastHistogram({ name: 'x_seconds', help: 'h', labelNames: ['region', 'route'], buckets: BUCKETS, registers: [ours] });
  const slow = new client.Histogram({
    name: 'x_seconds',
    help: 'h',
    labelNames: ['region', 'route'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  for (const [region, v, route = 'api'] of observations) {
    fast.observe(fast.labels(region, route), v);
    slow.labels(region, route).observe(v);
  }
  return { ours, theirs };
}

// Values on and around every bound (a value equal to a bound belongs to that bucket), and beyond the last.
const edges: Array<[string, number, string?]> = BUCKETS.flatMap((b, i): Array<[string, number, string?]> => [
  [i % 2 ? 'eu-west' : 'us-east', b],
  ['eu-west', b * 0.999, i % 3 ? 'api' : 'static'],
  ['us-east', b * 1.001],
]);
edges.push(['ap-southeast', 0], ['ap-southeast', 31], ['ap-southeast', 1e9]);

test('FastHistogram exports exactly what prom-client Histogram exports for the same observations', async () => {
  const { ours, theirs } = both(edges);
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.deepEqual(
    await ours.getMetricsAsJSON(),
    (await theirs.getMetricsAsJSON()).map((m) => ({ ...m, values: m.values.map(stripExemplar) })),
  );
});

test('cluster aggregation sums FastHistogram series like prom-client histograms', async () => {
  const a = both(edges.slice(0, 20));
  const b = both(edges.slice(20));
  const ours = client.AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()]);
  const theirs = client.AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()]);
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /^x_seconds_count\{region="eu-west",route="static"\} \d+$/m);
});

test('a non-finite observation is dropped instead of throwing on the request path', () => {
  const r = new client.Registry();
  const h = new FastHistogram({ name: 'y_seconds', help: 'h', labelNames: ['region', 'route'], buckets: [1], registers: [r] });
  const s = h.labels('eu-west', 'api');
  h.observe(s, Number.NaN);
  h.observe(s, 0.5);
  assert.equal(s.count, 1);
  assert.equal(s.sum, 0.5);
});

function stripExemplar(v: client.MetricValue<string>): client.MetricValue<string> {
  const { exemplar: _e, ...rest } = v as client.MetricValue<string> & { exemplar?: unknown };
  return rest;
}
