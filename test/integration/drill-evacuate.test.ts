// `npm run drill -- --evacuate` as a user runs it: the real CLI on free ports, a short window. Its
// report must show the ramp — the share of eu-west falling second by second to 0 without rising —
// and zero failed requests; its exit code says so too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI, REPO_ROOT } from '../helpers/router-process.js';

test('the evacuation drill: a smooth ramp to 0 and zero failed requests', () => {
  const r = spawnSync(process.execPath, [CLI, 'demo', '--drill', '--evacuate', '--over', '3s'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const rows = [...r.stdout.matchAll(/^\s+(-?\d+)\s+(\d+)\s+([\d.]+)%\s+(\d+)%\s+(\d+)/gm)].map((m) => ({
    second: Number(m[1]),
    requests: Number(m[2]),
    share: Number(m[3]),
    failed: Number(m[5]),
  }));
  assert.ok(rows.length >= 4, r.stdout);
  assert.equal(rows[0]!.share, 100, 'before the drain eu-west takes every German client');
  assert.equal(rows.at(-1)!.share, 0, 'at the end it takes none');
  assert.ok(
    rows.some((x) => x.share > 0 && x.share < 100),
    `a ramp, not a cliff:\n${r.stdout}`,
  );
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.share <= rows[i - 1]!.share + 5, `the share never rises:\n${r.stdout}`);
  assert.equal(
    rows.reduce((n, x) => n + x.failed, 0),
    0,
    r.stdout,
  );
  assert.match(r.stdout, /PASS: zero failed requests/);
});
