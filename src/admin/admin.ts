import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { ERRORS, ErrorAnswer, errorBody, type ErrorCode } from '../errors.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * What the admin API operates on; implemented by App (one process) and ClusterPrimary (workers:
 * N), whose actions resolve once every worker has applied them.
 */
export interface AdminTarget {
  ready(): { ready: boolean; detail: unknown };
  metricsText(): Promise<{ contentType: string; body: string }>;
  state(): unknown;
  explain(params: URLSearchParams): MaybePromise<unknown>;
  drain(region: string): MaybePromise<boolean>;
  undrain(region: string): MaybePromise<boolean>;
  setWriteRegion(region: string): MaybePromise<{ ok: true } | { ok: false; status: number; reason: string }>;
  reload(): MaybePromise<{ ok: true } | { ok: false; errors: string[] }>;
  /** GET /admin/fleet: `{"enabled": false}` without a fleet. */
  fleet(): MaybePromise<unknown>;
  token(): string | null;
}

const MAX_BODY = 16 * 1024;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Every admin error answer: the catalogue's status and body (errors.ts). */
function fail(res: http.ServerResponse, code: ErrorCode, message?: string, extra?: Record<string, unknown>): void {
  const body = errorBody(code, message, extra);
  res.writeHead(ERRORS[code].status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Constant-time bearer check: both sides are hashed first so their lengths cannot leak. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1]?.trim() ?? '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // Stop reading; the caller answers 413 and closes the connection.
        req.pause();
        req.removeAllListeners('data');
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

/**
 * The admin listener (routes in the README's "Admin API"). Reads are open (bind it to loopback,
 * the default); every POST needs `Authorization: Bearer <admin.token>` when a token is configured.
 */
export function createAdminServer(target: AdminTarget): http.Server {
  const server = http.createServer((req, res) => {
    handle(target, req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else if (err instanceof ErrorAnswer) fail(res, err.code, err.message);
      else fail(res, 'internal', err instanceof Error ? err.message : undefined);
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  return server;
}

async function handle(target: AdminTarget, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (method === 'GET' || method === 'HEAD') {
    switch (path) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz': {
        const r = target.ready();
        return send(res, r.ready ? 200 : 503, { ready: r.ready, ...(r.detail as object) });
      }
      case '/metrics': {
        const m = await target.metricsText();
        res.writeHead(200, { 'content-type': m.contentType });
        res.end(m.body);
        return;
      }
      case '/admin/state':
        return send(res, 200, target.state());
      case '/admin/explain':
        return send(res, 200, await target.explain(url.searchParams));
      case '/admin/fleet':
        return send(res, 200, await target.fleet());
    }
    if (isPostRoute(path)) return fail(res, 'method_not_allowed', `${path} takes POST`);
    return fail(res, 'not_found');
  }

  if (method !== 'POST') return fail(res, 'method_not_allowed');
  if (!isPostRoute(path)) return fail(res, 'not_found');
  const token = target.token();
  if (token !== null && !tokenMatches(req.headers.authorization, token)) {
    res.setHeader('www-authenticate', 'Bearer realm="meridian-admin"');
    return fail(res, 'unauthorized');
  }

  const regionOp = /^\/admin\/regions\/([^/]+)\/(drain|undrain)$/.exec(path);
  if (regionOp) {
    let region: string;
    try {
      region = decodeURIComponent(regionOp[1]!);
    } catch {
      region = regionOp[1]!; // malformed %-escape (`%E0%A4%A`): no region can have that name → 404 below
    }
    const ok = await (regionOp[2] === 'drain' ? target.drain(region) : target.undrain(region));
    if (!ok) return fail(res, 'unknown_region', `no region named "${region}"`);
    return send(res, 200, { region, drained: regionOp[2] === 'drain' });
  }
  if (path === '/admin/reload') {
    const r = await target.reload();
    return r.ok ? send(res, 200, { reloaded: true }) : fail(res, 'invalid_config', undefined, { reloaded: false, errors: r.errors });
  }
  // path === '/admin/write-region'
  const raw = await readBody(req);
  if (raw === null) {
    res.setHeader('connection', 'close');
    return fail(res, 'payload_too_large');
  }
  let region: unknown;
  try {
    region = (JSON.parse(raw) as { region?: unknown }).region;
  } catch {
    return fail(res, 'bad_request', 'body must be JSON like {"region": "eu-west"}');
  }
  if (typeof region !== 'string' || region === '') return fail(res, 'bad_request', 'body must be JSON like {"region": "eu-west"}');
  const r = await target.setWriteRegion(region);
  if (!r.ok) return fail(res, r.status === 404 ? 'unknown_region' : 'bad_request', r.reason);
  return send(res, 200, { writeRegion: region });
}

function isPostRoute(path: string): boolean {
  return path === '/admin/reload' || path === '/admin/write-region' || /^\/admin\/regions\/[^/]+\/(drain|undrain)$/.test(path);
}
