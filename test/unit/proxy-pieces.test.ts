// Pure pieces of the request path: the path join of the private http-proxy copy, the upstream
// header set, and the local answers built from the error catalogue.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { formatConfigError, loadConfigText } from '../../src/config/load.js';
import { ERRORS } from '../../src/errors.js';
import { answerRaw, refusalFor, upstreamFailureCode } from '../../src/proxy/answers.js';
import { upstreamHeaders } from '../../src/proxy/headers.js';
import { joinPath } from '../../src/proxy/http-proxy.js';
import { SharedGate, type Fenceable } from '../../src/proxy/shared-gate.js';
import type { Decision, Snapshot } from '../../src/types.js';

test('joinPath keeps the request target as it is, after the endpoint base path', () => {
  assert.equal(joinPath('', '/a//b?u=http://x//y'), '/a//b?u=http://x//y');
  assert.equal(joinPath('/', '//x'), '//x');
  assert.equal(joinPath('/base', '/a//b'), '/base/a//b');
  assert.equal(joinPath('/base/', '/a'), '/base/a');
  assert.equal(joinPath('/base', ''), '/base');
  assert.equal(joinPath('', ''), '/');
  assert.equal(joinPath('/base', 'rel'), '/base/rel');
});

const peer = {
  peer: '10.0.0.9',
  peerTrusted: false,
  country: 'DE',
  upgrade: false,
  authority: null,
  proto: 'http' as const,
  writeEpoch: null,
};

test('upstreamHeaders: hop-by-hop and Connection-listed fields go, X-Forwarded-* are set once, an untrusted chain is replaced', () => {
  const incoming = {
    host: 'shop.example',
    connection: 'keep-alive, x-secret',
    'keep-alive': 'timeout=5',
    'x-secret': 'drop me',
    expect: '100-continue',
    'transfer-encoding': 'chunked',
    'x-forwarded-for': '1.2.3.4',
    'x-forwarded-proto': 'https',
    'x-meridian-client-country': 'XX',
    accept: '*/*',
  };
  const out = upstreamHeaders(incoming, peer);
  assert.deepEqual(out, {
    host: 'shop.example',
    'transfer-encoding': 'chunked',
    'x-forwarded-for': '10.0.0.9',
    accept: '*/*',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'shop.example',
    'x-meridian-client-country': 'DE',
  });
  assert.equal(incoming['x-forwarded-for'], '1.2.3.4', 'the incoming object is left alone');
  // Computed once per request: a second attempt reuses `out`, so nothing is appended twice.
});

test('upstreamHeaders: a trusted proxy keeps its X-Forwarded-Proto/-Host; upgrades keep Connection and Upgrade', () => {
  const trusted = upstreamHeaders(
    { host: 'h', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'outer.example', 'x-forwarded-for': '1.2.3.4', 'x-real-ip': '1.2.3.4' },
    { ...peer, peerTrusted: true, country: null },
  );
  assert.deepEqual(trusted, {
    host: 'h',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'outer.example',
    'x-forwarded-for': '1.2.3.4, 10.0.0.9',
    'x-real-ip': '1.2.3.4',
  });
  const ws = upstreamHeaders({ host: 'h', connection: 'Upgrade', upgrade: 'websocket' }, { ...peer, upgrade: true });
  assert.equal(ws.connection, 'Upgrade');
  assert.equal(ws.upgrade, 'websocket');
  const noHost = upstreamHeaders({ 'x-forwarded-host': 'spoofed' }, peer);
  assert.equal(noHost['x-forwarded-host'], undefined, 'no Host: no X-Forwarded-Host, and never the client-sent one');
});

test("upstreamHeaders: the fleet's write epoch replaces any a client sent; without one, a client's is dropped", () => {
  const sent = { host: 'h', 'x-meridian-write-epoch': '999' };
  assert.equal(upstreamHeaders(sent, { ...peer, writeEpoch: '7' })['x-meridian-write-epoch'], '7');
  assert.equal(upstreamHeaders(sent, peer)['x-meridian-write-epoch'], undefined);
  assert.equal(upstreamHeaders(sent, { ...peer, upgrade: true, writeEpoch: '7' })['x-meridian-write-epoch'], '7');
});

function snapshot(): Snapshot {
  const r = loadConfigText(
    `regions:
  - { name: a, location: { lat: 0, lon: 0 }, endpoints: ['http://127.0.0.1:9001'] }
health: { interval: 2500ms }
routes:
  - { name: r, match: { pathPrefix: / }, mode: active-active }
`,
    '/test/answers.yaml',
  );
  if (!r.ok) throw new Error(r.errors.map(formatConfigError).join('\n'));
  return r.snapshot;
}

function refused(over: Partial<Decision>): Decision {
  return {
    route: null,
    kind: 'read',
    selector: 'nearest',
    region: null,
    candidates: [],
    preference: [],
    reason: 'all-down',
    residencyRule: null,
    status: 503,
    detail: 'why',
    ...over,
  };
}

