// Shared pieces of the edge-hardening tests (test/hardening/*.test.ts): a backend that misbehaves
// on purpose at the HTTP framing level, raw-socket clients that send at their own pace, and the
// router's open descriptors read from /proc.
import { readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { startRouter, waitReady, type RouterProc } from './router-process.js';
import { configYaml, startWorld, type World } from './world.js';

export interface OddBackend {
  readonly url: string;
  /** Request heads seen (method, url, headers), in arrival order. */
  readonly seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

/**
 * A backend for framing faults:
 * - `/health`: 200;
 * - `/plain101`: answers `101 Switching Protocols` to a request that did not ask to upgrade;
 * - `/drip`: sends its headers and a first chunk at once, the rest after 400 ms;
 * - an upgrade to `/ws-reject`: a 403 with a chunked body, then closes;
 * - an upgrade to anything else: 101 and an echo tunnel (a FIN from the client is answered with
 *   `bye` and a FIN);
 * - anything else: 200 with the request's headers as JSON.
 */
export async function startOddBackend(): Promise<OddBackend> {
  const seen: OddBackend['seen'] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    if (req.url === '/health') {
      res.end('ok');
    } else if (req.url === '/plain101') {
      req.socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    } else if (req.url === '/drip') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      setTimeout(() => res.end('second'), 400);
    } else {
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ headers: req.headers, url: req.url }));
      });
    }
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    socket.on('error', () => socket.destroy());
    if (req.url === '/ws-reject') {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nnope!\r\n8\r\n go away\r\n0\r\n\r\n',
      );
      return;
    }
    socket.allowHalfOpen = true;
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
    socket.on('data', (c: Buffer) => socket.write(c));
    socket.on('end', () => socket.end('bye'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RawResult {
  /** Everything received until the connection closed (or the wait ran out). */
  readonly text: string;
  /** The router closed the connection (FIN or reset) within the wait. */
  readonly closed: boolean;
}

/**
 * Open a connection and write `parts` in order, waiting `gapMs` between them; then collect what
 * comes back until the router closes the connection or `waitMs` pass. Never throws.
 */
export function rawSession(
  port: number,
  parts: readonly (string | Buffer)[],
  opts: { gapMs?: number; waitMs?: number } = {},
): Promise<RawResult> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 5_000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    let i = 0;
    const next = (): void => {
      if (done || i >= parts.length) return;
      if (!s.destroyed) s.write(parts[i++]!);
      if (i < parts.length) setTimeout(next, opts.gapMs ?? 0);
    };
    s.once('connect', next);
  });
}

/** How many times `needle` occurs in `hay`. */
export function count(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Open file descriptors of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface Fixture {
  readonly world: World;
  readonly router: RouterProc;
}

/**
 * Backends for `regions` and the router started from `configYaml(world, extra)` before this
 * file's tests, both stopped after them; ready (every endpoint probed) before the first test.
 */
export function worldAndRouter(regions: readonly string[], extra: string, opts: { logLevel?: string } = {}): Fixture {
  let world: World | null = null;
  let router: RouterProc | null = null;
  before(async () => {
    world = await startWorld(regions);
    router = await startRouter(configYaml(world, extra), opts);
    await waitReady(router);
  });
  after(async () => {
    await router?.stop();
    await world?.stop();
  });
  return {
    get world() {
      return world!;
    },
    get router() {
      return router!;
    },
  };
}
