// Property-based fuzzing of the request path through a real socket: random request lines, header
// blocks and bodies (well-formed, broken and hostile) are written to the real router, started
// from a config file with short limits. Whatever arrives, the router answers with an HTTP status
// line or closes the connection within the configured timeouts — it never crashes and never
// leaves a connection hanging — and afterwards it still serves a plain request.
// `npm test` runs a bounded number of cases; `npm run fuzz` runs many more (FUZZ_RUNS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { rawSession, worldAndRouter } from '../helpers/edge.js';
import {} from '../helpers/failover.js';
import { request } from '../helpers/router-process.js';

const RUNS = Math.max(1, Math.round(Number(process.env['FUZZ_RUNS'] ?? 200) / 10));
// The longest a session may take: headersTimeout / bodyTimeout (1 s) plus the connection check
// interval (1 s) plus slack for a loaded machine. Beyond it the connection counts as a hang.
const HANG_MS = 6_000;

const fx = worldAndRouter(
  ['us-east', 'eu-west'],
  `health: { interval: 1m, timeout: 500ms }
limits: { headersTimeout: 1s, bodyTimeout: 1s, idleTimeout: 200ms, maxHeaderBytes: 4096, maxBodyBytes: 4096 }
timeouts: { request: 2s }
routes:
  - { name: api, match: { pathPrefix: /api/ }, mode: read-local-write-global }
  - { name: rest, mode: home }
writes: { regions: [us-east, eu-west] }
`,
  { logLevel: 'info' },
);

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'get', 'G\x00T', ''];
const TARGETS = [
  '/',
  '/api/x?y=1',
  '*',
  'http://public.example/abs',
  '//double',
  '/%00',
  '/\u00ff',
  '/__status/503',
  '/__status/500',
  '/__slow/100',
  'example.com:443',
  '/' + 'a'.repeat(3000),
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'http/1.1', ''];
const HEADER_NAMES = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'expect',
  'x-forwarded-for',
  'forwarded',
  'x-real-ip',
  'x-user-id',
  'x-home-region',
  'cookie',
  'x-meridian-region',
  'te',
  'trailer',
];
const HEADER_VALUES = [
  'x',
  '0',
  '5',
  '-1',
  '99999999999999999999',
  'chunked',
  'gzip, chunked',
  'close',
  'keep-alive',
  'content-length',
  'upgrade',
  'websocket',
  '100-continue',
  '1.2.3.4',
  '::1',
  'not an ip',
  'uid=a; home_region=eu-west',
  'eu-west',
  '\t',
];

const headerLine = fc.oneof(
  fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.constantFrom(...HEADER_VALUES)).map(([n, v]) => `${n}: ${v}`),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })).map(([n, v]) => `${n}: ${v}`),
  fc.string({ maxLength: 60 }),
);

const body = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', '0\r\n\r\n', 'x'.repeat(5000)),
);

const requestText = fc
  .tuple(fc.constantFrom(...METHODS), fc.oneof(fc.constantFrom(...TARGETS), fc.string({ maxLength: 30 })), fc.constantFrom(...VERSIONS))
  .chain(([method, target, version]) =>
    fc.tuple(fc.constant(`${method} ${target} ${version}`), fc.array(headerLine, { maxLength: 8 }), body, fc.boolean()),
  )
  .map(([line, headers, b, endHead]) => `${line}\r\n${headers.join('\r\n')}${endHead ? '\r\n\r\n' : '\r\n'}${b}`);

test('random request lines, headers and bodies: an answer or a close, never a crash or a hang', async () => {
  await fc.assert(
    fc.asyncProperty(requestText, async (text) => {
      const r = await rawSession(fx.router.port, [text], { waitMs: HANG_MS });
      assert.ok(
        r.closed || /^HTTP\/1\.[01] \d{3} /.test(r.text),
        `no answer and no close within ${HANG_MS} ms for ${JSON.stringify(text.slice(0, 300))}`,
      );
      if (r.text !== '') assert.match(r.text, /^HTTP\/1\.[01] \d{3} /, `not an HTTP answer for ${JSON.stringify(text.slice(0, 300))}`);
      assert.equal(fx.router.proc.exitCode, null, 'the router is still running');
    }),
    { numRuns: RUNS },
  );
  const r = await request(fx.router.port, { path: '/still-serving' });
  assert.equal(r.status, 200);
});
