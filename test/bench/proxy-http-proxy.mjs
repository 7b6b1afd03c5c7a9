// Baseline: the bare http-proxy@1.18.1 reverse proxy with a keep-alive agent and nothing else
// (as peers/proxy-http-proxy.js, "http-proxy-ka" in the peer benchmark). It is the
// floor for any http-proxy based router: Meridian runs the same forwarding library plus routing.
//   node test/bench/proxy-http-proxy.mjs PORT UPSTREAM(host:port)
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, upstream] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ target: `http://${upstream}`, agent });
proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
http.createServer((req, res) => proxy.web(req, res)).listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
