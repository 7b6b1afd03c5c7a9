// http-proxy, the forwarding library, used through its public API (createProxyServer, web(), ws(),
// its options and events) from an instance of its own: this module loads the package privately
// and gives that copy three patches that no other module in the process sees.
//
// 1. util._extend (DEP0060). http-proxy@1.18.1 (last release 2020) captures `require('util')._extend`
//    into a local when its modules load and calls it per request; Node >= 22 prints a deprecation
//    warning on the first call. While the private copy loads, `util._extend` is an Object.assign
//    equivalent (both copy own enumerable keys); right after, the original is back in place. So the
//    copy never calls the deprecated function, nothing is silenced, and every other caller of
//    `util._extend` gets Node's own.
// 2. common.urlJoin collapses every run of slashes in the path (`/a//b` becomes `/a/b`), but
//    Meridian forwards path and query unchanged. The private copy's `urlJoin` joins the endpoint's
//    base path and the request target without touching either. No option avoids it: even with
//    `ignorePath` the joined path goes through the same function.
// 3. common.setupOutgoing builds the options for http.request with 17 keys, 10 of them undefined for
//    a plain HTTP target. Node's ClientRequest copies them with Object.assign, and V8 turns an
//    object that gets more than 16 keys that way into a hash table; every later copy and read of
//    the request's options (Node makes three) then takes V8's slow paths. The private copy's
//    setupOutgoing returns the same options without the undefined keys, which http.request treats
//    as absent anyway: the same request, built on fast objects.
// 4. setupOutgoing hands the header fields to http.request as an object, which ClientRequest
//    setHeader()s one by one (validated, lower-cased, stored) before it serialises them; given the
//    same fields as a [name, value, ...] array it serialises them in one pass. The private copy's
//    setupOutgoing passes the array whenever that puts the same bytes on the wire
//    (withArrayHeaders). Patches 3 and 4 are measured in docs/profile.md, "Public http-proxy API".
// Targets are pre-parsed objects and `toProxy` is on, so http-proxy never calls url.parse
// (DEP0169): the request target is used verbatim (the router has made it origin-form).
import type { Agent, ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import util from 'node:util';
import type HttpProxy from 'http-proxy';
import type { EndpointTarget } from './agents.js';

const require = createRequire(import.meta.url);

type Extend = (target: object, source: unknown) => object;
const assignExtend: Extend = (target, source) => (source === null || typeof source !== 'object' ? target : Object.assign(target, source));

/** Base path + request target, both kept as they are (`//` and the query included). */
export function joinPath(base: string, target: string): string {
  if (!base || base === '/') return target || '/';
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (!target) return b;
  return target.startsWith('/') ? b + target : `${b}/${target}`;
}

interface Common {
  urlJoin: (base: string, target: string) => string;
  setupOutgoing: (outgoing: object, options: object, req: IncomingMessage, forward?: string) => Record<string, unknown>;
}

/** Methods for which Node's ClientRequest never adds chunked framing on its own. */
const NO_DEFAULT_CHUNKING = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * The options with the header fields as [name, value, ...] (patch 4 above), unless the array form
 * would not put the same bytes on the wire. Given an array, ClientRequest serialises it in one
 * pass; given an object it first setHeader()s every field into its own map (validation and
 * lower-casing per field) and serialises that later. The array form skips what ClientRequest adds
 * on its own, so:
 * - Host: added here as Node would (IPv6 in brackets, the port unless it is the default);
 * - framing: Node picks chunked or `content-length: 0` for a body-capable method without either
 *   header only when the body ends, so such requests keep the object form;
 * - Expect makes Node flush headers early (and http-proxy reads it back): object form.
 */
function withArrayHeaders(options: Record<string, unknown>, req: IncomingMessage, protocol: string | undefined): Record<string, unknown> {
  const h = options['headers'] as IncomingHttpHeaders | undefined;
  if (h === undefined || h.expect !== undefined) return options;
  if (h['content-length'] === undefined && h['transfer-encoding'] === undefined && !NO_DEFAULT_CHUNKING.has(req.method ?? ''))
    return options;
  const out: string[] = [];
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const one of v) out.push(name, one);
  }
  if (h.host === undefined) {
    const host = typeof options['host'] === 'string' ? options['host'] : 'localhost';
    const defaultPort = protocol === 'https:' ? 443 : 80;
    const port = Number(options['port']) || defaultPort;
    const colon = host.indexOf(':');
    let value = colon !== -1 && host.includes(':', colon + 1) && host.charCodeAt(0) !== 91 /* [ */ ? `[${host}]` : host;
    if (port !== defaultPort) value += `:${port}`;
    out.push('Host', value);
  }
  options['headers'] = out;
  return options;
}

