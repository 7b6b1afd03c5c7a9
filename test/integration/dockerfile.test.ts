// There is no Docker engine here, so test what the image runs: its ENTRYPOINT + CMD, parsed from the
// Dockerfile, started outside Docker with the image's own config (config/docker.yaml, with free
// ports and this test's backends), and its HEALTHCHECK command against that process.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, request, waitFor, writeTempConfig } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const jsonInstr = (name: string): string[] => {
  const m = new RegExp(`^${name}\\s+(\\[.*\\])\\s*$`, 'm').exec(dockerfile);
  assert.ok(m, `Dockerfile has no exec-form ${name}`);
  return JSON.parse(m[1]!) as string[];
};
const TOKEN = 'container-token';

let world: World;
let proc: ChildProcess;
const ports = { listen: 0, admin: 0, metrics: 0 };

before(async () => {
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  // The image's config, as the image copies it, with the ports this test can bind.
  const text = readFileSync(join(REPO_ROOT, 'config/docker.yaml'), 'utf8')
    .replace('listen: 0.0.0.0:8080', 'listen: 127.0.0.1:0')
    .replace('  listen: 0.0.0.0:9901', '  listen: 127.0.0.1:0')
    .replace('metricsListen: 0.0.0.0:9902', 'metricsListen: 127.0.0.1:0');
  const config = writeTempConfig(text);
  const [cmd, ...args] = [...jsonInstr('ENTRYPOINT'), ...jsonInstr('CMD')];
  assert.equal(cmd, 'node');
  const i = args.indexOf('--config');
  assert.ok(i >= 0 && args[i + 1] === '/etc/meridian/meridian.yaml', 'the image reads /etc/meridian/meridian.yaml');
  args[i + 1] = config;
  const env = {
    ...process.env,
    MERIDIAN_ADMIN_TOKEN: TOKEN,
    MERIDIAN_US_EAST: world.b('us-east').url,
    MERIDIAN_EU_WEST: world.b('eu-west').url,
    MERIDIAN_AP_SOUTHEAST: world.b('ap-southeast').url,
  };
  proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const line = await waitFor(() => out.split('\n').find((l) => l.includes('"event":"listening"')), 15_000, 'the image command to listen');
  const j = JSON.parse(line) as { listen: string; admin: string; metrics: string };
  ports.listen = Number(new URL(j.listen).port);
  ports.admin = Number(new URL(j.admin).port);
  ports.metrics = Number(new URL(j.metrics).port);
  await waitFor(async () => (await request(ports.metrics, { path: '/readyz' })).status === 200, 10_000, 'ready');
});
after(async () => {
  proc?.kill('SIGTERM');
  await new Promise((r) => proc?.once('exit', r));
  await world?.stop();
});

test('the image runs `node dist/cli.js serve --config /etc/meridian/meridian.yaml` as a non-root user, with config/docker.yaml', () => {
  assert.deepEqual(jsonInstr('ENTRYPOINT'), ['node', 'dist/cli.js']);
  assert.deepEqual(jsonInstr('CMD'), ['serve', '--config', '/etc/meridian/meridian.yaml']);
  assert.match(dockerfile, /^FROM node:24/m);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^EXPOSE 8080 9901 9902$/m);
  assert.match(dockerfile, /cp config\/docker\.yaml \/etc\/meridian\/meridian\.yaml/);
});

test('the image command serves traffic; admin answers with the token; the metrics port serves /metrics only', async () => {
  const r = await request(ports.listen, { path: '/hello', headers: { 'x-forwarded-for': '5.9.0.1' } });
  assert.equal(r.status, 200);
  assert.ok(['us-east', 'eu-west', 'ap-southeast'].includes(String(r.headers['x-meridian-region'])), 'a region answered');
  const headers = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await request(ports.admin, { method: 'POST', path: '/admin/regions/eu-west/drain' })).status, 401);
  assert.equal((await request(ports.admin, { method: 'POST', path: '/admin/regions/eu-west/undrain', headers })).status, 200);
  const m = await request(ports.metrics, { path: '/metrics' });
  assert.equal(m.status, 200);
  assert.match(m.text, /^# HELP meridian_requests_total /m);
  assert.equal((await request(ports.metrics, { path: '/admin/state' })).status, 404);
});

test('without MERIDIAN_ADMIN_TOKEN the image config does not validate: an open admin port is refused', () => {
  const env = { ...process.env };
  delete env.MERIDIAN_ADMIN_TOKEN;
  const r = (() => {
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, 'dist/cli.js'), 'validate', '--config', join(REPO_ROOT, 'config/docker.yaml')], {
        env,
        encoding: 'utf8',
        stdio: 'pipe',
      });
      return '';
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  })();
  assert.match(r, /MERIDIAN_ADMIN_TOKEN/);
});

test('the HEALTHCHECK command exits 0 against the running image command and 1 against a dead port', () => {
  const m = /HEALTHCHECK[^\n]*\\\n\s*CMD node -e "(.*)"\s*$/m.exec(dockerfile);
  assert.ok(m, 'HEALTHCHECK CMD node -e "..." not found');
  const script = m[1]!;
  assert.match(script, /127\.0\.0\.1:9902\/healthz/);
  const run = (port: number): number => {
    try {
      execFileSync(process.execPath, ['-e', script.replace('127.0.0.1:9902', `127.0.0.1:${port}`)], { stdio: 'ignore' });
      return 0;
    } catch (err) {
      return (err as { status: number }).status;
    }
  };
  assert.equal(run(ports.metrics), 0);
  assert.equal(run(1), 1); // port 1: nothing listens there
});
