// Issue 2 "Reload": SIGHUP and POST /admin/reload re-read the file; a bad file keeps the running
// config, logs every error as file:line:col and counts a failed reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clientFor } from '../helpers/clients.js';
import { asClient, coreConfig, metric } from '../helpers/core.js';
import { admin, request, startRouter, waitFor, type RouterProc, waitReady } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = 'reload-token-123';
let world: World;
/** A world view with only us-east and eu-west, for the first config. */
let twoRegions: World;
let router: RouterProc;

before(async () => {
  world = await startWorld();
  twoRegions = { ...world, backends: new Map([...world.backends].filter(([n]) => n !== 'ap-southeast')) };
  router = await startRouter(coreConfig(twoRegions, { token: TOKEN }));
  await waitReady(router);
});

after(async () => {
  await router?.stop();
  await world?.stop();
});

async function reloads(): Promise<{ success: number; failure: number }> {
  const t = (await request(router.adminPort, { path: '/metrics' })).text;
  return {
    success: metric(t, 'meridian_config_reloads_total', { result: 'success' }) ?? 0,
    failure: metric(t, 'meridian_config_reloads_total', { result: 'failure' }) ?? 0,
  };
}

const jp = (path = '/x'): ReturnType<typeof asClient> => asClient(router.port, clientFor('JP').ip, { path });

/** A config that fails validation in three places, at positions computed by hand below. */
function badConfig(): string {
  const good = coreConfig(world, { token: TOKEN });
  return `${good}routes:\n  - name: api\n    match: { pathPrefx: /api }\n    mode: active-activ\nallDown: maybe\n`;
}
function badPositions(): { line: number; col: number; key: string }[] {
  const lines = badConfig().split('\n');
  const at = (needle: string): { line: number; col: number } => {
    const i = lines.findIndex((l) => l.includes(needle));
    return { line: i + 1, col: lines[i]!.indexOf(needle) + 1 };
  };
  return [
    { ...at('pathPrefx'), key: 'routes[0].match.pathPrefx' },
    { ...at('active-activ'), key: 'routes[0].mode' },
    { ...at('maybe'), key: 'allDown' },
  ];
}

test('without ap-southeast configured, a Japanese client is served by eu-west', async () => {
  const r = await jp();
  assert.equal(r.json.region, 'eu-west');
  assert.deepEqual(await reloads(), { success: 0, failure: 0 });
});

test('SIGHUP with a good file: the new region and route take effect', async () => {
  router.writeConfig(
    coreConfig(world, {
      token: TOKEN,
      extra:
        'routes:\n  - name: added\n    match: { pathPrefix: /added }\n    mode: active-active\n  - name: default\n    match: { pathPrefix: / }\n    mode: active-active\n',
    }),
  );
  router.proc.kill('SIGHUP');
  const line = await router.waitForLog((l) => l.event === 'reload' && l.result === 'success');
  assert.deepEqual(line.routes, ['added', 'default']);
  assert.deepEqual(line.regions, ['us-east', 'eu-west', 'ap-southeast']);
  // The new region is probed before it takes traffic.
  await waitFor(async () => (await jp()).json.region === 'ap-southeast', 10_000, 'JP served by ap-southeast');
  const r = await jp('/added/1');
  assert.equal(r.json.region, 'ap-southeast');
  const access = await router.waitForLog((l) => l.msg === 'request' && l.path === '/added/1');
  assert.equal(access.route, 'added');
  assert.deepEqual(await reloads(), { success: 1, failure: 0 });
});

test('SIGHUP with a bad file keeps the running config, logs every error with file:line:col, counts a failure', async () => {
  router.writeConfig(badConfig());
  router.proc.kill('SIGHUP');
  const line = await router.waitForLog((l) => l.event === 'reload' && l.result === 'failure');
  const errors = line.errors as string[];
  assert.ok(Array.isArray(errors));
  for (const p of badPositions()) {
    const want = `${router.configFile}:${p.line}:${p.col} ${p.key}: `;
    assert.ok(
      errors.some((e) => e.startsWith(want)),
      `expected an error starting with "${want}" in ${JSON.stringify(errors)}`,
    );
  }
  assert.equal(errors.length, 3);
  assert.deepEqual(await reloads(), { success: 1, failure: 1 });
  // Still the previous config: ap-southeast serves Japan and the added route exists.
  const r = await jp('/added/2');
  assert.equal(r.status, 200);
  assert.equal(r.json.region, 'ap-southeast');
  const access = await router.waitForLog((l) => l.msg === 'request' && l.path === '/added/2');
  assert.equal(access.route, 'added');
});

test('POST /admin/reload: a bad file answers 400 with the errors, a good one 200; both counted', async () => {
  const noToken = await admin(router, 'POST', '/admin/reload');
  assert.equal(noToken.status, 401);

  const bad = await admin(router, 'POST', '/admin/reload', TOKEN);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.reloaded, false);
  assert.equal(bad.json.error, 'invalid_config');
  assert.equal(bad.json.errors.length, 3);
  for (const e of bad.json.errors as string[]) assert.match(e, /^.+:\d+:\d+ [\w.[\]]+: .+/);
  assert.deepEqual(await reloads(), { success: 1, failure: 2 });
  assert.equal((await jp()).json.region, 'ap-southeast');

  router.writeConfig(coreConfig(twoRegions, { token: TOKEN }));
  const good = await admin(router, 'POST', '/admin/reload', TOKEN);
  assert.equal(good.status, 200);
  assert.deepEqual(good.json, { reloaded: true });
  assert.deepEqual(await reloads(), { success: 2, failure: 2 });
  // ap-southeast is gone at once: Japan is back on eu-west, the route 'added' no longer exists.
  const r = await jp('/added/3');
  assert.equal(r.json.region, 'eu-west');
  const access = await router.waitForLog((l) => l.msg === 'request' && l.path === '/added/3');
  assert.equal(access.route, 'default');
  const state = await request(router.adminPort, { path: '/admin/state' });
  assert.deepEqual(
    state.json.regions.map((x: { name: string }) => x.name),
    ['us-east', 'eu-west'],
  );
  // The removed region's state series are gone from /metrics; the remaining regions' stay.
  const text = (await request(router.adminPort, { path: '/metrics' })).text;
  assert.equal(metric(text, 'meridian_region_up', { region: 'ap-southeast' }), null);
  assert.equal(metric(text, 'meridian_region_drained', { region: 'ap-southeast' }), null);
  assert.equal(metric(text, 'meridian_region_up', { region: 'eu-west' }), 1);
});
