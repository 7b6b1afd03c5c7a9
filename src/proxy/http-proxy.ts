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
