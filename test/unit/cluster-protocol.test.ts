// The data a cluster primary sends its workers: a HealthView survives the trip unchanged, older
// versions never replace newer ones, and a worker's passive reports stay off the IPC channel on
// the success path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_VIEW, viewFromData, viewToData, type ToPrimary } from '../../src/cluster/protocol.js';
import { RemoteHealth } from '../../src/cluster/worker.js';
import type { HealthView } from '../../src/types.js';

const source: HealthView = {
  isAvailable: (r) => r === 'us-east',
  weight: (r) => (r === 'us-east' ? 0.5 : 0),
  lagMs: (r) => (r === 'eu-west' ? 1200 : null),
  writeRegion: 'us-east',
  availableEndpoints: (r) => (r === 'us-east' ? ['http://a:1', 'http://b:2'] : []),
};

test('a view round-trips through JSON with every field intact', () => {
  const regions = ['us-east', 'eu-west'];
  const back = viewFromData(JSON.parse(JSON.stringify(viewToData(source, regions))));
  for (const r of regions) {
    assert.equal(back.isAvailable(r), source.isAvailable(r));
    assert.equal(back.weight(r), source.weight(r));
    assert.equal(back.lagMs(r), source.lagMs(r));
    assert.deepEqual(back.availableEndpoints(r), source.availableEndpoints(r));
  }
  assert.equal(back.writeRegion, 'us-east');
  assert.equal(back.isAvailable('nowhere'), false, 'a region the primary did not mention is not available');
  assert.deepEqual(back.availableEndpoints('nowhere'), []);
  assert.equal(EMPTY_VIEW.isAvailable('us-east'), false, 'before the first view nothing is available');
});

test('a worker applies only newer views', () => {
  const h = new RemoteHealth(() => undefined);
  const v2 = viewFromData(viewToData(source, ['us-east']));
  const v1 = viewFromData({ writeRegion: null, regions: {} });
  assert.equal(h.apply(2, v2), true);
  assert.equal(h.apply(1, v1), false, 'a late older view is ignored');
  assert.equal(h.apply(2, v1), false, 'the same version is not applied twice');
  assert.equal(h.view(), v2);
  assert.equal(h.viewVersion, 2);
});

test('passive reports: every failure, then one success to end the streak, and nothing while healthy', () => {
  const sent: ToPrimary[] = [];
  const h = new RemoteHealth((m) => sent.push(m));
  h.reportResult('http://a:1', true);
  assert.equal(sent.length, 0, 'success with no failure streak costs no message');
  h.reportResult('http://a:1', false, 'connect');
  h.reportResult('http://a:1', false, 'status');
  h.reportResult('http://b:2', true);
  h.reportResult('http://a:1', true);
  h.reportResult('http://a:1', true);
  assert.deepEqual(sent, [
    { t: 'passive', endpoint: 'http://a:1', ok: false, kind: 'connect' },
    { t: 'passive', endpoint: 'http://a:1', ok: false, kind: 'status' },
    { t: 'passive', endpoint: 'http://a:1', ok: true },
  ]);
});