/** The same options without the keys whose value is undefined (patch 3 above). */
function withoutUndefined(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in options) {
    const value = options[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Load http-proxy's modules afresh for this module alone: the package's entries in the CommonJS
 * cache are set aside, the package is required (its modules capture the patched `util._extend`),
 * its `common` functions are replaced, and the cache is put back as it was, so a later
 * `require('http-proxy')` anywhere else gets the library untouched.
 */
function loadPrivateCopy(): typeof HttpProxy {
  const root = path.dirname(require.resolve('http-proxy/package.json')) + path.sep;
  const cache = require.cache;
  const inPackage = (file: string): boolean => file.startsWith(root);
  const shared = Object.keys(cache)
    .filter(inPackage)
    .map((file) => [file, cache[file]] as const);
  for (const [file] of shared) delete cache[file];
  const u = util as unknown as { _extend: Extend };
  const original = u._extend;
  u._extend = assignExtend;
  try {
    const lib = require('http-proxy') as typeof HttpProxy;
    const common = require('http-proxy/lib/http-proxy/common') as Common;
    common.urlJoin = joinPath;
    const setupOutgoing = common.setupOutgoing;
    common.setupOutgoing = (outgoing, options, req, forward) => {
      const protocol = (options as { target?: { protocol?: string } }).target?.protocol;
      return withArrayHeaders(withoutUndefined(setupOutgoing(outgoing, options, req, forward)), req, protocol);
    };
    return lib;
  } finally {
    u._extend = original;
    for (const file of Object.keys(cache)) if (inPackage(file)) delete cache[file];
    for (const [file, mod] of shared) cache[file] = mod;
  }
}

const httpProxy = loadPrivateCopy();

/** Per-call hooks of one forwarding attempt; http-proxy hands them back with its 'proxyReq' event. */
export interface ForwardHooks {
  /** The upstream request exists and has its socket (nothing of it is written yet). */
  onProxyReq(proxyReq: ClientRequest): void;
}

/** The per-call options: documented http-proxy options plus the hooks object it passes through. */
interface CallOptions extends HttpProxy.ServerOptions {
  readonly hooks: ForwardHooks;
}

/**
 * The body of a request that has none: http-proxy sends `options.buffer` with `buffer.pipe(proxyReq)`,
 * and this stream's pipe() just ends the upstream request — the same bytes as piping the empty
 * client request, without the five listeners and the extra turn of the event loop a pipe costs
 * (docs/profile.md). One shared instance: it holds no data and is never read.
 */
class NoBody extends Readable {
  override _read(): void {
    this.push(null);
  }
  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    destination.end();
    return destination;
  }
}
const NO_BODY = new NoBody();

export type ForwardErrorCallback = (err: Error) => void;

/**
 * One http-proxy server for the whole request path. Responses are self-handled
 * (`selfHandleResponse`), so a retryable status can be retried before any byte reaches the client;
 * X-Forwarded-* are set once by the router (`xfwd: false`), so a retry does not append twice.
 */
export class Forwarder {
  private readonly proxy: HttpProxy;

  constructor() {
    this.proxy = httpProxy.createProxyServer({ selfHandleResponse: true, xfwd: false, toProxy: true });
    // Every call has its own callback, so this listener only sees errors without one; it must exist
    // (http-proxy throws when nobody listens).
    this.proxy.on('error', () => undefined);
    this.proxy.on('proxyReq', onProxyReq);
    this.proxy.on('proxyReqWs', onProxyReqWs);
  }

  /**
   * Forward an HTTP request. `body`: the buffered body to (re)send, 'none' when the request has
   * no body, 'stream' to pipe the client request itself. Errors of this attempt go to `onError`.
   */
  web(
    req: IncomingMessage,
    res: ServerResponse,
    to: { readonly target: EndpointTarget; readonly agent: Agent },
    body: Buffer | 'none' | 'stream',
    hooks: ForwardHooks,
    onError: ForwardErrorCallback,
  ): void {
    const buffer = body === 'none' ? NO_BODY : body === 'stream' ? undefined : Readable.from([body]);
    const options: CallOptions = { target: to.target, agent: to.agent, buffer, hooks };
    this.proxy.web(req, res, options, onError);
  }

  /** Forward a WebSocket upgrade (the library's own passes, on a fresh upstream connection). */
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, target: EndpointTarget, hooks: ForwardHooks, onError: ForwardErrorCallback): void {
    const options: CallOptions = { target, hooks };
    this.proxy.ws(req, socket, head, options, onError);
  }

  close(): void {
    this.proxy.close();
  }
}

function onProxyReq(proxyReq: ClientRequest, _req: IncomingMessage, _res: ServerResponse, options: HttpProxy.ServerOptions): void {
  (options as CallOptions).hooks.onProxyReq(proxyReq);
}

function onProxyReqWs(proxyReq: ClientRequest, _req: IncomingMessage, _socket: Duplex, options: HttpProxy.ServerOptions): void {
  (options as CallOptions).hooks.onProxyReq(proxyReq);
}
