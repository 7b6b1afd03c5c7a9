// Issue 2 "CLI" and "Reload and shutdown": meridian validate / explain / --help / unknown command,
// SIGTERM with a request in flight, and a whole run without a single warning on stderr.
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { clientFor } from '../helpers/clients.js';
import { asClient, coreConfig } from '../helpers/core.js';
import {
  REPO_ROOT,
  request,
  runCli,
  startRouter,
  waitFor,
  writeTempConfig,
  type RouterProc,
  waitReady,
} from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';

const meridian = runCli;

describe('meridian validate', () => {
  for (const file of ['config/meridian.yaml', 'config/demo.yaml']) {
    test(`${file} is valid (exit 0)`, async () => {
      const r = await meridian(['validate', '--config', file], { MERIDIAN_ADMIN_TOKEN: '', MERIDIAN_RYW_SECRET: '' });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`${file.replace('.', '\\.')}: valid \\(3 regions, \\d+ routes\\)`));
      assert.equal(r.stderr, '');
    });
  }

  test('a bad file exits 1 with one `file:line:col key.path: message` line per error', async () => {
    const yaml = `listen: 127.0.0.1:0
regions:
  - name: us-east
    location: { lat: 95, lon: -77.49 }
    endpoints: [http://127.0.0.1:1]
  - name: eu-west
    location: { lat: 53.35, lon: -6.26 }
    endpoints: [ftp://127.0.0.1:2]
helth:
  interval: 2s
unknownLocation: mars
`;
    const file = writeTempConfig(yaml);
    const r = await meridian(['validate', '--config', file]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n');
    // Positions by hand: line 4 `    location: { lat: 95` → col 22; line 8 `    endpoints: [ftp` → col 17;
    // line 9 `helth:` → col 1; line 11 `unknownLocation: mars` → col 18.
    assert.deepEqual(
      lines.map((l) => l.slice(0, l.indexOf(': ', file.length + 1))),
      [
        `${file}:4:22 regions[0].location.lat`,
        `${file}:8:17 regions[1].endpoints[0]`,
        `${file}:9:1 helth`,
        `${file}:11:18 unknownLocation`,
      ],
      r.stdout,
    );
    assert.match(lines[2]!, /did you mean `health`\?/);
    for (const l of lines) assert.match(l, /^\S+:\d+:\d+ \S+: .+/);
  });

  test('a missing file is one clear line and a non-zero exit', async () => {
    const r = await meridian(['validate', '--config', join(REPO_ROOT, 'no-such-file.yaml')]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /no-such-file\.yaml/);
  });
});

