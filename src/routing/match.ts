// Route matching. Routes are tried in config order and the first match wins (list the specific
// `/api/payments` before `/api` before `/`). `pathPrefix` is a plain string prefix on the
// raw (not percent-decoded) path: `/api` also matches `/apiary` and `/api-docs`; write `/api/` to
// stop at a segment boundary. `methods` (if set) must contain the method; `host` (if set) must equal
// the request host (lower-case, no port). IPv6 literal hosts match with or without brackets.
import type { RouteSpec, Snapshot } from '../types.js';

interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly prefix: string;
  readonly methods: ReadonlySet<string> | null;
  /** Bracketed form for IPv6 literals, so it compares with parseHost() output. */
  readonly host: string | null;
}

const compiled = new WeakMap<Snapshot, readonly CompiledRoute[]>();

function normalizeRouteHost(h: string | null): string | null {
  if (h === null) return null;
  let s = h.trim().toLowerCase();
  if (s.length === 0) return null;
  if (s.includes(':') && s.charCodeAt(0) !== 91) s = `[${s}]`;
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

function compile(snap: Snapshot): readonly CompiledRoute[] {
  let c = compiled.get(snap);
  if (c === undefined) {
    c = snap.routes.map((spec) => ({
      spec,
      prefix: spec.pathPrefix,
      methods: spec.methods,
      host: normalizeRouteHost(spec.host),
    }));
    compiled.set(snap, c);
  }
  return c;
}

/** The first route matching the request, or null. `method` upper-case, `host` as from parseHost(). */
export function matchRoute(snap: Snapshot, method: string, path: string, host: string | null): RouteSpec | null {
  for (const r of compile(snap)) {
    if (!path.startsWith(r.prefix)) continue;
    if (r.methods !== null && !r.methods.has(method)) continue;
    if (r.host !== null && r.host !== host) continue;
    return r.spec;
  }
  return null;
}
