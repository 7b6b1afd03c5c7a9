// What an operator reads about a fleet, end to end: a real etcd, two real router processes, and the
// real CLI. `meridian fleet status` (text and --json) against a running router's config, and its
// clear failure when no router answers; GET /admin/state and /admin/explain reporting the write
// region the fleet agreed on, which after an operator's move differs from the one this router's own
// health store would pick (us-east stays healthy and comes first in writes.regions); and the status
// page drawing it in a real browser (Chromium, as test/integration/status-page.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Ajv } from 'ajv';
import puppeteer from 'puppeteer-core';
import { parse } from 'yaml';
import { freePort, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { admin, CLI, REPO_ROOT, waitFor, writeTempConfig, type RouterProc } from '../helpers/router-process.js';
import { startWorld, type World } from '../helpers/world.js';
import { agreedOn, fleetOf, fleetYaml, startFleet, US, write } from './fleet-routers.js';

let etcd: EtcdServer;
let world: World;
let a: RouterProc;
let b: RouterProc;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface StateWriteRegion {
  region: string | null;
  epoch: number | null;
  state: string | null;
  reason: string;
  operator: boolean;
  since: string;
  candidates: { region: string }[];
}
const stateOf = async (r: RouterProc): Promise<{ writeRegion: StateWriteRegion }> =>
  (await admin(r, 'GET', '/admin/state')).json as { writeRegion: StateWriteRegion };

/** /admin/state's answer checked against the State schema of docs/admin-api.yaml. */
function checkAgainstOpenApi(answer: unknown): void {
  const doc = parse(readFileSync(join(REPO_ROOT, 'docs', 'admin-api.yaml'), 'utf8')) as { components: { schemas: { State: object } } };
  const validate = new Ajv({ strict: false }).compile(doc.components.schemas.State);
  assert.ok(validate(answer), JSON.stringify(validate.errors));
}

before(async () => {
  etcd = await startEtcd();
  world = await startWorld(['us-east', 'eu-west', 'ap-southeast']);
  // the CLI finds the router through the admin address in the config: it must be a real port
  [a, b] = (await startFleet([
    { id: 'a', etcd: etcd.endpoint, world, adminPort: await freePort() },
    { id: 'b', etcd: etcd.endpoint, world },
  ])) as [RouterProc, RouterProc];
});

after(async () => {
  await a?.stop('SIGKILL');
  await b?.stop('SIGKILL');
  await world?.stop();
  await etcd?.stop();
});

test('meridian fleet status prints the members, the leader and the write region with its epoch', async () => {
  const leader = (await fleetOf(a)).leader;
  assert.ok(leader === 'a' || leader === 'b', `a leader among the members: ${leader}`);
  const run = await runCli(['fleet', 'status', '--config', a.configFile]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const lines = run.stdout.split('\n');
  assert.equal(lines[0], 'router:       a (connected)');
  assert.equal(lines[1], `leader:       ${leader}`);
  assert.equal(lines[2], 'write region: us-east  epoch 1  active');
  assert.equal(lines[3], 'members:      2');
  const member = (id: string): string => lines.find((l) => l.trimStart().startsWith(`${id} `)) ?? '';
  for (const id of ['a', 'b']) {
    assert.match(member(id), new RegExp(`site site-${id} +v\\S+ +since \\d{4}-\\d\\d-\\d\\dT`), `member line for ${id}`);
    assert.equal(member(id).endsWith('(leader)'), id === leader, `only the leader's line is marked: ${member(id)}`);
  }
});

test('meridian fleet status --json prints what GET /admin/fleet answers', async () => {
  const run = await runCli(['fleet', 'status', '--config', a.configFile, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const printed = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(printed, await fleetOf(a));
  assert.equal(printed.id, 'a');
  assert.deepEqual(printed.writeRegion, { region: 'us-east', epoch: 1, state: 'active' });
  assert.deepEqual(
    (printed.members as { id: string; site: string }[]).map((m) => [m.id, m.site]),
    [
      ['a', 'site-a'],
      ['b', 'site-b'],
    ],
  );
});

test('meridian fleet status exits 1 and says so when no router answers at the configured admin address', async () => {
  const port = await freePort();
  const file = writeTempConfig(fleetYaml({ id: 'nobody', etcd: etcd.endpoint, world, adminPort: port }));
  for (const args of [[], ['--json']]) {
    const run = await runCli(['fleet', 'status', '--config', file, ...args]);
    assert.equal(run.code, 1, `exit code with ${args.join(' ') || 'text'}`);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      new RegExp(`^meridian: no answer from the router's admin listener at http://127\\.0\\.0\\.1:${port}/admin/fleet: `),
    );
  }
});

test("GET /admin/state and /admin/explain report the fleet's write region, epoch and state, not this router's own choice", async () => {
  const first = await stateOf(a);
  assert.equal(first.writeRegion.region, 'us-east');
  assert.equal(first.writeRegion.epoch, 1);
  assert.equal(first.writeRegion.state, 'active');
  assert.equal(first.writeRegion.operator, false);
  checkAgainstOpenApi(first);

  // moved through the other router: router a's own health store still prefers us-east (healthy, first)
  assert.equal((await admin(b, 'POST', '/admin/write-region', undefined, '{"region": "eu-west"}')).status, 200);
  assert.equal(await waitFor(() => agreedOn([a, b], 'eu-west'), 15_000, 'eu-west agreed'), 2);
  const moved = await stateOf(a);
  assert.equal(moved.writeRegion.region, 'eu-west');
  assert.equal(moved.writeRegion.epoch, 2);
  assert.equal(moved.writeRegion.state, 'active');
  assert.equal(moved.writeRegion.operator, true, 'an operator set it');
  assert.ok(Date.parse(moved.writeRegion.since) >= Date.parse(first.writeRegion.since), 'since: when router a saw the new key');
  assert.deepEqual(
    moved.writeRegion.candidates.map((c) => c.region).sort(),
    ['eu-west', 'us-east'],
    "this router's view of the candidates stays",
  );
  checkAgainstOpenApi(moved);

  const explained = (await admin(a, 'GET', `/admin/explain?ip=${US}&method=POST&path=/api/orders`)).json as { region: string };
  assert.equal(explained.region, 'eu-west');
  const w = await write(a);
  assert.equal(w.status, 200);
  assert.equal(w.headers['x-meridian-region'], 'eu-west', '/admin/state says where writes really go');

  const run = await runCli(['fleet', 'status', '--config', a.configFile]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^write region: eu-west {2}epoch 2 {2}active$/m);
});

test('the status page shows the fleet: its write region and epoch, the members and the leader', async () => {
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH ?? ''].find(
    (p) => p !== '' && existsSync(p),
  );
  assert.ok(chromium, 'Chromium is needed for this test: apt-get install -y chromium (or set CHROMIUM_PATH)');
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${a.adminPort}/`, { waitUntil: 'load' });
    // the previous test moved writes to eu-west at epoch 2 by an operator
    await page.waitForFunction(() => document.querySelector('#write-epoch')?.textContent === '2', { timeout: 10_000 });
    const text = (sel: string): Promise<string> => page.$eval(sel, (e) => e.textContent ?? '');
    assert.equal(await text('#write-region'), 'eu-west');
    assert.equal(await text('#write-reason'), 'agreed by the fleet (set by an operator)');
    const leader = (await fleetOf(a)).leader;
    assert.equal(await text('#fleet-status'), `connected, leader ${leader}`);
    assert.deepEqual(await page.$$eval('#members li', (lis) => lis.map((li) => li.textContent)), [
      `a (site-a)${leader === 'a' ? ' — leader' : ''}`,
      `b (site-b)${leader === 'b' ? ' — leader' : ''}`,
    ]);
  } finally {
    await browser.close();
  }
});
