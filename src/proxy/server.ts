import http, { type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LimitsConfig } from '../types.js';
import { answerRaw } from './answers.js';
import type { Recorder } from './recorder.js';
import { Certificates } from './tls.js';
import type { Router } from './router.js';

/** How often Node checks open connections against limits.headersTimeout (its own default is 30 s). */
const CONNECTION_CHECK_MS = 1_000;

/**
 * The public listener around a Router: requests, WebSocket upgrades, and answers for what Node
 * could not parse. Built by the wiring (wiring.ts), for the single process and every cluster worker.
 * `closing()` true adds `connection: close` so keep-alive clients move on during shutdown.
 * The limits are Node's own server settings (applied again on every reload by `applyLimits`) plus a
 * count of open connections per peer address.
 */
export function createPublicServer(router: Router, recorder: Recorder, closing: () => boolean): http.Server {
  const snap = router.runtime.snap;
  const limits = snap.limits;
  const certs = snap.tls ? new Certificates(snap.tls) : null;
  const options: http.ServerOptions = {
    keepAliveTimeout: limits.idleTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: CONNECTION_CHECK_MS,
  };
  const onRequest: http.RequestListener = (req, res) => {
    if (closing()) res.setHeader('connection', 'close');
    router.handle(req, res);
  };
  // An https.Server is an http.Server with TLS in front: the same events, settings and requests.
  const server = certs
    ? (https.createServer({ ...options, ...certs.serverOptions() }, onRequest) as unknown as http.Server)
    : http.createServer(options, onRequest);
  router.onSwap = (rt) => {
    applyLimits(server, rt.snap.limits);
    if (!certs || !rt.snap.tls) return;
    try {
      certs.reload(server as unknown as https.Server, rt.snap.tls);
    } catch (err) {
      recorder.tlsReloadFailed(err as Error); // the certificates in use stay
    }
  };
  applyLimits(server, limits);
  server.on('drop', () => recorder.limitHit('maxConnections'));
  const perIp = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = (perIp.get(ip) ?? 0) + 1;
    perIp.set(ip, n);
    socket.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
    if (n > router.runtime.snap.limits.maxConnectionsPerIp) {
      recorder.limitHit('maxConnectionsPerIp');
      socket.destroy();
    }
  });
  server.on('upgrade', (req, socket, head) => router.handleUpgrade(req, socket, head));
  // CONNECT (forward-proxy tunnelling) has no place in a reverse proxy: say so instead of hanging up.
  server.on('connect', (_req, socket) => {
    socket.on('error', () => socket.destroy());
    answerRaw(socket, { code: 'connect_not_supported' });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => onClientError(err, socket, recorder));
  return server;
}

/** The `limits` that are Node server settings; a reload applies them (maxHeaderBytes: to new connections). */
function applyLimits(server: http.Server, limits: LimitsConfig): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  // The whole-request bound stays off: a long upload that keeps moving is fine; a stalled one is
  // cut by limits.bodyTimeout.
  server.requestTimeout = 0;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  // Node reads it for each new connection (not a documented setter, hence the cast).
  (server as { maxHeaderSize?: number }).maxHeaderSize = limits.maxHeaderBytes;
}

/**
 * A request Node could not parse, or whose head did not arrive in time: the status Node's default
 * would send (431 / 408 / 400) with an error body, and never a crash. When a response is already
 * under way on the connection (a pipelined request broke while an earlier one is answered), no
 * second status line goes into it: that response finishes, then the connection closes.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex, recorder: Recorder): void {
  if (err.code === 'HPE_HEADER_OVERFLOW') recorder.limitHit('maxHeaderBytes');
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') recorder.limitHit('headersTimeout');
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (pending && !pending.writableFinished) {
    const close = (): void => {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    pending.once('finish', close);
    pending.once('close', close);
    return;
  }
  const code =
    err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
  answerRaw(socket, { code, message: code === 'bad_request' ? 'the request could not be parsed as HTTP' : undefined });
}

/**
 * Stop accepting, let in-flight requests finish for `graceMs`, then cut what is left (including
 * upgraded sockets, which are not among the server's HTTP connections) and free the router.
 */
export async function closePublicServer(server: http.Server, router: Router, graceMs: number): Promise<void> {
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    server.closeAllConnections();
    router.closeTunnels();
  }, graceMs);
  await drained;
  clearTimeout(timer);
  router.close();
}

export function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
