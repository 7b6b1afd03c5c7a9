import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { ErrorAnswer } from '../errors.js';
import { fail, readBody, send } from './respond.js';
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from './status-page.js';
import { regionRoute, type RegionActions } from './steering-routes.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * What the admin API operates on; implemented by App (one process) and ClusterPrimary (workers:
 * N), whose actions resolve once every worker has applied them.
 */
export interface AdminTarget extends RegionActions {
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

/** Constant-time bearer check: both sides are hashed first so their lengths cannot leak. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1]?.trim() ?? '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
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
      case '/':
        res.writeHead(200, STATUS_PAGE_HEADERS);
        res.end(method === 'HEAD' ? undefined : STATUS_PAGE_HTML);
        return;
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

  const regionOp = REGION_OP.exec(path);
  if (regionOp) {
    let region: string;
    try {
      region = decodeURIComponent(regionOp[1]!);
    } catch {
      region = regionOp[1]!; // malformed %-escape (`%E0%A4%A`): no region can have that name → 404 below
    }
    return regionRoute(target, req, res, region, regionOp[2] as 'drain' | 'undrain' | 'dial');
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

const REGION_OP = /^\/admin\/regions\/([^/]+)\/(drain|undrain|dial)$/;

function isPostRoute(path: string): boolean {
  return path === '/admin/reload' || path === '/admin/write-region' || REGION_OP.test(path);
}
