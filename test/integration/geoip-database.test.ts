// `geoip.database`: the router locates clients with a MaxMind database instead of the bundled data,
// follows the file when it is replaced (renamed over, as geoipupdate does, or rewritten), keeps
// the data in use when the replacement does not open, and reports the data's age.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asClient, metric } from '../helpers/core.js';
import { cityRecord, countryRecord, writeMmdb } from '../helpers/mmdb.js';
import { CLI, REPO_ROOT, request, startRouter, waitFor, waitReady, writeTempConfig, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'meridian-geodb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 5.9.0.1 is German in geoip-lite's data; the test databases place it elsewhere, so the answer shows which data is used. */
const CLIENT = '5.9.0.1';

describe('a router with geoip.database', () => {
  let world: World;
  let router: RouterProc;
  const db = join(dir, 'GeoLite2-City.mmdb');
  before(async () => {
    writeMmdb(db, {
      databaseType: 'GeoLite2-City',
      buildEpoch: new Date(Date.now() - 10 * DAY),
      networks: [
        { cidr: '5.9.0.0/16', data: cityRecord('JP', 35.69, 139.69) },
        { cidr: '81.2.0.0/16', data: cityRecord('GB', 51.51, -0.09) },
      ],
    });
    world = await startWorld();
    router = await startRouter(configYaml(world, `geoip: { database: ${db} }\n`));
    await waitReady(router);
  });
  after(async () => {
    await router.stop();
    await world.stop();
  });

  test('clients are located by the database, not the bundled data', async () => {
    const a = await asClient(router.port, CLIENT);
    assert.equal(a.headers['x-meridian-region'], 'ap-southeast', 'the database puts 5.9.0.1 in Japan');
    assert.equal((await asClient(router.port, '81.2.69.142')).headers['x-meridian-region'], 'eu-west');
  });

  test('an address the database lacks has an unknown location', async () => {
    const a = await asClient(router.port, '8.8.8.8');
    assert.equal(a.headers['x-meridian-reason'], 'unknown-location');
  });

  test('meridian_geoip_data_age_days tells how old the data is', async () => {
    const m = await request(router.adminPort, { path: '/metrics' });
    const age = metric(m.text, 'meridian_geoip_data_age_days');
    assert.ok(age !== null && age > 9.9 && age < 10.1, `age ${age}`);
  });

  test('a replacement renamed into place is used within seconds', async () => {
    const next = join(dir, 'next.mmdb');
    writeMmdb(next, {
      databaseType: 'GeoLite2-City',
      buildEpoch: new Date(Date.now() - DAY),
      networks: [{ cidr: '5.9.0.0/16', data: cityRecord('DE', 50.11, 8.68, true) }],
    });
    renameSync(next, db);
    await router.waitForLog((l) => l.event === 'geoip' && l.result === 'reloaded', 8_000);
    await waitFor(async () => (await asClient(router.port, CLIENT)).headers['x-meridian-region'] === 'eu-west', 5_000, 'the new answer');
    const m = await request(router.adminPort, { path: '/metrics' });
    const age = metric(m.text, 'meridian_geoip_data_age_days');
    assert.ok(age !== null && age > 0.9 && age < 1.1, `age ${age}`);
  });

  test('a replacement that is not a database keeps the data in use and says so', async () => {
    writeFileSync(db, 'half-written garbage');
    await router.waitForLog((l) => l.event === 'geoip' && l.result === 'failure', 8_000);
    assert.equal((await asClient(router.port, CLIENT)).headers['x-meridian-region'], 'eu-west');
  });
});

test('a Country database pins countries but gives no distances', async (t) => {
  const db = join(dir, 'GeoLite2-Country.mmdb');
  writeMmdb(db, {
    databaseType: 'GeoLite2-Country',
    buildEpoch: new Date(),
    networks: [{ cidr: '5.9.0.0/16', data: countryRecord('DE', true) }],
  });
  const world = await startWorld();
  t.after(() => world.stop());
  const router = await startRouter(
    configYaml(world, `geoip: { database: ${db} }\nresidency: [{ name: gdpr, countries: [EU], regions: [eu-west] }]\n`).replace(
      '  - name: eu-west\n',
      '  - name: eu-west\n    countries: [DE]\n',
    ),
  );
  t.after(() => router.stop());
  await waitReady(router);
  const a = await asClient(router.port, CLIENT);
  assert.equal(a.headers['x-meridian-region'], 'eu-west');
  assert.equal(a.headers['x-meridian-reason'], 'country');
  const ex = await request(router.adminPort, { path: `/admin/explain?ip=${CLIENT}&path=/` });
  const body = ex.json as { client?: { lat?: unknown }; preference?: { distanceKm: unknown }[] };
  assert.ok(
    body.preference?.every((p) => p.distanceKm === null),
    JSON.stringify(ex.json),
  );
});

describe('meridian validate', () => {
  const run = (yaml: string): { code: number | null; out: string } => {
    const r = spawnSync(process.execPath, [CLI, 'validate', '--config', writeTempConfig(yaml)], { cwd: REPO_ROOT, encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const REGION = 'regions:\n  - name: a\n    location: { lat: 1, lon: 1 }\n    endpoints: [http://127.0.0.1:1]\n';
  test('fails when the database file is missing, naming the key and its position', () => {
    const r = run(`${REGION}geoip:\n  database: ${join(dir, 'missing.mmdb')}\n`);
    assert.equal(r.code, 1);
    assert.match(r.out, /:6:13 geoip\.database: cannot read the GeoIP database: .*ENOENT/);
  });
  test('fails when the file is not a MaxMind database', () => {
    const f = join(dir, 'not.mmdb');
    writeFileSync(f, 'hello');
    const r = run(`${REGION}geoip:\n  database: ${f}\n`);
    assert.equal(r.code, 1);
    assert.match(r.out, /geoip\.database: .* is not a MaxMind database/);
  });
  test('accepts a database named relative to the config file', () => {
    const config = writeTempConfig(`${REGION}geoip:\n  database: data/City.mmdb\n`);
    mkdirSync(join(dirname(config), 'data'));
    copyFileSync(join(REPO_ROOT, 'test', 'fixtures', 'geoip', 'GeoLite2-City-Test.mmdb'), join(dirname(config), 'data', 'City.mmdb'));
    const r = spawnSync(process.execPath, [CLI, 'validate', '--config', config], { cwd: tmpdir(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
