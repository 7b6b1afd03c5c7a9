// The admin API's route table: every route the admin listener answers, with its method, its path
// (OpenAPI template form, as docs/admin-api.yaml lists it) and its handler. The listener dispatches
// from this table, and the OpenAPI test reads it, so the document cannot miss a route.
import type http from 'node:http';
import { fail, readBody, send } from './respond.js';
import { STATUS_PAGE_HEADERS, STATUS_PAGE_HTML } from './status-page.js';
import { regionRoute } from './steering-routes.js';
import type { AdminTarget } from './target.js';

type Handler = (target: AdminTarget, req: http.IncomingMessage, res: http.ServerResponse, url: URL, params: readonly string[]) => unknown;

export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  /** `/admin/regions/{name}/drain` */
  readonly path: string;
  readonly handle: Handler;
  /** Served on `admin.metricsListen` too: the probes' and Prometheus' routes, nothing that changes state. */
  readonly probe?: boolean;
}

const regionOp =
  (op: 'drain' | 'undrain' | 'dial'): Handler =>
  (target, req, res, _url, [raw]) => {
    let region: string;
    try {
      region = decodeURIComponent(raw!);
    } catch {
      region = raw!; // malformed %-escape (`%E0%A4%A`): no region can have that name → 404
    }
    return regionRoute(target, req, res, region, op);
  };

async function writeRegion(target: AdminTarget, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
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

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: '/',
    handle: (_t, req, res) => {
      res.writeHead(200, STATUS_PAGE_HEADERS);
      res.end(req.method === 'HEAD' ? undefined : STATUS_PAGE_HTML);
    },
  },
  { method: 'GET', path: '/healthz', probe: true, handle: (_t, _q, res) => send(res, 200, { status: 'ok' }) },
  {
    method: 'GET',
    path: '/readyz',
    probe: true,
    handle: (t, _q, res) => {
      const r = t.ready();
      send(res, r.ready ? 200 : 503, { ready: r.ready, ...(r.detail as object) });
    },
  },
  {
    method: 'GET',
    path: '/metrics',
    probe: true,
    handle: async (t, _q, res) => {
      const m = await t.metricsText();
      res.writeHead(200, { 'content-type': m.contentType });
      res.end(m.body);
    },
  },
  { method: 'GET', path: '/admin/state', handle: (t, _q, res) => send(res, 200, t.state()) },
  { method: 'GET', path: '/admin/explain', handle: async (t, _q, res, url) => send(res, 200, await t.explain(url.searchParams)) },
  { method: 'GET', path: '/admin/fleet', handle: async (t, _q, res) => send(res, 200, await t.fleet()) },
  { method: 'POST', path: '/admin/regions/{name}/drain', handle: regionOp('drain') },
  { method: 'POST', path: '/admin/regions/{name}/undrain', handle: regionOp('undrain') },
  { method: 'POST', path: '/admin/regions/{name}/dial', handle: regionOp('dial') },
  { method: 'POST', path: '/admin/write-region', handle: (t, req, res) => writeRegion(t, req, res) },
  {
    method: 'POST',
    path: '/admin/reload',
    handle: async (t, _q, res) => {
      const r = await t.reload();
      return r.ok ? send(res, 200, { reloaded: true }) : fail(res, 'invalid_config', undefined, { reloaded: false, errors: r.errors });
    },
  },
];

/** A template path as a pattern: each `{param}` is one path segment, captured. */
export function routePattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
}
