// Upgraded connections (WebSockets): a half-close from the client is forwarded and answered, both
// sockets are freed afterwards (hundreds of tunnels leave the descriptor count where it was), and
// a tunnel with no traffic is closed after limits.tunnelIdleTimeout.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { fdCount, rawSession, startOddBackend, type OddBackend } from '../helpers/edge.js';
import { metrics, ready, sample } from '../helpers/failover.js';
import { startRouter, waitFor, type RouterProc } from '../helpers/router-process.js';

const HANDSHAKE =
  'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

let backend: OddBackend;
let router: RouterProc;
before(async () => {
  backend = await startOddBackend();
  router = await startRouter(
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
regions:
  - { name: one, location: { lat: 0, lon: 0 }, endpoints: [${backend.url}] }
health: { interval: 1m, timeout: 500ms }
limits: { tunnelIdleTimeout: 500ms }
`,
    { logLevel: 'info' },
  );
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
