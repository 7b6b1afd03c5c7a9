// The one place http-proxy is loaded, with two deliberate, narrow patches applied first.
//
// 1. util._extend (DEP0060): http-proxy@1.18.1 (last release 2020) captures `require('util')._extend`
//    at load and calls it per request; Node >= 22 prints a runtime deprecation warning on the first
//    call. We replace it, before http-proxy loads, with the same shallow copy built on Object.assign
//    (`_extend` copies own enumerable keys, as Object.assign does). Nothing else in the process is
//    affected, and no warning is silenced: the deprecated function is simply never called.
// 2. common.urlJoin: it collapses every run of slashes in the joined path and query
//    (`/a//b?u=http://x` changes), but the contract is to forward path and query unchanged. We join
//    the endpoint's base path and the request target ourselves.
// url.parse (DEP0169) is avoided by passing pre-parsed targets and `toProxy: true` (the request
// target is already normalised to origin-form by the router, so http-proxy uses it verbatim).
// Below the patches: `forwardLean`, how the router forwards an HTTP request with the library's passes.
import http from 'node:http';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import util from 'node:util';
import type HttpProxy from 'http-proxy';

const require = createRequire(import.meta.url);

(util as unknown as { _extend: (a: object, b: object | null) => object })._extend = (target, source) =>
  source === null || typeof source !== 'object' ? target : Object.assign(target, source);

const common = require('http-proxy/lib/http-proxy/common') as { urlJoin: (...parts: string[]) => string };
common.urlJoin = (base: string, path: string): string => {
  if (!base || base === '/') return path || '/';
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (!path) return b;
  return path.startsWith('/') ? b + path : `${b}/${path}`;
};

const httpProxy = require('http-proxy') as typeof HttpProxy;

export default httpProxy;
export type { HttpProxy };

// ---- forwardLean: the `web` passes for the router's one option set --------------------------------
//
// http-proxy runs four passes per request: deleteLength, timeout, XHeaders, stream. With the only
// options the router uses (pre-parsed target, keep-alive agent, toProxy, selfHandleResponse, no
// xfwd/timeout/forward/ssl/auth/changeOrigin/followRedirects), `timeout` and `XHeaders` return at
// once, and `stream` spends much of its time on generality: setupOutgoing copies sixteen option
// keys (ten of them undefined here, and Node spreads that object twice more in ClientRequest and
// Agent.addRequest), and it adds listeners nobody here uses ('start' and 'end' events, 'aborted').
// `forwardLean` runs the library's `deleteLength` and a lean `stream` that does the same work for
// that option set and nothing else, without `proxy.web()`'s per-call dispatch. Kept exactly:
//   - deleteLength (DELETE/OPTIONS without Content-Length get `content-length: 0`);
//   - the outgoing request: same host/port/method/headers/agent and path (common.urlJoin); the
//     header block goes to http.request as an array when that puts the same bytes on the wire
//     (see outgoingHeaders);
//   - 'proxyReq' on the server once the request has a socket (unless it carries Expect), and
//     'proxyRes' when the response arrives; selfHandleResponse: the response is left to the router;
//   - errors of the client request and the upstream request go to the per-call callback, except a
//     reset after the client's socket is gone, which emits 'econnreset' and aborts the upstream;
//   - the body: `options.buffer` or the client request is piped into the upstream request.
// Dropped, because nothing in this process listens or they are covered elsewhere:
//   - 'start' and 'end' server events (no listeners);
//   - `req.on('aborted')` → the router destroys the upstream request when the client's response
//     closes unfinished (PITFALLS #1586: 'aborted' does not fire reliably on modern Node anyway).
// Changed: a request that cannot carry a body (no Content-Length or Content-Length 0, no
// Transfer-Encoding — RFC 9112 §6.3) ends the upstream request directly instead of piping the
// empty client stream into it: the same bytes, without the pipe's five listeners. Node's server
// still dumps the (empty) request stream when the response finishes.
// The WebSocket passes are the library's, unchanged (the router calls `proxy.ws()`).
type ErrorCallback = (err: Error, req: IncomingMessage, res: ServerResponse, target: unknown) => void;
interface EmitterLike {
  emit(event: string, ...args: unknown[]): boolean;
}
interface LeanOptions {
  target?: { protocol?: string; host?: string; hostname?: string; port?: number | string; path?: string };
  agent?: http.Agent | false;
  buffer?: NodeJS.ReadableStream;
  selfHandleResponse?: boolean;
  toProxy?: boolean;
  [other: string]: unknown;
}

const webIncoming = require('http-proxy/lib/http-proxy/passes/web-incoming') as {
  deleteLength(req: IncomingMessage, res: ServerResponse, options: LeanOptions, head: unknown, server: EmitterLike): void;
};

