// docs/admin-api.yaml against the admin listener: the document is valid OpenAPI 3.1, lists exactly
// the routes of the listener's route table (the table the listener dispatches from), and every
// path in it answers on a live admin listener (no 404 or 405 for a documented route).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'yaml';
import { ADMIN_ROUTES } from '../../src/admin/routes.js';
import { REPO_ROOT, request, startRouter, waitReady, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const FILE = join(REPO_ROOT, 'docs', 'admin-api.yaml');
const TOKEN = 'admin-api-test-token';
type Doc = { paths: Record<string, Record<string, unknown>> };
const doc = parse(readFileSync(FILE, 'utf8')) as Doc;
const METHODS = new Set(['get', 'post', 'put', 'delete', 'patch', 'head', 'options']);
const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.keys(item)
    .filter((k) => METHODS.has(k))
    .map((m) => `${m.toUpperCase()} ${path}`),
);

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld(['us-east', 'eu-west']);
  const yaml = configYaml(world, 'writes: { regions: [us-east, eu-west] }\n').replace(
    'admin:\n  listen: 127.0.0.1:0\n',
    `admin:\n  listen: 127.0.0.1:0\n  token: ${TOKEN}\n`,
  );
  router = await startRouter(yaml);
  await waitReady(router);
});
after(async () => {
  await router?.stop();
  await world?.stop();
});

test('docs/admin-api.yaml is valid OpenAPI 3.1', async () => {
  const v = new Validator();
  const r = await v.validate(FILE);
  assert.equal(v.version, '3.1');
  assert.ok(r.valid, JSON.stringify(r.errors, null, 2));
});

test('the document lists exactly the routes of the admin route table', () => {
  const table = ADMIN_ROUTES.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual([...documented].sort(), [...table].sort());
});

const BODIES: Record<string, string> = {
  '/admin/regions/{name}/dial': '{"percent": 100}',
  '/admin/regions/{name}/drain': '{"over": "1h"}',
  '/admin/regions/{name}/undrain': '',
  '/admin/write-region': '{"region": "us-east"}',
};

test('every documented route answers on a live admin listener', async () => {
  const unknown = await request(router.adminPort, { path: '/admin/nope' });
  assert.equal(unknown.status, 404, 'an undocumented path is a 404 (so the check below can fail)');
  for (const route of documented) {
    const [method, template] = route.split(' ') as [string, string];
    const path = template.replace('{name}', 'eu-west');
    const body = BODIES[template];
    const headers: Record<string, string> = method === 'POST' ? { authorization: `Bearer ${TOKEN}` } : {};
    if (body) headers['content-type'] = 'application/json';
    const a = await request(router.adminPort, { method, path, headers, body: body || undefined });
    assert.ok(a.status !== 404 && a.status !== 405, `${route} answered ${a.status}: ${a.text.slice(0, 200)}`);
    assert.ok(a.status < 500 || (template === '/readyz' && a.status === 503), `${route} answered ${a.status}: ${a.text.slice(0, 200)}`);
  }
});
