// Node loopback backends for the benchmarks, one process, several ports.
//   node test/bench/backend.mjs ok:PORT [ok:PORT ...] [flaky:PORT ...]
// ok:    any path -> 200 with the 100-byte body; a path ending in /delay answers after 10 ms (a timer);
//        a path starting with /slow answers after 2 s (for client-abort tests); request bodies are
//        read and discarded; WebSocket upgrades are accepted and echo every message (ws).
//        GET /__stats (asked directly, not through the router) -> {"connections", "slowPending"}: open
//        sockets and /slow requests still waiting, to see whether the router drops upstream
//        requests whose client went away.
// flaky: /health -> 200 (probes keep it UP, so only passive ejection takes it out); every other
//        request cycles through 503, reset, 503, reset, 200, 200 — so the router retries, and with
//        `passive.consecutiveFailures` ≤ 4 it ejects the endpoint, again and again.
// Listens on 127.0.0.1 only; prints "READY" once every port listens. Plain `http` in one process
// (not node:cluster): on a 2-core box a second backend process would compete with the proxy core.
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { BODY } from './lib.mjs';

const body = Buffer.from(BODY);
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };

let slowPending = 0;

function ok(req, res) {
  const send = () => {
    if (!res.destroyed) res.writeHead(200, headers).end(body);
  };
  const url = req.url ?? '/';
  const finish = () => {
    if (url.endsWith('/delay')) setTimeout(send, 10);
    else if (url.startsWith('/slow')) {
      slowPending++;
      const t = setTimeout(send, 2000);
      res.once('close', () => {
        slowPending--;
        clearTimeout(t);
      });
    } else if (url === '/__stats') {
      req.socket.server.getConnections((err, n) => {
        const b = JSON.stringify({ connections: err ? null : n, slowPending });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) }).end(b);
      });
    } else send();
  };
  if (req.method === 'GET' || req.method === 'HEAD') finish();
  else {
    req.resume();
    req.once('end', finish);
  }
}

function flaky() {
  let n = 0;
  return (req, res) => {
    if (req.url === '/health') return void res.writeHead(200, headers).end(body);
    req.resume();
    switch (n++ % 6) {
      case 0:
      case 2:
        res.writeHead(503, { 'content-length': '0' }).end();
        break;
      case 1:
      case 3:
        req.socket.destroy();
        break;
      default:
        res.writeHead(200, headers).end(body);
    }
  };
}

const specs = process.argv.slice(2);
if (specs.length === 0) {
  console.error('usage: node backend.mjs ok:PORT [flaky:PORT ...]');
  process.exit(2);
}
let pending = specs.length;
for (const spec of specs) {
  const [kind, portText] = spec.split(':');
  const server = http.createServer(kind === 'flaky' ? flaky() : ok);
  server.keepAliveTimeout = 65_000; // above the router's 4 s idle timeout, like nginx's 75 s
  if (kind !== 'flaky') {
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (ws) => {
      ws.on('message', (m) => ws.send(m));
      ws.on('error', () => ws.terminate());
    });
    server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => socket.destroy());
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
  }
  server.listen(Number(portText), '127.0.0.1', () => {
    if (--pending === 0) console.log('READY');
  });
}
process.on('SIGTERM', () => process.exit(0));
