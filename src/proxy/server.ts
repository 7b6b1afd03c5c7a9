import http from 'node:http';
import { errorBody } from '../errors.js';
import type { Router } from './router.js';

/**
 * The public listener around a Router: requests, WebSocket upgrades, and answers for what Node
 * could not parse. One definition for the single process and for every cluster worker.
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
    const body = errorBody('connect_not_supported');
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A request Node could not parse: answer as Node's default would (431 / 408 / 400), never crash.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
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
