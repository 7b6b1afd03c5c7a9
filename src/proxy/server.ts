import http from 'node:http';
import { answerRaw } from './answers.js';
import type { Router } from './router.js';

/**
 * The public listener around a Router: requests, WebSocket upgrades, and answers for what Node
 * could not parse. Built by the wiring (wiring.ts), for the single process and every cluster worker.
 * `closing()` true adds `connection: close` so keep-alive clients move on during shutdown.
 */
export function createPublicServer(router: Router, closing: () => boolean): http.Server {
  const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    if (closing()) res.setHeader('connection', 'close');
    router.handle(req, res);
  });
  server.on('upgrade', (req, socket, head) => router.handleUpgrade(req, socket, head));
  // CONNECT (forward-proxy tunnelling) has no place in a reverse proxy: say so instead of hanging up.
  server.on('connect', (_req, socket) => {
    socket.on('error', () => socket.destroy());
    answerRaw(socket, { code: 'connect_not_supported' });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A request Node could not parse: the status Node's default would send (431 / 408 / 400), with
    // an error body; never a crash.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const code =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 'headers_too_large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'request_timeout'
          : 'bad_request';
    answerRaw(socket, { code, message: code === 'bad_request' ? 'the request could not be parsed as HTTP' : undefined });
  });
  return server;
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