describe('meridian explain', () => {
  test('a Japanese IP: route, selector, reason, chosen region and candidates with distances', async () => {
    const r = await meridian(['explain', '--config', 'config/demo.yaml', '--ip', clientFor('JP').ip]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^route:\s+default \(prefix \/, mode active-active\)$/m);
    assert.match(out, /^selector:\s+nearest \(read\)$/m);
    assert.match(out, /^decision:\s+ap-southeast\s+reason=nearest$/m);
    assert.match(out, /country JP/);
    // Tokyo → Singapore 5,319 km, → Dublin 9,586 km, → Ashburn 10,869 km (by hand, ±1 km of rounding).
    assert.match(out, /^\s+1\. ap-southeast\s+5,3\d\d km\s+serves$/m);
    assert.match(out, /^\s+2\. eu-west\s+9,5\d\d km\s+retry #1$/m);
    assert.match(out, /^\s+3\. us-east\s+10,8\d\d km\s+retry #2$/m);
    assert.match(out, /^candidates: ap-southeast → eu-west → us-east$/m);
  });

  test('a write on the api route goes to the write region; --down and --json work', async () => {
    const r = await meridian([
      'explain',
      '--config',
      'config/demo.yaml',
      '--ip',
      clientFor('JP').ip,
      '--method',
      'POST',
      '--path',
      '/api/orders',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.route.name, 'api');
    assert.equal(j.selector, 'primary');
    assert.equal(j.region, 'us-east');
    assert.equal(j.reason, 'write-primary');
    const down = await meridian(['explain', '--config', 'config/demo.yaml', '--ip', clientFor('DE').ip, '--down', 'eu-west', '--json']);
    const d = JSON.parse(down.stdout);
    assert.equal(d.region, 'us-east');
    assert.equal(d.reason, 'failover');
  });

  test('--header sets the user key for a home route', async () => {
    const r = await meridian([
      'explain',
      '--config',
      'config/demo.yaml',
      '--ip',
      clientFor('JP').ip,
      '--path',
      '/users/1',
      '--header',
      'x-home-region=eu-west',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^decision:\s+eu-west\s+reason=home-explicit$/m);
  });
});

describe('help and usage errors', () => {
  for (const args of [
    ['--help'],
    ['-h'],
    ['help'],
    ['serve', '--help'],
    ['validate', '--help'],
    ['explain', '--help'],
    ['demo', '--help'],
    ['drill', '--help'],
  ]) {
    test(`meridian ${args.join(' ')} prints usage and exits 0`, async () => {
      const r = await meridian(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: meridian/);
      if (args.length === 2) assert.match(r.stdout, new RegExp(`Usage: meridian ${args[0]}`));
      assert.equal(r.stderr, '');
    });
  }

  test('an unknown command is one clear line on stderr and a non-zero exit', async () => {
    const r = await meridian(['frobnicate']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  test('an unknown option is one clear line and a non-zero exit', async () => {
    const r = await meridian(['validate', '--config', 'config/demo.yaml', '--frob']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--frob/);
  });

  test('serve with an invalid config does not start and names the errors', async () => {
    const file = writeTempConfig('listen: 127.0.0.1:0\nregions: []\n');
    const r = await meridian(['serve', '--config', file, '--log-level', 'silent']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+ regions: `));
  });
});

describe('a whole run: SIGTERM drains in-flight requests, and nothing is printed on stderr', () => {
  let world: World;
  let router: RouterProc;
  const wss: WebSocketServer[] = [];
  before(async () => {
    world = await startWorld();
    for (const list of world.backends.values()) {
      for (const b of list) {
        const s = new WebSocketServer({ server: b.server });
        s.on('connection', (ws) => ws.on('message', (d) => ws.send(`echo:${d.toString()}`)));
        wss.push(s);
      }
    }
    // NODE_OPTIONS unset: no --no-deprecation or similar can hide warnings.
    router = await startRouter(
      coreConfig(world, {
        extra: 'timeouts: { connect: 1s, request: 1500ms }\nretry: { on: [connect, 502, 503, 504] }\nshutdownGrace: 10s\n',
      }),
      {
        env: { NODE_OPTIONS: undefined, NODE_NO_WARNINGS: undefined },
        logLevel: 'info',
      },
    );
    await waitReady(router);
  });
  after(async () => {
    for (const s of wss) for (const c of s.clients) c.terminate();
    for (const s of wss) s.close();
    await router?.stop();
    await world?.stop();
  });

  test('traffic of every kind (retry, WebSocket, timeout, bad header, abort) prints nothing on stderr', async () => {
    const de = clientFor('DE').ip;
    assert.equal((await asClient(router.port, de, { path: '/plain' })).status, 200);
    assert.equal((await asClient(router.port, de, { method: 'POST', path: '/post', body: 'x'.repeat(1000) })).status, 200);
    world.b('eu-west').trafficMode = 'fail';
    const retried = await asClient(router.port, de, { path: '/retried' });
    world.b('eu-west').trafficMode = 'ok';
    assert.equal(retried.status, 200);
    assert.equal(retried.json.region, 'us-east');
    assert.equal((await asClient(router.port, de, { path: '/__hang' })).status, 504);
    assert.equal((await asClient(router.port, de, { path: '/__badheader' })).status, 502);
    // A client that gives up on a hanging request.
    const aborted = new Promise<void>((resolve) => {
      const req = http.request({
        port: router.port,
        host: '127.0.0.1',
        path: '/__hang/abort',
        headers: { 'x-forwarded-for': de },
        agent: false,
      });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 100);
    });
    await aborted;
    const abortLine = await router.waitForLog((l) => l.msg === 'request' && l.path === '/__hang/abort');
    assert.equal(abortLine.status, 499);
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}/ws`, { headers: { 'x-forwarded-for': de } });
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    assert.equal(echoed, 'echo:hi');
    await new Promise<void>((r) => {
      ws.once('close', () => r());
      ws.close();
    });
    const line = await router.waitForLog((l) => l.msg === 'request' && l.path === '/retried');
    assert.equal(line.attempts, 2);
    assert.equal(router.stderr(), '');
  });

  test('the stderr check can see a warning: one emitted in the router process shows up', async () => {
    // The same harness, with a preload that emits a warning: proof that an empty stderr above means
    // no warning was printed, not that none could be seen.
    const preload = join(dirname(writeTempConfig('', 'x.yaml')), 'warn.cjs');
    writeFileSync(preload, "process.emitWarning('provoked for the test', 'DeprecationWarning', 'DEP0060');\n");
    const noisy = await startRouter(coreConfig(world), { env: { NODE_OPTIONS: `--require=${preload}`, NODE_NO_WARNINGS: undefined } });
    try {
      await waitReady(noisy);
      await waitFor(() => noisy.stderr().includes('DEP0060'), 5000, 'the provoked warning on stderr');
      assert.match(noisy.stderr(), /DeprecationWarning: provoked for the test/);
    } finally {
      await noisy.stop();
    }
  });

  test('SIGTERM with a request in flight: it finishes with 200 and the process exits 0, quietly', async () => {
    const backend = world.b('eu-west');
    const before = backend.requests.length;
    const inflight = asClient(router.port, clientFor('DE').ip, { path: '/__slow/500' });
    await waitFor(() => backend.requests.slice(before).some((r) => r.url === '/__slow/500'), 5000, 'backend got the slow request');
    router.proc.kill('SIGTERM');
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.json.region, 'eu-west');
    assert.equal(await router.exited, 0);
    const access = router.logs.find((l) => l.msg === 'request' && l.path === '/__slow/500');
    assert.ok(access, 'the access line was flushed before exit');
    assert.equal(access.status, 200);
    assert.ok(router.logs.some((l) => l.event === 'shutdown' && l.msg === 'stopped'));
    await assert.rejects(request(router.port, { path: '/after' }), /ECONNREFUSED/);
    assert.equal(router.stderr(), '', 'no warnings on stderr across the run');
  });
});
