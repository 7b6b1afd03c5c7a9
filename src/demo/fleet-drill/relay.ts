// A TCP relay between a client and a server that the fleet drill or a test can cut and restore: the network partition of
// one process from another, made with real sockets. stop() closes the listener and resets every
// relayed connection (the client sees its connections die and new ones refused); start() listens on
// the same port again.
import net from 'node:net';

export interface TcpRelay {
  /** The relay's own port on 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`: what a client uses instead of the target's address. */
  readonly url: string;
  /** Cut: stop listening and close every open connection (FIN, see below). */
  stop(): Promise<void>;
  /** Restore: listen on the same port again. */
  start(): Promise<void>;
  /** Stop for good. */
  close(): Promise<void>;
}

export async function startTcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const open = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const srv = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        open.add(client);
        open.add(upstream);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          open.delete(client);
          open.delete(upstream);
        };
        client.on('error', drop);
        upstream.on('error', drop);
        client.on('close', drop);
        upstream.on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        if (typeof addr === 'object' && addr) port = addr.port;
        server = srv;
        resolve();
      });
    });

  const cut = async (): Promise<void> => {
    const srv = server;
    server = null;
    // destroy (FIN), not resetAndDestroy (RST): a socket reset while a piped write is still queued
    // has left whole processes spinning in Node's exit-time handle cleanup (test runs and the drill
    // hung at exit); the client sees its connections end and new ones refused either way.
    for (const s of open) s.destroy();
    open.clear();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    stop: cut,
    start: listen,
    close: cut,
  };
}