function hasNoBody(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return false;
  const cl = h['content-length'];
  return cl === undefined || cl === '0';
}

/** Methods for which Node's ClientRequest never adds chunked framing on its own. */
const NO_DEFAULT_CHUNKING = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * The request's header fields as [name, value, ...] for http.request, or the headers object when
 * the array form would not put the same bytes on the wire. Given an array, ClientRequest
 * serialises it in one pass; given an object it first setHeader()s every field into its own map
 * (validation and lower-casing per field) and serialises that later. The array form skips what
 * ClientRequest adds on its own, so:
 * - Host: added here as Node would (IPv6 in brackets, the port unless it is the default);
 * - framing: Node picks chunked or `content-length: 0` for a body-capable method without either
 *   header only when the body ends, so such requests keep the object form;
 * - Expect makes Node flush headers early: object form.
 */
function outgoingHeaders(req: IncomingMessage, host: string, port: number, defaultPort: number): http.OutgoingHttpHeaders | string[] {
  const h = req.headers;
  if (h.expect !== undefined) return h;
  if (h['content-length'] === undefined && h['transfer-encoding'] === undefined && !NO_DEFAULT_CHUNKING.has(req.method ?? '')) return h;
  const out: string[] = [];
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const one of v) out.push(name, one);
  }
  if (h.host === undefined) {
    const colon = host.indexOf(':');
    let value = colon !== -1 && host.includes(':', colon + 1) && host.charCodeAt(0) !== 91 /* [ */ ? `[${host}]` : host;
    if (port !== defaultPort) value += `:${port}`;
    out.push('Host', value);
  }
  return out;
}

/** The library's `stream` pass for the lean option set (what it keeps and drops: the section comment above). */
function streamLean(
  req: IncomingMessage,
  res: ServerResponse,
  options: LeanOptions,
  server: EmitterLike,
  clb: ErrorCallback | undefined,
): void {
  const target = options.target!;
  const isHttps = target.protocol === 'https:';
  const defaultPort = isHttps ? 443 : 80;
  const port = Number(target.port) || defaultPort;
  const host = target.host ?? 'localhost';
  const proxyReq: ClientRequest = (isHttps ? https : http).request({
    host,
    hostname: target.hostname,
    port,
    method: req.method,
    path: common.urlJoin(target.path || '', req.url ?? ''),
    headers: outgoingHeaders(req, host, port, defaultPort),
    agent: options.agent as http.Agent,
  });
  proxyReq.on('socket', () => {
    // The library asks proxyReq.getHeader('expect'), which the array form does not keep.
    if (req.headers.expect === undefined) server.emit('proxyReq', proxyReq, req, res, options);
  });
  const onError = (err: NodeJS.ErrnoException): void => {
    if (req.socket.destroyed && err.code === 'ECONNRESET') {
      server.emit('econnreset', err, req, res, target);
      proxyReq.abort(); // as the library does (abort() also marks the request aborted, not just destroyed)
      return;
    }
    if (clb) clb(err, req, res, target);
    else server.emit('error', err, req, res, target);
  };
  req.on('error', onError);
  proxyReq.on('error', onError);
  proxyReq.on('response', (proxyRes: IncomingMessage) => {
    server.emit('proxyRes', proxyRes, req, res);
  });
  if (options.buffer) options.buffer.pipe(proxyReq);
  else if (hasNoBody(req)) proxyReq.end();
  else req.pipe(proxyReq);
}

/** Where `forwardLean` sends a request: a pre-parsed endpoint (agents.ts EndpointTarget). */
export interface LeanTarget {
  protocol: string;
  host: string;
  hostname: string;
  port: number;
  path: string;
}

/**
 * Forward one HTTP request with options {target, agent, buffer}: the library's `deleteLength`
 * pass, then `streamLean`, with events ('proxyReq', 'proxyRes', 'econnreset') emitted on `server`.
 * `proxy.web()` would first slice its arguments, copy the server options and merge the call's into
 * them (util._extend) and walk ['target', 'forward'] with a closure, on every request (~0.7 µs of
 * CPU, docs/profile.md).
 */
export function forwardLean(
  server: HttpProxy,
  req: IncomingMessage,
  res: ServerResponse,
  target: LeanTarget,
  agent: http.Agent,
  buffer: NodeJS.ReadableStream | undefined,
  clb: ErrorCallback,
): void {
  const options: LeanOptions = { selfHandleResponse: true, toProxy: true, target, agent, buffer };
  const emitter = server as unknown as EmitterLike;
  webIncoming.deleteLength(req, res, options, undefined, emitter);
  streamLean(req, res, options, emitter, clb);
}
