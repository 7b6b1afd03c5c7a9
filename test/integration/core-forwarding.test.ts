// Issue 2 "Forwarding": what reaches the backend (path, query, body, X-Forwarded-*, client
// country), what the client gets when the upstream fails (502/504 JSON), and that client aborts,
// absolute-form targets and broken backend headers are handled. Real router process, real sockets.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { clientFor } from '../helpers/clients.js';
import { asClient, coreConfig, metric, rawRequest } from '../helpers/core.js';
import { request, startRouter, waitFor, type RouterProc, waitReady } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

let world: World;
let router: RouterProc;
/** sha256 of each request body seen by any backend, by URL. */
const bodyHashes = new Map<string, { hash: string; bytes: number; region: string }>();

before(async () => {
  world = await startWorld();
  for (const [region, list] of world.backends) {
    for (const b of list) {
      // A second 'request' listener sees the same body chunks as the backend's own handler.
      b.server.on('request', (req: http.IncomingMessage) => {
        if (!req.url?.startsWith('/upload')) return;
        const h = createHash('sha256');
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          bytes += c.length;
        });
        req.on('end', () => bodyHashes.set(req.url!, { hash: h.digest('hex'), bytes, region }));
      });
    }
  }
  router = await startRouter(
    coreConfig(world, {
      extra: `passive: { consecutiveFailures: 100 }
timeouts: { connect: 1s, request: 400ms }
`,
    }),
  );
  await waitReady(router);
});

after(async () => {
  await router?.stop();
  await world?.stop();
});

function lastRequest(region: string, url: string): { headers: http.IncomingHttpHeaders; bodyBytes: number } | undefined {
  return world
    .b(region)
    .requests.filter((r) => r.url === url)
    .at(-1);
}

