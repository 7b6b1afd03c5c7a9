// Issue 2: WebSocket upgrades are routed by the same decision (read selector) and proxied both ways.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { rendezvousTop } from '../../src/routing/rendezvous.js';
import { clientFor } from '../helpers/clients.js';
import { coreConfig } from '../helpers/core.js';
import { request, startRouter, waitFor, type RouterProc, waitReady } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const REGIONS = ['us-east', 'eu-west', 'ap-southeast'];

let world: World;
let router: RouterProc;
const wss: WebSocketServer[] = [];
/** Upgrade requests each region's echo server accepted. */
const upgrades: { region: string; url: string; headers: http.IncomingHttpHeaders }[] = [];

before(async () => {
  world = await startWorld();
  for (const [region, list] of world.backends) {
    for (const b of list) {
      const s = new WebSocketServer({ server: b.server });
      s.on('connection', (ws, req) => {
        upgrades.push({ region, url: req.url ?? '', headers: req.headers });
        ws.send(JSON.stringify({ hello: region }));
        ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${region}:${data.toString()}`, { binary: isBinary }));
      });
      wss.push(s);
    }
  }
  router = await startRouter(
    coreConfig(world, {
      extra: `writes:
  regions: [us-east]
routes:
  - name: feed
    match: { pathPrefix: /feed }
    mode: read-local-write-global
  - name: users
    match: { pathPrefix: /users }
    mode: home
  - name: only-api
    match: { pathPrefix: /api }
    mode: active-active
`,
    }),
  );
  await waitReady(router);
});

after(async () => {
  for (const s of wss) for (const c of s.clients) c.terminate();
  for (const s of wss) s.close();
  await router?.stop();
  await world?.stop();
});

interface Conn {
  ws: WebSocket;
  next(): Promise<WebSocket.RawData>;
}

function connect(path: string, headers: Record<string, string>): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}${path}`, { headers });
    const queue: WebSocket.RawData[] = [];
    const waiting: ((d: WebSocket.RawData) => void)[] = [];
    ws.on('message', (d) => {
      const w = waiting.shift();
      if (w) w(d);
      else queue.push(d);
    });
    ws.once('open', () =>
      resolve({
        ws,
        next: () => {
          const d = queue.shift();
          return d !== undefined ? Promise.resolve(d) : new Promise((r) => waiting.push(r));
        },
      }),
    );
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`unexpected ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
}

function close(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close();
  });
}

async function explainRegion(ip: string, path: string, userKey?: string): Promise<string> {
  const q = new URLSearchParams({ ip, path, method: 'GET', ...(userKey ? { userKey } : {}) });
  const r = await request(router.adminPort, { path: `/admin/explain?${q}` });
  return r.json.region as string;
}

for (const country of ['JP', 'DE', 'US']) {
  test(`a WebSocket from ${country} is proxied both ways to the region decide() picks`, async () => {
    const ip = clientFor(country).ip;
    const want = await explainRegion(ip, '/feed/live');
    const c = await connect('/feed/live?x=1', { 'x-forwarded-for': ip });
    try {
      assert.deepEqual(JSON.parse((await c.next()).toString()), { hello: want }, 'server → client');
      c.ws.send(`ping from ${country}`);
      assert.equal((await c.next()).toString(), `${want}:ping from ${country}`, 'client → server → client');
      const bin = Buffer.from([0, 1, 2, 255]);
      c.ws.send(bin);
      assert.deepEqual(Buffer.from((await c.next()) as Buffer), bin, 'binary frames too');
      const u = upgrades.filter((x) => x.url === '/feed/live?x=1').at(-1)!;
      assert.equal(u.region, want);
      assert.equal(u.headers['x-forwarded-for'], `${ip}, 127.0.0.1`);
      assert.equal(u.headers['x-meridian-client-country'], country);
    } finally {
      await close(c.ws);
    }
  });
}

test('the expected regions are the hand-computed ones (guards the explain-based assertion)', async () => {
  assert.equal(await explainRegion(clientFor('JP').ip, '/feed/x'), 'ap-southeast');
  assert.equal(await explainRegion(clientFor('DE').ip, '/feed/x'), 'eu-west');
  assert.equal(await explainRegion(clientFor('US').ip, '/feed/x'), 'us-east');
});

test('an upgrade follows the read selector of a home route (user key)', async () => {
  let user = '';
  for (let i = 0; user === ''; i++) if (rendezvousTop(`ws-${i}`, REGIONS) === 'eu-west') user = `ws-${i}`;
  const c = await connect('/users/stream', { 'x-forwarded-for': clientFor('JP').ip, 'x-user-id': user });
  try {
    assert.deepEqual(JSON.parse((await c.next()).toString()), { hello: 'eu-west' });
  } finally {
    await close(c.ws);
  }
  const line = await router.waitForLog((l) => l.kind === 'websocket' && l.path === '/users/stream' && l.status === 101);
  assert.equal(line.region, 'eu-west');
  assert.equal(line.reason, 'home-hash');
});

test('closing the client closes the backend side, and the reverse', async () => {
  const c = await connect('/feed/close', { 'x-forwarded-for': clientFor('DE').ip });
  await c.next();
  const server = [...wss.flatMap((s) => [...s.clients])].find(
    (ws) => ws.readyState === WebSocket.OPEN && upgrades.some((u) => u.url === '/feed/close'),
  );
  assert.ok(server);
  const before = wss.reduce((n, s) => n + s.clients.size, 0);
  await close(c.ws);
  await waitFor(() => wss.reduce((n, s) => n + s.clients.size, 0) < before, 5000, 'backend side closed');

  const c2 = await connect('/feed/close2', { 'x-forwarded-for': clientFor('DE').ip });
  await c2.next();
  const closed = new Promise<void>((r) => c2.ws.once('close', () => r()));
  for (const s of wss) for (const ws of s.clients) ws.terminate();
  await closed;
});

test('an upgrade for a path no route matches is refused with 404', async () => {
  await assert.rejects(connect('/nowhere', { 'x-forwarded-for': clientFor('DE').ip }), (e: { status?: number }) => e.status === 404);
  assert.ok(!upgrades.some((u) => u.url === '/nowhere'));
  // The router still serves.
  const c = await connect('/api/ws', { 'x-forwarded-for': clientFor('DE').ip });
  assert.deepEqual(JSON.parse((await c.next()).toString()), { hello: 'eu-west' });
  await close(c.ws);
});

describe('shutdown with a WebSocket open', () => {
  let r2: RouterProc;
  before(async () => {
    r2 = await startRouter(coreConfig(world, { extra: 'shutdownGrace: 300ms\n' }));
    await waitReady(r2);
  });
  after(async () => {
    await r2?.stop('SIGKILL');
  });

  test('SIGTERM ends open WebSockets after shutdownGrace and exits 0 (it used to hang forever)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${r2.port}/feed/term`, { headers: { 'x-forwarded-for': clientFor('JP').ip } });
    const first = new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    assert.deepEqual(JSON.parse(await first), { hello: 'ap-southeast' });
    const serverSide = wss.flatMap((s) => [...s.clients]).filter((c) => c.readyState === WebSocket.OPEN);
    assert.ok(serverSide.length >= 1);
    const clientClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    r2.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      r2.exited,
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running after 10 s'), 10_000))),
    ]);
    clearTimeout(timer);
    assert.equal(code, 0);
    await clientClosed;
    await waitFor(() => serverSide.every((c) => c.readyState === WebSocket.CLOSED), 5000, 'backend side closed');
    assert.equal(r2.stderr(), '');
  });
});