test("the fleet gate's open primary requests: counted per region from opened to closed, stopped on a fence, nothing kept once closed", () => {
  const counts = new Map<string, number>();
  const hooks = {
    fenceClock: { now: () => 0 },
    beginPrimary: (r: string) => counts.set(r, (counts.get(r) ?? 0) + 1),
    endPrimary: (r: string) => counts.set(r, (counts.get(r) ?? 0) - 1),
  };
  const gate = new SharedGate({ snapshot: () => assert.fail('not read') }, { now: () => 0 }, hooks);
  const stopped: string[] = [];
  const exchange = (name: string): Fenceable => ({ stopFenced: () => stopped.push(name) });
  const t = { region: 'us-east', epoch: '3' };
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => gate.opened(exchange(n), n === 'd' ? { region: 'eu-west', epoch: '3' } : t));
  assert.equal(gate.openCount(), 4);
  assert.deepEqual(Object.fromEntries(counts), { 'us-east': 3, 'eu-west': 1 });
  gate.closed(b!); // from the middle
  gate.closed(b!); // twice: counted down once
  gate.closed(d!); // the newest (the list's head)
  assert.equal(gate.openCount(), 2);
  assert.deepEqual(Object.fromEntries(counts), { 'us-east': 2, 'eu-west': 0 });
  for (const w of [b!, d!]) assert.deepEqual([w.x, w.prev, w.next], [null, null, null], 'a closed entry keeps no pointer');
  gate.abortPrimary();
  assert.deepEqual(stopped.sort(), ['a', 'c'], 'only the open ones are stopped');
  assert.equal(gate.openCount(), 2, 'stopped requests stay counted until their responses close');
  gate.closed(a!);
  gate.closed(c!); // the oldest (the list's tail)
  assert.equal(gate.openCount(), 0);
  assert.deepEqual(Object.fromEntries(counts), { 'us-east': 0, 'eu-west': 0 });
  gate.abortPrimary();
  assert.equal(stopped.length, 2);
});

test('the fleet gate narrows an admitted write to the write region, once per remembered decision', () => {
  const hooks = { fenceClock: { now: () => 0 }, beginPrimary: () => undefined, endPrimary: () => undefined };
  const gate = new SharedGate({ snapshot: () => assert.fail('not read') }, { now: () => 0 }, hooks);
  const shared = Object.freeze({
    version: 1,
    drains: [],
    dials: {},
    manualWriteRegion: null,
    writeRegion: { region: 'us-east', epoch: 4, state: 'active' as const },
    writable: true,
    writeRefusal: null,
    writableUntil: null,
    readYourWritesKey: null,
  });
  const up = { isAvailable: () => true, weight: () => 1, lagMs: () => null, writeRegion: 'us-east', availableEndpoints: () => [] };
  const write = Object.freeze(
    refused({
      kind: 'write',
      selector: 'primary',
      region: 'us-east',
      candidates: ['us-east', 'eu-west'],
      reason: 'write-primary',
      status: null,
    }),
  );
  const admitted = gate.admit(write, shared, up);
  assert.deepEqual(admitted.candidates, ['us-east'], 'never a failover candidate');
  assert.deepEqual({ ...admitted, candidates: write.candidates }, write, 'nothing else changes');
  assert.equal(gate.admit(write, shared, up), admitted, 'the same decision again: the same narrowed one');
  const other = Object.freeze({ ...write, detail: 'another client' });
  assert.equal(gate.admit(other, shared, up).detail, 'another client');
  assert.deepEqual(gate.ticket(admitted, shared), { region: 'us-east', epoch: '4' });
});

test('refusalFor: one answer per kind of empty decision', () => {
  assert.deepEqual(refusalFor(refused({ status: 404, reason: 'no-route' })), { code: 'no_route', message: 'why' });
  assert.deepEqual(refusalFor(refused({ reason: 'residency', residencyRule: 'gdpr' })), {
    code: 'residency',
    message: 'why',
    extra: { rule: 'gdpr' },
  });
  assert.deepEqual(refusalFor(refused({ selector: 'primary' })), { code: 'no_write_region', message: 'why', extra: undefined });
  assert.deepEqual(refusalFor(refused({})), { code: 'all_down', message: 'why', extra: undefined });
});

test('upstreamFailureCode: every counted kind has its catalogue answer', () => {
  assert.deepEqual(
    (['connect', 'reset', 'timeout', 'bad_response', 'status'] as const).map((k) => [
      upstreamFailureCode(k),
      ERRORS[upstreamFailureCode(k)].status,
    ]),
    [
      ['upstream_connect_failed', 502],
      ['upstream_reset', 502],
      ['upstream_timeout', 504],
      ['upstream_bad_response', 502],
      ['upstream_bad_response', 502],
    ],
  );
});

async function rawAnswer(code: Parameters<typeof answerRaw>[1], snap: Snapshot | null): Promise<string> {
  const socket = new PassThrough();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => socket.on('end', resolve));
  answerRaw(socket, code, snap);
  await ended;
  socket.destroy();
  return Buffer.concat(chunks).toString();
}

test('answerRaw writes a complete HTTP answer from the catalogue, with Retry-After on a 503', async () => {
  const text = await rawAnswer({ code: 'residency', extra: { rule: 'gdpr' } }, snapshot());
  const [head, body] = text.split('\r\n\r\n') as [string, string];
  assert.match(head, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(head, /\r\nretry-after: 3\r\n/, 'one probe interval, rounded up');
  assert.match(head, /\r\nconnection: close(\r\n|$)/);
  assert.match(head, new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(body)}\\r\\n`));
  assert.deepEqual(JSON.parse(body), { error: 'residency', message: ERRORS.residency.message, rule: 'gdpr' });
  const connect = await rawAnswer({ code: 'connect_not_supported' }, null);
  assert.match(connect, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
  assert.doesNotMatch(connect, /retry-after/i);
});
