// admin.metricsListen from outside: a second listener with /healthz, /readyz and /metrics only —
// the routes that move traffic are not there — and an admin listener others can reach needs a token.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { ADMIN_ROUTES } from '../../src/admin/routes.js';
import { CLI, request, startRouter, waitReady, writeTempConfig, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
let metricsPort: number;

before(async () => {
  world = await startWorld(['us-east']);
  const yaml = configYaml(world).replace(
    'admin:\n  listen: 127.0.0.1:0\n',
    'admin:\n  listen: 127.0.0.1:0\n  metricsListen: 127.0.0.1:0\n',
  );
  router = await startRouter(yaml);
  await waitReady(router);
  const line = router.logs.find((l) => l.event === 'listening');
  metricsPort = Number(new URL(String(line?.metrics)).port);
  assert.ok(metricsPort > 0 && metricsPort !== router.adminPort, 'the start-up line names the metrics listener');
});
after(async () => {
  await router?.stop();
  await world?.stop();
});

test('the metrics listener serves the probes and /metrics, and nothing else', async () => {
  assert.equal((await request(metricsPort, { path: '/healthz' })).status, 200);
  assert.equal((await request(metricsPort, { path: '/readyz' })).status, 200);
  const m = await request(metricsPort, { path: '/metrics' });
  assert.equal(m.status, 200);
  assert.match(m.text, /^# HELP meridian_requests_total /m);
  for (const r of ADMIN_ROUTES.filter((x) => x.probe !== true)) {
    const path = r.path.replace('{name}', 'us-east');
    const a = await request(metricsPort, { method: r.method, path, body: r.method === 'POST' ? '{}' : undefined });
    assert.equal(a.status, 404, `${r.method} ${path} on the metrics port: ${a.status}`);
    assert.equal(a.json.error, 'not_found');
  }
  // The admin listener still has them all.
  assert.equal((await request(router.adminPort, { path: '/admin/state' })).status, 200);
  assert.equal((await request(router.adminPort, { path: '/metrics' })).status, 200);
});

test('an admin listener on a non-loopback address without admin.token is a config error naming the fix', () => {
  const file = writeTempConfig(configYaml(world).replace('admin:\n  listen: 127.0.0.1:0\n', 'admin:\n  listen: 0.0.0.0:9901\n'));
  let out = '';
  try {
    execFileSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8', stdio: 'pipe' });
    assert.fail('validate accepted an open admin listener');
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  assert.match(out, /admin\.listen/);
  assert.match(out, /admin\.token/);
  const withToken = writeTempConfig(
    configYaml(world).replace('admin:\n  listen: 127.0.0.1:0\n', 'admin:\n  listen: 0.0.0.0:9901\n  token: s3cret-token\n'),
  );
  execFileSync(process.execPath, [CLI, 'validate', '--config', withToken], { encoding: 'utf8', stdio: 'pipe' });
});
