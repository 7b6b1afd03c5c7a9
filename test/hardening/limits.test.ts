// The limits block, each from outside: the status it answers with (or the close), and its count in
// meridian_limit_hits_total{limit}. None of them counts against an endpoint or region.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { rawSession, worldAndRouter } from '../helpers/edge.js';
import { metrics, sample } from '../helpers/failover.js';
import { request, waitFor } from '../helpers/router-process.js';

const fx = worldAndRouter(
  ['us-east', 'eu-west'],
  `health: { interval: 1m, timeout: 500ms }
passive: { consecutiveFailures: 1, ejectFor: 1m }
limits:
  maxConnections: 40
  maxConnectionsPerIp: 20
  headersTimeout: 500ms
  bodyTimeout: 400ms
  idleTimeout: 300ms
  maxHeaderBytes: 2048
  maxBodyBytes: 1000
`,
  { logLevel: 'info' },
);

async function hits(limit: string): Promise<number> {
  return sample(await metrics(fx.router), 'meridian_limit_hits_total', { limit }) ?? 0;
}

function noEjection(): void {
  assert.equal(
    fx.router.logs.some((l) => l.event === 'ejected'),
    false,
    'no limit counts against an endpoint',
  );
}

test('headersTimeout: a request head that does not arrive in time gets 408 and a close', async () => {
  const r = await rawSession(fx.router.port, ['GET / HTTP/1.1\r\nhost: x\r\n'], { waitMs: 5_000 });
  assert.equal(r.closed, true);
  if (r.text !== '') assert.match(r.text, /^HTTP\/1\.1 408 /);
  assert.ok((await hits('headersTimeout')) >= 1);
});

test('bodyTimeout: a body that stalls gets 408 and a close, and the region is untouched', async () => {
  const r = await rawSession(fx.router.port, ['POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc'], { waitMs: 5_000 });
  assert.match(r.text, /^HTTP\/1\.1 408 /, r.text.slice(0, 200));
  assert.equal(r.closed, true);
  assert.ok((await hits('bodyTimeout')) >= 1);
  noEjection();
  assert.equal((await request(fx.router.port, { path: '/after-stall' })).status, 200);
});

test('maxHeaderBytes: a larger head gets 431', async () => {
  const r = await request(fx.router.port, { path: '/', headers: { 'x-big': 'a'.repeat(4096) } });
  assert.equal(r.status, 431);
  assert.ok((await hits('maxHeaderBytes')) >= 1);
});

test('maxBodyBytes: a declared Content-Length above it gets 413 before anything is forwarded', async () => {
  const seen = fx.world.b('us-east').requests.length;
  const r = await request(fx.router.port, { method: 'POST', path: '/big', body: 'x'.repeat(2000) });
  assert.equal(r.status, 413);
  assert.equal(r.json.error, 'payload_too_large');
  assert.equal(fx.world.b('us-east').requests.length, seen, 'nothing reached the backend');
  assert.ok((await hits('maxBodyBytes')) >= 1);
});

test('maxBodyBytes: a chunked body is counted and cut at the limit', async () => {
  const chunk = 'x'.repeat(600);
  const r = await rawSession(
    fx.router.port,
    [`POST /chunked HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n258\r\n${chunk}\r\n`, `258\r\n${chunk}\r\n0\r\n\r\n`],
    { gapMs: 50, waitMs: 5_000 },
  );
  assert.match(r.text, /^HTTP\/1\.1 413 /, r.text.slice(0, 200));
  assert.ok((await hits('maxBodyBytes')) >= 2);
  noEjection();
});

test('idleTimeout: an idle keep-alive connection is closed', async () => {
  const r = await rawSession(fx.router.port, ['GET /idle HTTP/1.1\r\nhost: x\r\n\r\n'], { waitMs: 4_000 });
  assert.match(r.text, /^HTTP\/1\.1 200 /);
  assert.equal(r.closed, true, 'closed after idleTimeout, well before the wait ran out');
});

function connectAll(n: number, localAddress = '127.0.0.1'): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets: net.Socket[] = [];
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect({ port: fx.router.port, host: '127.0.0.1', localAddress });
          sockets.push(s);
          s.on('error', () => undefined);
          s.once('close', () => closed++);
          s.once('connect', () => resolve());
          s.once('close', () => resolve());
        }),
    ),
  ).then(() => ({ sockets, closed: () => closed }));
}

test('maxConnectionsPerIp: connections beyond it from one IP are closed at once; others are served', async () => {
  const { sockets, closed } = await connectAll(30);
  await waitFor(() => closed() >= 10, 3_000, 'ten connections closed');
  assert.equal(closed(), 10);
  assert.ok((await hits('maxConnectionsPerIp')) >= 10);
  for (const s of sockets) s.destroy();
  await waitFor(async () => (await request(fx.router.port, { path: '/ok' }).catch(() => null))?.status === 200, 3_000, 'served again');
});

test('maxConnections: beyond it new connections are closed at once', async () => {
  // From three addresses, so the per-IP cap is not what closes them.
  const a = await connectAll(20, '127.0.0.2');
  const b = await connectAll(20, '127.0.0.3');
  await new Promise((r) => setTimeout(r, 100));
  const c = await connectAll(5, '127.0.0.4');
  await waitFor(() => c.closed() === 5, 3_000, 'over the limit closed');
  assert.equal(a.closed() + b.closed(), 0);
  assert.ok((await hits('maxConnections')) >= 5);
  for (const s of [...a.sockets, ...b.sockets, ...c.sockets]) s.destroy();
});