describe('what the backend receives', () => {
  test('path and query are forwarded unchanged', async () => {
    for (const path of ['/a//b?u=http://x&y=1', '/p%20q/%2F..%2F?x=%41&x=&&z', '/trailing/?', '/x;matrix=1']) {
      const r = await asClient(router.port, clientFor('DE').ip, { path });
      assert.equal(r.status, 200, path);
      assert.equal(r.json.region, 'eu-west');
      assert.equal(r.json.url, path, 'the backend saw the exact path and query');
    }
  });

  test('header fields arrive as sent: repeated fields, bodies with a length, and a Host for a request without one', async () => {
    const ip = clientFor('DE').ip;
    const eu = world.b('eu-west');
    const text = await rawRequest(
      router.port,
      `POST /hdr/post HTTP/1.1\r\nHost: shop.example\r\nX-Dup: a\r\nX-Dup: b\r\nCookie: c=1\r\nCookie: d=2\r\n` +
        `Content-Type: text/plain\r\nContent-Length: 5\r\nX-Forwarded-For: ${ip}\r\nConnection: close\r\n\r\nhello`,
    );
    assert.match(text, /^HTTP\/1\.1 200 /, text);
    const post = lastRequest('eu-west', '/hdr/post')!;
    assert.equal(post.headers['x-dup'], 'a, b');
    assert.equal(post.headers.cookie, 'c=1; d=2');
    assert.equal(post.headers.host, 'shop.example');
    assert.equal(post.headers['content-length'], '5');
    assert.equal(post.bodyBytes, 5);
    // HTTP/1.0 without Host: the upstream request gets the endpoint's, as Node would add it.
    const old = await rawRequest(router.port, `GET /hdr/old HTTP/1.0\r\nX-Forwarded-For: ${ip}\r\n\r\n`);
    assert.match(old, /^HTTP\/1\.[01] 200 /, old);
    assert.equal(lastRequest('eu-west', '/hdr/old')!.headers.host, `127.0.0.1:${eu.port}`);
  });

  test('X-Forwarded-For is the client chain plus this hop, once; -Proto and -Host are set', async () => {
    const de = clientFor('DE').ip;
    const r = await asClient(router.port, de, { path: '/xff', headers: { host: 'shop.example:8443' } });
    assert.equal(r.status, 200);
    const seen = lastRequest('eu-west', '/xff')!;
    assert.equal(seen.headers['x-forwarded-for'], `${de}, 127.0.0.1`);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'shop.example:8443');
    assert.equal(seen.headers.host, 'shop.example:8443', 'the Host header is passed through');

    const direct = await request(router.port, { path: '/xff-direct' });
    assert.equal(direct.status, 200);
    assert.equal(direct.json.forwardedFor, '127.0.0.1', 'a direct client gets just its own address');
  });

  test('X-Forwarded-For is set once even when the request is retried on another region after a 503', async () => {
    const de = clientFor('DE').ip;
    world.b('eu-west').trafficMode = 'fail';
    try {
      const r = await asClient(router.port, de, { path: '/retry-xff', headers: { 'x-request-id': 'retry-xff-1' } });
      assert.equal(r.status, 200);
      assert.equal(r.json.region, 'us-east', 'served by the next nearest region');
      assert.equal(r.headers['x-meridian-region'], 'us-east');
      assert.equal(r.headers['x-meridian-reason'], 'failover');
      assert.equal(r.json.forwardedFor, `${de}, 127.0.0.1`);
      const first = lastRequest('eu-west', '/retry-xff');
      assert.ok(first, 'the first attempt reached eu-west');
      assert.equal(first.headers['x-forwarded-for'], `${de}, 127.0.0.1`);
      assert.equal(lastRequest('us-east', '/retry-xff')!.headers['x-forwarded-for'], `${de}, 127.0.0.1`);
      const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/retry-xff');
      assert.equal(line.attempts, 2);
      assert.equal(line.status, 200);
      assert.equal(line.region, 'us-east');
    } finally {
      world.b('eu-west').trafficMode = 'ok';
    }
  });

  test('x-meridian-client-country comes from GeoIP; a client-sent value is never trusted', async () => {
    const forged = await asClient(router.port, clientFor('DE').ip, { path: '/cc1', headers: { 'x-meridian-client-country': 'US' } });
    assert.equal(forged.json.clientCountry, 'DE');
    assert.equal(lastRequest('eu-west', '/cc1')!.headers['x-meridian-client-country'], 'DE');
    const unknown = await request(router.port, { path: '/cc2', headers: { 'x-meridian-client-country': 'US' } });
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json.clientCountry, null, 'an unlocated client has no country header at all');
  });

  for (const framing of ['content-length', 'chunked'] as const) {
    test(`a 1 MB request body (${framing}) arrives intact`, async () => {
      const body = randomBytes(1024 * 1024);
      const url = `/upload/${framing}`;
      const r = await new Promise<{ status: number; json: any }>((resolve, reject) => {
        const req = http.request(
          {
            port: router.port,
            host: '127.0.0.1',
            method: 'POST',
            path: url,
            agent: false,
            headers: {
              'x-forwarded-for': clientFor('JP').ip,
              'content-type': 'application/octet-stream',
              ...(framing === 'content-length' ? { 'content-length': String(body.length) } : {}),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        // Several writes so the body really streams.
        for (let i = 0; i < body.length; i += 100_000) req.write(body.subarray(i, i + 100_000));
        req.end();
      });
      assert.equal(r.status, 200);
      assert.equal(r.json.region, 'ap-southeast');
      assert.equal(r.json.bodyBytes, body.length);
      const seen = await waitFor(() => bodyHashes.get(url), 5000, 'body hash');
      assert.equal(seen.bytes, body.length);
      assert.equal(seen.hash, createHash('sha256').update(body).digest('hex'));
      assert.equal(seen.region, 'ap-southeast');
    });
  }

  test('a small chunked body is forwarded intact', async () => {
    const r = await asClient(router.port, clientFor('JP').ip, { method: 'PUT', path: '/upload/small', body: 'hello, world' });
    assert.equal(r.status, 200);
    assert.equal(r.json.bodyBytes, 12);
    const seen = await waitFor(() => bodyHashes.get('/upload/small'), 5000, 'body hash');
    assert.equal(seen.hash, createHash('sha256').update('hello, world').digest('hex'));
  });

  test('an absolute-form request target never picks the upstream: the chosen region gets the path', async () => {
    const text = await rawRequest(
      router.port,
      `GET http://evil.example/abs?q=1 HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-For: ${clientFor('JP').ip}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 200 /);
    const json = /\{[^\r\n]*\}/.exec(text.slice(text.indexOf('\r\n\r\n')));
    assert.ok(json, text);
    const body = JSON.parse(json[0]) as { region: string; url: string };
    assert.equal(body.region, 'ap-southeast');
    assert.equal(body.url, '/abs?q=1');
    assert.ok(lastRequest('ap-southeast', '/abs?q=1'));
    // A target naming a real, reachable server (the us-east backend) still goes to the chosen region.
    const us = world.b('us-east');
    const text2 = await rawRequest(
      router.port,
      `GET http://127.0.0.1:${us.port}/abs2 HTTP/1.1\r\nHost: 127.0.0.1:${us.port}\r\nX-Forwarded-For: ${clientFor('JP').ip}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text2, /^HTTP\/1\.1 200 /);
    assert.ok(lastRequest('ap-southeast', '/abs2'), 'ap-southeast served it');
    assert.ok(!us.requests.some((x) => x.url.includes('abs2')), 'the named server was not contacted');
  });
});

describe('connections and logs', () => {
  test('upstream connections are kept alive and reused', async () => {
    const backend = world.b('ap-southeast');
    let opened = 0;
    const onConn = (): void => {
      opened++;
    };
    backend.server.on('connection', onConn);
    try {
      for (let i = 0; i < 20; i++) assert.equal((await asClient(router.port, clientFor('SG').ip, { path: `/ka/${i}` })).status, 200);
      assert.ok(opened <= 2, `20 sequential requests opened ${opened} upstream connections`);
    } finally {
      backend.server.off('connection', onConn);
    }
  });

  test('one access log line per request with method, path, status, region, reason, attempts, times, country', async () => {
    await asClient(router.port, clientFor('FR').ip, { method: 'PUT', path: '/logged?q=1', body: 'x' });
    const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/logged');
    assert.equal(line.method, 'PUT');
    assert.equal(line.status, 200);
    assert.equal(line.region, 'eu-west');
    assert.equal(line.reason, 'nearest');
    assert.equal(line.route, 'default');
    assert.equal(line.attempts, 1);
    assert.equal(line.clientCountry, 'FR');
    assert.equal(typeof line.upstreamMs, 'number');
    assert.equal(typeof line.totalMs, 'number');
    assert.ok((line.totalMs as number) >= (line.upstreamMs as number));
    assert.equal(router.logs.filter((l) => l.msg === 'request' && l.path === '/logged').length, 1);
  });
});

describe('upstream failures', () => {
  test('no response headers within timeouts.request → 504 with a JSON body', async () => {
    const r = await asClient(router.port, clientFor('DE').ip, { path: '/__hang' });
    assert.equal(r.status, 504);
    assert.equal(r.json.error, 'upstream_timeout');
    assert.equal(typeof r.json.message, 'string');
    assert.match(String(r.headers['content-type']), /application\/json/);
    const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/__hang');
    assert.equal(line.status, 504);
    assert.equal(line.error, 'upstream_timeout');
    const m = await request(router.adminPort, { path: '/metrics' });
    assert.ok((metric(m.text, 'meridian_upstream_errors_total', { region: 'eu-west', kind: 'timeout' }) ?? 0) >= 1);
  });

  test('an invalid backend header gives 502 and the router keeps serving', async () => {
    const r = await asClient(router.port, clientFor('DE').ip, { path: '/__badheader' });
    assert.equal(r.status, 502);
    assert.equal(r.json.error, 'upstream_bad_response');
    assert.equal(typeof r.json.message, 'string');
    assert.equal(router.proc.exitCode, null, 'still running');
    const ok = await asClient(router.port, clientFor('DE').ip, { path: '/after-badheader' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.region, 'eu-west');
  });

  test('a client abort destroys the upstream request and is logged as 499', async () => {
    const backend = world.b('eu-west');
    let upstream: net.Socket | null = null;
    const onReq = (req: http.IncomingMessage): void => {
      if (req.url === '/__hang/abort') upstream = req.socket;
    };
    backend.server.on('request', onReq);
    try {
      const client = net.connect(router.port, '127.0.0.1');
      client.on('error', () => undefined);
      client.write(`GET /__hang/abort HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${clientFor('DE').ip}\r\n\r\n`);
      const sock = await waitFor(() => upstream, 5000, 'the backend to get the request');
      let closed = false;
      sock.once('close', () => (closed = true));
      client.destroy();
      await waitFor(() => closed, 5000, 'the upstream socket to close');
      const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/__hang/abort');
      assert.equal(line.status, 499);
      assert.equal(line.aborted, true);
      assert.equal(line.attempts, 1);
      // Not retried anywhere once the client was gone.
      for (const region of ['us-east', 'ap-southeast']) assert.ok(!lastRequest(region, '/__hang/abort'), region);
    } finally {
      backend.server.off('request', onReq);
    }
  });
});

describe('connect failures', () => {
  let closedPorts: number[];
  let r2: RouterProc;
  before(async () => {
    closedPorts = [];
    for (let i = 0; i < 2; i++) {
      const s = net.createServer();
      await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
      closedPorts.push((s.address() as net.AddressInfo).port);
      await new Promise<void>((res) => s.close(() => res()));
    }
    const y = `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
regions:
  - name: us-east
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [http://127.0.0.1:${closedPorts[0]}]
  - name: eu-west
    location: { lat: 53.35, lon: -6.26 }
    endpoints: [http://127.0.0.1:${closedPorts[1]}]
health: { interval: 200ms, timeout: 150ms }
allDown: try
`;
    r2 = await startRouter(y);
    await waitReady(r2);
  });
  after(async () => {
    await r2?.stop();
  });

  test('every region refusing connections → 502 with a JSON body, after trying each', async () => {
    const r = await request(r2.port, { path: '/refused' });
    assert.equal(r.status, 502);
    assert.equal(r.json.error, 'upstream_connect_failed');
    assert.equal(typeof r.json.message, 'string');
    assert.match(String(r.headers['content-type']), /application\/json/);
    const line = await r2.waitForLog((l) => l.msg === 'request' && l.path === '/refused');
    assert.equal(line.status, 502);
    assert.equal(line.attempts, 2, 'both regions were tried');
    const m = await request(r2.adminPort, { path: '/metrics' });
    assert.ok((metric(m.text, 'meridian_upstream_errors_total', { region: 'us-east', kind: 'connect' }) ?? 0) >= 1);
    assert.ok((metric(m.text, 'meridian_upstream_errors_total', { region: 'eu-west', kind: 'connect' }) ?? 0) >= 1);
  });

  test('a WebSocket upgrade to a refusing backend gets a 502 JSON answer', async () => {
    const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${r2.port}/ws`);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', reject);
    });
    assert.equal(status.code, 502);
    assert.equal(JSON.parse(status.body).error, 'upstream_connect_failed');
    assert.equal(r2.proc.exitCode, null);
  });

  test('a POST that never reached a backend also gets 502', async () => {
    const r = await request(r2.port, { method: 'POST', path: '/refused-post', body: '{"x":1}' });
    assert.equal(r.status, 502);
    assert.equal(r.json.error, 'upstream_connect_failed');
  });
});

describe('no matching route', () => {
  let w3: World;
  let r3: RouterProc;
  before(async () => {
    w3 = await startWorld(['us-east']);
    r3 = await startRouter(coreConfig(w3, { extra: 'routes:\n  - name: api\n    match: { pathPrefix: /api }\n    mode: active-active\n' }));
    await waitReady(r3);
  });
  after(async () => {
    await r3?.stop();
    await w3?.stop();
  });

  test('a path no route matches is a 404 JSON answer and never reaches a backend', async () => {
    const r = await request(r3.port, { path: '/elsewhere' });
    assert.equal(r.status, 404);
    assert.equal(r.json.error, 'no_route');
    assert.equal(typeof r.json.message, 'string');
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.equal(r.headers['x-meridian-reason'], 'no-route');
    assert.ok(!w3.b('us-east').requests.some((x) => x.url === '/elsewhere'));
    const ok = await request(r3.port, { path: '/api/x' });
    assert.equal(ok.status, 200);
  });
});
