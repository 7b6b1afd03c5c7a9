// Issue 3 read-your-writes: a write sets a signed cookie; inside the window the client's reads go to
// the write region unless the local lag is below the time since the write; forged cookies and
// expired windows are ignored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { from, ready, state } from '../helpers/failover.js';
import { startRouter, waitFor, type Answer, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast'], 1, { 'us-east': 0, 'eu-west': 30, 'ap-southeast': 0 });
  router = await startRouter(
    configYaml(
      world,
      `health: { interval: 100ms, timeout: 80ms }
writes: { regions: [us-east] }
readYourWrites: { secret: integration-test-secret-0123456789, cookie: ryw }
routes:
  - name: short
    match: { pathPrefix: /short }
    mode: read-local-write-global
    readYourWrites: 1s
  - name: app
    match: { pathPrefix: / }
    mode: read-local-write-global
    readYourWrites: 10s
`,
    ),
  );
  await ready(router);
  await waitFor(
    async () => (await state(router)).regions.find((r: { name: string }) => r.name === 'eu-west').lagMs === 30_000,
    5_000,
    'eu-west lag reported',
  );
});
after(async () => {
  await router.stop();
  await world.stop();
});

function cookieOf(a: Answer): string {
  const set = a.headers['set-cookie'];
  assert.ok(set && set.length === 1, `one Set-Cookie expected, got ${JSON.stringify(set)}`);
  const m = /^ryw=([^;]+);/.exec(set[0]!);
  assert.ok(m, set[0]);
  return m[1]!;
}

const read = (path: string, cookie?: string): Promise<Answer> =>
  from(router, 'DE', { path, headers: cookie ? { cookie: `ryw=${cookie}` } : {} });

test('a write sets a signed cookie; the next read inside the window goes to the write region', async () => {
  const w = await from(router, 'DE', { method: 'POST', path: '/cart', body: '{}' });
  assert.equal(w.json.region, 'us-east');
  const c = cookieOf(w);
  assert.match(c, /^v1\.us-east\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
  assert.match(String(w.headers['set-cookie']), /HttpOnly/);

  assert.equal((await read('/cart')).json.region, 'eu-west', 'without the cookie a German read is local');
  const r = await read('/cart', c);
  assert.equal(r.json.region, 'us-east');
  assert.equal(r.headers['x-meridian-reason'], 'read-your-writes');
  const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/cart' && l.reason === 'read-your-writes');
  assert.equal(line.region, 'us-east');
});

test('forged, tampered and malformed cookies are ignored', async () => {
  const c = cookieOf(await from(router, 'DE', { method: 'POST', path: '/cart', body: '{}' }));
  assert.equal((await read('/cart', c)).json.region, 'us-east', 'the genuine cookie works');
  const parts = c.split('.');
  const sig = parts[3]!;
  const flipped = `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`;
  const forged = [
    [parts[0], parts[1], parts[2], flipped].join('.'), // signature changed
    [parts[0], 'ap-southeast', parts[2], sig].join('.'), // region changed
    [parts[0], parts[1], (parseInt(parts[2]!, 36) + 1000).toString(36), sig].join('.'), // time changed
    'v1.us-east.zzzz.not-a-signature',
    'garbage',
  ];
  for (const f of forged) {
    const r = await read('/cart', f);
    assert.equal(r.json.region, 'eu-west', `cookie ${f} must be ignored`);
    assert.notEqual(r.headers['x-meridian-reason'], 'read-your-writes');
  }
});

test('after the window the read goes local', async () => {
  const w = await from(router, 'DE', { method: 'POST', path: '/short/x', body: '{}' });
  const c = cookieOf(w);
  assert.match(String(w.headers['set-cookie']), /Max-Age=1/);
  assert.equal((await read('/short/x', c)).json.region, 'us-east', 'inside the 1s window');
  await new Promise((r) => setTimeout(r, 1_200)); // the window is the behaviour under test
  const r = await read('/short/x', c);
  assert.equal(r.json.region, 'eu-west');
  assert.equal(r.headers['x-meridian-reason'], 'nearest');
});

test('inside the window, a local lag below the time since the write makes the local read safe', async () => {
  const c = cookieOf(await from(router, 'DE', { method: 'POST', path: '/cart', body: '{}' }));
  assert.equal((await read('/cart', c)).json.region, 'us-east', 'eu-west 30s behind: read the write region');
  world.b('eu-west').lagSeconds = 0.001;
  await waitFor(
    async () => (await state(router)).regions.find((r: { name: string }) => r.name === 'eu-west').lagMs === 1,
    5_000,
    'eu-west lag 1ms reported',
  );
  const r = await read('/cart', c);
  assert.equal(r.json.region, 'eu-west', 'the same cookie, still inside its window, now reads locally');
  assert.notEqual(r.headers['x-meridian-reason'], 'read-your-writes');
});
