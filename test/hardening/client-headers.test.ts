// Headers and targets the client does not own: x-meridian-*, Forwarded and X-Real-IP never reach a
// backend from an untrusted client, whose X-Forwarded-For is replaced rather than appended to; an
// absolute-form target is routed by its authority and the backend sees that authority as Host;
// a Connection header naming a framing field is refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rawSession, startOddBackend, type OddBackend } from '../helpers/edge.js';
import { ready } from '../helpers/failover.js';
import { request, startRouter, type RouterProc } from '../helpers/router-process.js';

let pub: OddBackend;
let internal: OddBackend;
let router: RouterProc;
before(async () => {
  pub = await startOddBackend();
  internal = await startOddBackend();
  router = await startRouter(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
clientIp: { trustedProxies: [] }
regions:
  - { name: pub, location: { lat: 0, lon: 0 }, endpoints: [${pub.url}] }
  - { name: internal, location: { lat: 50, lon: 0 }, endpoints: [${internal.url}] }
health: { interval: 1m, timeout: 500ms }
writes: { regions: [internal, pub] }
routes:
  - { name: public, match: { host: public.example }, mode: read-local-write-global }
`);
  await ready(router);
});
after(async () => {
  await router.stop();
  await pub.stop();
  await internal.stop();
});

test('client-sent x-meridian-*, Forwarded and X-Real-IP are dropped; an untrusted X-Forwarded-For is replaced', async () => {
  const r = await request(router.port, {
    path: '/h',
    host: '127.0.0.1',
    headers: {
      host: 'public.example',
      'x-meridian-write-epoch': '99',
      'x-meridian-anything': 'forged',
      forwarded: 'for=6.6.6.6;proto=https',
      'x-real-ip': '6.6.6.6',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
    },
  });
  assert.equal(r.status, 200);
  const h = r.json.headers as Record<string, string>;
  assert.equal(h['x-meridian-write-epoch'], undefined);
  assert.equal(h['x-meridian-anything'], undefined);
  assert.equal(h.forwarded, undefined);
  assert.equal(h['x-real-ip'], undefined);
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
});

test('an absolute-form target is routed by its authority, and Host is set to it', async () => {
  const r = await rawSession(
    router.port,
    ['GET http://public.example/abs HTTP/1.1\r\nhost: internal.example\r\nconnection: close\r\n\r\n'],
    {
      waitMs: 5_000,
    },
  );
  assert.match(r.text, /^HTTP\/1\.1 200 /, r.text.slice(0, 200));
  const seen = pub.seen.find((s) => s.url === '/abs');
  assert.ok(seen, 'the public route served it');
  assert.equal(seen.headers.host, 'public.example');
});

test('Connection naming content-length gets 400 and the body is not silently dropped', async () => {
  const r = await rawSession(
    router.port,
    ['POST /cl HTTP/1.1\r\nhost: public.example\r\ncontent-length: 5\r\nconnection: content-length\r\n\r\nhello'],
    { waitMs: 5_000 },
  );
  assert.match(r.text, /^HTTP\/1\.1 400 /, r.text.slice(0, 200));
  assert.equal(
    pub.seen.some((s) => s.url === '/cl'),
    false,
  );
});

test('a chunked body whose Connection header names transfer-encoding or content-length gets 400, never forwarded', async () => {
  for (const field of ['transfer-encoding', 'content-length']) {
    const path = `/te-${field}`;
    const r = await rawSession(
      router.port,
      [
        `POST ${path} HTTP/1.1\r\nhost: public.example\r\ntransfer-encoding: chunked\r\nconnection: ${field}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      ],
      { waitMs: 5_000 },
    );
    assert.match(r.text, /^HTTP\/1\.1 400 /, `${field}: ${r.text.slice(0, 200)}`);
    assert.match(r.text, /"error":"bad_request"/, field);
    assert.equal(
      pub.seen.some((s) => s.url === path),
      false,
      `${field}: the request never reached the backend`,
    );
  }
});

test('an upgrade whose Connection header names a framing field gets 400, never forwarded', async () => {
  const upgrade = (path: string, connection: string, framing: string): string =>
    `GET ${path} HTTP/1.1\r\nhost: public.example\r\nconnection: ${connection}\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n` +
    `sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n${framing}\r\n`;
  const cases = [
    { path: '/ws-cl', connection: 'Upgrade, content-length', framing: 'content-length: 5\r\n', body: 'hello' },
    {
      path: '/ws-te',
      connection: 'Upgrade, transfer-encoding',
      framing: 'transfer-encoding: chunked\r\n',
      body: '5\r\nhello\r\n0\r\n\r\n',
    },
  ];
  for (const c of cases) {
    const r = await rawSession(router.port, [upgrade(c.path, c.connection, c.framing) + c.body], { waitMs: 5_000 });
    assert.match(r.text, /^HTTP\/1\.1 400 /, `${c.connection}: ${r.text.slice(0, 200)}`);
    assert.match(r.text, /"error":"bad_request"/, c.connection);
    assert.equal(r.closed, true, `${c.connection}: the connection was closed`);
    assert.equal(
      pub.seen.some((s) => s.url === c.path),
      false,
      `${c.connection}: the handshake never reached the backend`,
    );
  }
  // The same handshake without the framing field in Connection still upgrades.
  const ok = await rawSession(router.port, [upgrade('/ws-plain', 'Upgrade', '')], { waitMs: 1_000 });
  assert.match(ok.text, /^HTTP\/1\.1 101 /, ok.text.slice(0, 200));
});
