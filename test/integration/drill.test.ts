// The drill a user runs before trusting Meridian (`meridian demo --drill`), on ephemeral ports and a
// shorter timeline: what it reports must hold — zero failed GETs while a region dies, no POST
// applied twice, traffic moved off the dead region and back after it recovers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drill, formatReport } from '../../src/demo/drill.js';
import { REPO_ROOT } from '../helpers/router-process.js';

test('the failover drill: zero failed GETs, no POST applied twice, traffic returns after failback', async () => {
  const config = `${REPO_ROOT}config/demo.yaml`;
  const r = await drill(
    config,
    { warmupMs: 1500, downMs: 4000, maxWaitBackMs: 20_000, tailMs: 500, getClients: 4, postClients: 2 },
    { ephemeralPorts: true },
  );
  const text = formatReport(r, config, r.health);
  const gets = r.requests.GET!;
  const posts = r.requests.POST!;
  assert.ok(gets.total > 50 && posts.total > 20, `load ran:\n${text}`);
  assert.equal(gets.failed, 0, `no GET failed:\n${text}`);
  assert.equal(r.appliedTwice, 0, `no POST applied twice:\n${text}`);
  // Every failed POST is accounted for and none was replayed (a replay would show as applied twice).
  assert.equal(r.failedPostsApplied + r.failedPostsNotApplied, posts.failed);
  assert.notEqual(r.ejectionMs ?? r.detectionMs, null, `the dead region was detected:\n${text}`);
  assert.notEqual(r.detectionMs, null, `probes marked it down:\n${text}`);
  assert.notEqual(r.returnedMs, null, `traffic came back after the revival:\n${text}`);
  // It came back only after the probes saw it up again and the failback delay passed.
  assert.ok(r.returnedMs! >= r.health.failbackDelayMs, `failback delay respected:\n${text}`);
  assert.equal(r.pass, true, text);
});
