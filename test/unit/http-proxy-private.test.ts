// The request path's http-proxy is a private copy: its patches (util._extend while it loads, the
// path join, the request options) must not reach any other module that uses util or http-proxy.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import util from 'node:util';

const require = createRequire(import.meta.url);
type Common = { urlJoin: (...parts: string[]) => string; setupOutgoing: unknown };

test('loading the private copy leaves util._extend and the shared http-proxy as they were', async () => {
  const extendBefore = (util as unknown as { _extend: unknown })._extend;
  const shared = require('http-proxy') as unknown;
  const sharedCommon = require('http-proxy/lib/http-proxy/common') as Common;
  const { urlJoin, setupOutgoing } = sharedCommon;
  const root = require.resolve('http-proxy/package.json').replace(/package\.json$/, '');
  const cached = (): [string, unknown][] => Object.entries(require.cache).filter(([file]) => file.startsWith(root));
  const cacheBefore = cached();
  assert.ok(cacheBefore.length >= 5, 'the shared copy is loaded');

  const { Forwarder, joinPath } = await import('../../src/proxy/http-proxy.js');
  new Forwarder().close();

  assert.equal((util as unknown as { _extend: unknown })._extend, extendBefore, 'util._extend is Node’s own again');
  assert.equal(require('http-proxy'), shared, 'other modules still get the instance they had');
  assert.deepEqual(cached(), cacheBefore, 'the private copy left nothing in the module cache');
  assert.equal(sharedCommon.urlJoin, urlJoin, 'shared urlJoin untouched');
  assert.equal(sharedCommon.setupOutgoing, setupOutgoing, 'shared setupOutgoing untouched');
  // The library's own join collapses `//`; ours keeps it — both observable side by side.
  assert.equal(urlJoin('', '/a//b'), '/a/b');
  assert.equal(joinPath('', '/a//b'), '/a//b');
});
