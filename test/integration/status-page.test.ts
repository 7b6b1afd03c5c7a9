/// <reference lib="dom" />
// The status page at GET / of the admin listener, in a real browser: Chromium (Debian's `chromium`,
// which .ci/run installs) driven by puppeteer-core. The page renders every region, shows a region
// going DOWN and a dial without a reload, loads nothing from another origin, and leaves a
// screenshot in test-results/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { admin, REPO_ROOT, request, startRouter, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env.CHROMIUM_PATH ?? ''].find((p) => p !== '' && existsSync(p));

let world: World;
let router: RouterProc;
let browser: Browser;
let page: Page;
const requested: string[] = [];

before(async () => {
  assert.ok(CHROMIUM, 'Chromium is needed for this test: apt-get install -y chromium (or set CHROMIUM_PATH)');
  world = await startWorld();
  router = await startRouter(configYaml(world, 'health: { interval: 200ms, timeout: 150ms, unhealthyThreshold: 1 }\n'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('request', (r) => requested.push(r.url()));
  await page.setViewport({ width: 1100, height: 800 });
});
after(async () => {
  await browser?.close();
  await router?.stop();
  await world?.stop();
});

const stateOf = (region: string): Promise<string> =>
  page.$eval(`tr[data-region="${region}"] td[data-state]`, (td) => (td as HTMLElement).dataset.state ?? '');

test('the status page renders the regions, then shows a region going DOWN and a dial without a reload', async () => {
  const origin = `http://127.0.0.1:${router.adminPort}`;
  const head = await request(router.adminPort, { path: '/' });
  assert.equal(head.status, 200);
  assert.match(String(head.headers['content-type']), /^text\/html/);
  assert.match(String(head.headers['content-security-policy']), /default-src 'none'/);

  await page.goto(`${origin}/`, { waitUntil: 'load' });
  await page.waitForFunction(
    () => document.querySelectorAll('#regions tr').length === 3 && document.querySelector('#meta')?.textContent?.startsWith('updated'),
  );
  for (const r of ['us-east', 'eu-west', 'ap-southeast']) assert.equal(await stateOf(r), 'UP', r);
  assert.equal(await page.$eval('#write-epoch', (e) => e.textContent), '—', 'no fleet: no epoch');
  assert.match((await page.$eval('#fleet-status', (e) => e.textContent)) ?? '', /no fleet/);

  const navigations = requested.filter((u) => u === `${origin}/`).length;
  await world.b('eu-west').kill();
  await page.waitForFunction(
    () => document.querySelector<HTMLElement>('tr[data-region="eu-west"] td[data-state]')?.dataset.state === 'DOWN',
    { timeout: 15_000 },
  );
  assert.match((await page.$eval('#events', (e) => e.textContent)) ?? '', /region eu-west available -> unavailable/);

  assert.equal((await admin(router, 'POST', '/admin/regions/us-east/dial', undefined, '{"percent": 30}')).status, 200);
  await page.waitForFunction(
    () => document.querySelector<HTMLElement>('tr[data-region="us-east"] td[data-state]')?.dataset.state === 'DIALED 30%',
    { timeout: 10_000 },
  );
  assert.equal(requested.filter((u) => u === `${origin}/`).length, navigations, 'the page was never reloaded');
  assert.ok(
    requested.every((u) => u.startsWith(`${origin}/`)),
    `nothing from another origin: ${requested.filter((u) => !u.startsWith(origin)).join(' ')}`,
  );

  const dir = join(REPO_ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'status-page.png');
  await page.screenshot({ path: `${file.slice(0, -4)}.png`, fullPage: true });
  assert.ok(existsSync(file));
});
