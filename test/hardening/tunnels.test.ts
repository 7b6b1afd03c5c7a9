// Upgraded connections (WebSockets): a half-close from the client is forwarded and answered, both
// sockets are freed afterwards (hundreds of tunnels leave the descriptor count where it was), a
// tunnel with no traffic is closed after limits.tunnelIdleTimeout, and so is one the client
// half-closed while the backend never closes its side (before that limit, the router held both
// sockets of such a tunnel for as long as the process lived).
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fdCount, rawSession, startOddBackend, type OddBackend } from '../helpers/edge.js';
import { metrics, ready, sample } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';

const HANDSHAKE =
  'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** A router in front of one backend, with the tunnel idle time given. */
function tunnelRouter(backendUrl: string, tunnelIdleTimeout: string): Promise<RouterProc> {
  return startRouter(
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
regions:
  - { name: one, location: { lat: 0, lon: 0 }, endpoints: [${backendUrl}] }
health: { interval: 1m, timeout: 500ms }
limits: { tunnelIdleTimeout: ${tunnelIdleTimeout} }
`,
    { logLevel: 'info' },
  );
}

let backend: OddBackend;
let router: RouterProc;
before(async () => {
  backend = await startOddBackend();
  router = await tunnelRouter(backend.url, '500ms');
  await ready(router);
});
after(async () => {
  await router.stop();
  await backend.stop();
});

/** Upgrade, send `hi`, half-close; resolves with what came back once the router closed its side. */
function halfCloseTunnel(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    let upgraded = false;
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (!upgraded && got.includes('\r\n\r\n')) {
        upgraded = true;
        s.write('hi');
        s.end();
      }
    });
    s.on('end', () => {
      s.destroy();
      resolve(got);
    });
    s.on('error', reject);
    s.setTimeout(5_000, () => reject(new Error(`tunnel stuck: ${JSON.stringify(got)}`)));
    s.once('connect', () => s.write(HANDSHAKE));
  });
}

test('half-closed tunnels are answered and freed: 500 of them leave the descriptor count as it was', async () => {
  const pid = router.proc.pid!;
  // Warm up (agents, lazily opened files), then measure.
  assert.match(await halfCloseTunnel(router.port), /^HTTP\/1\.1 101 [^]*hibye$/);
  const before = fdCount(pid);
  for (let batch = 0; batch < 10; batch++) {
    const got = await Promise.all(Array.from({ length: 50 }, () => halfCloseTunnel(router.port)));
    for (const g of got) assert.match(g, /hibye$/, 'the FIN reached the backend and its answer came back');
  }
  await waitFor(() => fdCount(pid) <= before + 2, 5_000, `descriptors back to ${before} (now ${fdCount(pid)})`);
});

test('a tunnel with no traffic is closed after limits.tunnelIdleTimeout and counted', async () => {
  const r = await rawSession(router.port, [HANDSHAKE], { waitMs: 4_000 });
  assert.match(r.text, /^HTTP\/1\.1 101 /);
  assert.equal(r.closed, true, 'the idle tunnel was closed');
  const m = await metrics(router);
  assert.ok((sample(m, 'meridian_limit_hits_total', { limit: 'tunnelIdleTimeout' }) ?? 0) >= 1);
});

/** Sockets the process holds open (Linux /proc: descriptors that link to `socket:[inode]`). */
function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while being listed
    }
  }
  return n;
}

/**
 * A WebSocket backend that answers 101 and then never closes its side: a FIN from the router is
 * counted and otherwise ignored (the socket stays half-open for as long as the peer keeps it).
 */
async function startHoldingBackend(): Promise<{ url: string; tunnelFins: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let fins = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let head = '';
    const onHead = (c: Buffer): void => {
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onHead);
      if (!head.startsWith('GET /ws')) {
        s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'); // probes
        return;
      }
      s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
      s.on('data', () => undefined); // what the client sends is read and dropped
      s.on('end', () => fins++);
    };
    s.on('data', onHead);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnelFins: () => fins,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('a tunnel the client half-closed and the backend never closes is freed after limits.tunnelIdleTimeout', async () => {
  const holding = await startHoldingBackend();
  const r = await tunnelRouter(holding.url, '2s');
  const clients: net.Socket[] = [];
  try {
    await ready(r);
    const pid = r.proc.pid!;
    const before = socketCount(pid);
    const N = 50;
    let closedByRouter = 0;
    await Promise.all(
      Array.from(
        { length: N },
        () =>
          new Promise<void>((resolve, reject) => {
            // allowHalfOpen: the client keeps its socket after the router's FIN too; only the
            // router closing it counts.
            const s = net.connect({ port: r.port, host: '127.0.0.1', allowHalfOpen: true });
            clients.push(s);
            let got = '';
            s.on('data', (c: Buffer) => {
              got += c.toString('latin1');
              if (got.includes('\r\n\r\n')) resolve();
            });
            s.on('error', reject);
            s.on('end', () => closedByRouter++);
            s.once('connect', () => s.write(HANDSHAKE));
          }),
      ),
    );
    // Every tunnel is up: the router holds a client and an upstream socket for each.
    assert.ok(socketCount(pid) >= before + N, `tunnels open (${socketCount(pid)} sockets, ${before} before)`);
    for (const s of clients) {
      s.write('hi');
      s.end(); // FIN; the client's socket stays open for reading
    }
    await waitFor(() => holding.tunnelFins() === N, 10_000, 'the FIN of every tunnel reached the backend');
    // The backend never closes its side; the router must still let go of both of its sockets.
    await waitFor(
      () => closedByRouter === N && socketCount(pid) <= before + 2,
      15_000,
      'the router closing every tunnel and its socket count going back',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: router closed ${closedByRouter} of ${N} clients; ${socketCount(pid)} sockets, ${before} before`);
    });
    const m = await metrics(r);
    assert.ok((sample(m, 'meridian_limit_hits_total', { limit: 'tunnelIdleTimeout' }) ?? 0) >= N);
  } finally {
    for (const s of clients) s.destroy();
    await r.stop();
    await holding.stop();
  }
});
