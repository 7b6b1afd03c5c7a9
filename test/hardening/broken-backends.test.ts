// Backends that break HTTP framing: a 101 nobody asked for, a rejected WebSocket handshake with a
// chunked body, and a client whose next pipelined request is garbage while a response streams.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { count, rawSession, startOddBackend, type OddBackend } from '../helpers/edge.js';
import { ready } from '../helpers/failover.js';
import { startRouter, type RouterProc } from '../helpers/router-process.js';

let backend: OddBackend;
let router: RouterProc;
before(async () => {
  backend = await startOddBackend();
  router = await startRouter(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
regions:
  - { name: one, location: { lat: 0, lon: 0 }, endpoints: [${backend.url}] }
health: { interval: 1m, timeout: 500ms }
timeouts: { request: 3s }
`);
  await ready(router);
});
after(async () => {
  await router.stop();
  await backend.stop();
});

test('a 101 to a plain GET becomes a 502, not a hang', async () => {
  const r = await rawSession(router.port, ['GET /plain101 HTTP/1.1\r\nhost: x\r\n\r\n'], { waitMs: 6_000 });
  assert.match(r.text, /^HTTP\/1\.1 502 /, `answered: ${JSON.stringify(r.text.slice(0, 120))}`);
  assert.match(r.text, /"error":"upstream_bad_response"/);
});

test('a rejected upgrade reaches the client intact, body included, and nothing after it', async () => {
  const r = await rawSession(
    router.port,
    [
      'GET /ws-reject HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    ],
    { waitMs: 6_000 },
  );
  assert.match(r.text, /^HTTP\/1\.1 403 /, `answered: ${JSON.stringify(r.text.slice(0, 200))}`);
  assert.equal(count(r.text, 'HTTP/1.1 '), 1, `one status line: ${JSON.stringify(r.text)}`);
  const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
  const chunked = /\r\ntransfer-encoding: *chunked/i.test(r.text.slice(0, r.text.indexOf('\r\n\r\n')));
  assert.equal(chunked ? dechunk(body) : body, 'nope! go away', `the body as framed: ${JSON.stringify(r.text)}`);
  assert.equal(r.closed, true, 'the connection is closed after the rejected handshake');
});

test('a parse error while a response is streaming never writes a second status line into it', async () => {
  const r = await rawSession(router.port, ['GET /drip HTTP/1.1\r\nhost: x\r\n\r\n', 'NOT HTTP AT ALL\x00\r\n\r\n'], {
    gapMs: 200,
    waitMs: 6_000,
  });
  assert.match(r.text, /^HTTP\/1\.1 200 /, `answered: ${JSON.stringify(r.text)}`);
  assert.equal(count(r.text, 'HTTP/1.1 '), 1, `one status line: ${JSON.stringify(r.text)}`);
  assert.equal(r.closed, true);
});

/** A chunked body decoded strictly (sizes, CRLFs, the last chunk), or null when it is not valid chunked framing. */
function dechunk(body: string): string | null {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', i);
    if (eol < 0) return null;
    const size = Number.parseInt(body.slice(i, eol), 16);
    if (!/^[0-9a-f]+$/i.test(body.slice(i, eol)) || Number.isNaN(size)) return null;
    i = eol + 2;
    if (size === 0) return body.slice(i) === '\r\n' ? out : null;
    if (body.slice(i + size, i + size + 2) !== '\r\n') return null;
    out += body.slice(i, i + size);
    i += size + 2;
  }
}
