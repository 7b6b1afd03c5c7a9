import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { ErrorAnswer } from '../errors.js';
import { fail } from './respond.js';
import { ADMIN_ROUTES, routePattern } from './routes.js';
import type { AdminTarget } from './target.js';

export type { AdminTarget } from './target.js';

/** Constant-time bearer check: both sides are hashed first so their lengths cannot leak. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1]?.trim() ?? '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

const TABLE = ADMIN_ROUTES.map((r) => ({ ...r, pattern: routePattern(r.path) }));

/**
 * The admin listener (routes in the README's "Admin API"); with `probesOnly`, the
 * `admin.metricsListen` listener: /healthz, /readyz and /metrics, every other path 404. Reads are open (bind it to loopback,
 * the default); every POST needs `Authorization: Bearer <admin.token>` when a token is configured.
 */
export function createAdminServer(target: AdminTarget, opts: { probesOnly?: boolean } = {}): http.Server {
  const table = opts.probesOnly ? TABLE.filter((r) => r.probe === true) : TABLE;
  const server = http.createServer((req, res) => {
    handle(table, target, req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else if (err instanceof ErrorAnswer) fail(res, err.code, err.message);
      else fail(res, 'internal', err instanceof Error ? err.message : undefined);
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  return server;
}

async function handle(table: typeof TABLE, target: AdminTarget, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const path = url.pathname;
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  let other: string | null = null;
  for (const route of table) {
    const m = route.pattern.exec(path);
    if (m === null) continue;
    if (route.method !== method) {
      other = route.method;
      continue;
    }
    if (route.method === 'POST') {
      const token = target.token();
      if (token !== null && !tokenMatches(req.headers.authorization, token)) {
        res.setHeader('www-authenticate', 'Bearer realm="meridian-admin"');
        return fail(res, 'unauthorized');
      }
    }
    await route.handle(target, req, res, url, m.slice(1));
    return;
  }
  if (other !== null) return fail(res, 'method_not_allowed', `${path} takes ${other}`);
  return fail(res, 'not_found');
}
