import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { isAbsolute } from 'node:path';
import { formatConfigError, loadConfigFile, loadConfigText, type LoadResult } from '../../src/config/load.js';
import { substitute } from '../../src/config/yaml-source.js';
import type { Snapshot } from '../../src/types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // build-test/test/unit → repo root
const FIXTURES = `${ROOT}test/fixtures/config/`;

/** Minimal valid config; tests append keys to it, which then start on line 9. */
const BASE = `regions:
  - name: us-east
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [http://127.0.0.1:9001]
    countries: [us, CA]
  - name: eu-west
    location: { lat: 53.35, lon: -6.26 }
    endpoints: ["http://127.0.0.1:9002/"]
`;

function load(text: string, env: NodeJS.ProcessEnv = {}): LoadResult {
  return loadConfigText(text, 'test.yaml', env);
}

function errors(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const r = load(text, env);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.errors.map(formatConfigError);
}

function snap(text: string, env: NodeJS.ProcessEnv = {}): Snapshot {
  const r = load(text, env);
  if (!r.ok) assert.fail(`expected ok, got:\n${r.errors.map(formatConfigError).join('\n')}`);
  return r.snapshot;
}

test('defaults are applied from the schema', () => {
  const s = snap(BASE);
  assert.deepEqual(s.listen, { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(s.admin, { host: '127.0.0.1', port: 9901, token: null, metrics: null });
  assert.deepEqual(s.trustedProxies, []);
  assert.equal(s.health.path, '/health');
  assert.equal(s.health.intervalMs, 2000);
  assert.equal(s.health.timeoutMs, 1000);
  assert.equal(s.health.unhealthyThreshold, 3);
  assert.equal(s.health.healthyThreshold, 2);
  assert.equal(s.health.failbackDelayMs, 10_000);
  assert.equal(s.health.slowStartMs, 0);
  assert.equal(s.health.lagHeader, 'x-replication-lag');
  assert.equal(s.health.jitterMs, 200, 'jitter defaults to 10% of interval');
  assert.equal(s.health.expectedStatuses.size, 100);
  assert.ok(s.health.expectedStatuses.has(200) && s.health.expectedStatuses.has(299) && !s.health.expectedStatuses.has(300));
  assert.deepEqual(s.health.damping, { penalty: 1000, halfLifeMs: 30_000, suppressLimit: 2500, reuseLimit: 750, maxPenalty: 6000 });
  assert.deepEqual(s.passive, {
    consecutiveFailures: 5,
    ejectForMs: 10_000,
    maxEjectMultiplier: 10,
    maxEjectedShare: 0.5,
    statuses: new Set([502, 503, 504]),
  });
  assert.deepEqual(s.affinity, {
    userKey: { header: 'x-user-id', cookie: 'uid' },
    homeRegion: { header: 'x-home-region', cookie: 'home_region' },
  });
  assert.deepEqual(s.residency, []);
  assert.deepEqual(s.writes, { regions: [], failover: 'automatic', failback: 'automatic', maxLagMs: 5000, allowUnknownLag: false });
  assert.equal(s.retry.attempts, 3, 'YAML attempts 2 = retries; snapshot counts total tries');
  assert.equal(s.retry.onConnect, true);
  assert.equal(s.retry.onTimeout, true);
  assert.deepEqual([...s.retry.onStatuses], [502, 503, 504]);
  assert.equal(s.retry.budget, 0.2);
  assert.equal(s.retry.budgetMinPerWindow, 10);
  assert.equal(s.retry.budgetWindowMs, 10_000);
  assert.equal(s.retry.maxBufferBytes, 65536);
  assert.equal(s.allDown, 'reject');
  assert.equal(s.unknownLocation, 'us-east', 'defaults to the first region');
  assert.deepEqual(s.timeouts, { connectMs: 2000, requestMs: 30_000 });
  assert.equal(s.routes.length, 1);
  const r = s.routes[0];
  assert.deepEqual(
    { ...r },
    {
      name: 'default',
      pathPrefix: '/',
      methods: null,
      host: null,
      reads: 'nearest',
      writes: 'nearest',
      mode: 'active-active',
      readYourWritesMs: 0,
    },
  );
  assert.deepEqual(s.readYourWrites, { secret: null, cookie: 'meridian_ryw' });
  assert.equal(s.responseHeaders, true);
  assert.equal(s.shutdownGraceMs, 10_000);
});

test('regions compile with index, normalised endpoints and upper-case countries', () => {
  const s = snap(BASE);
  assert.equal(s.regions.length, 2);
  const [a, b] = s.regions;
  assert.equal(a?.index, 0);
  assert.equal(b?.index, 1);
  assert.deepEqual([...(a?.countries ?? [])], ['US', 'CA']);
  assert.deepEqual(b?.endpoints, ['http://127.0.0.1:9002'], 'trailing slash stripped');
  assert.equal(s.regionByName.get('eu-west'), b);
  assert.ok(isAbsolute(s.file));
});

test('durations, listen addresses and explicit selectors compile', () => {
  const s = snap(`${BASE}listen: "[::1]:0"
health: { interval: 1m30s, timeout: 500ms, jitter: 0s, slowStart: 1.5s }
writes: { regions: [eu-west, us-east] }
routes:
  - name: r
    match: { pathPrefix: /x, methods: [get, Post], host: API.Example.com. }
    reads: home
    writes: primary
    readYourWrites: 1h
`);
  assert.deepEqual(s.listen, { host: '::1', port: 0 });
  assert.equal(s.health.intervalMs, 90_000);
  assert.equal(s.health.timeoutMs, 500);
  assert.equal(s.health.jitterMs, 0, 'explicit 0s jitter is kept, not replaced by the 10% default');
  assert.equal(s.health.slowStartMs, 1500);
  const r = s.routes[0];
  assert.equal(r?.mode, null);
  assert.equal(r?.reads, 'home');
  assert.equal(r?.writes, 'primary');
  assert.deepEqual([...(r?.methods ?? [])], ['GET', 'POST']);
  assert.equal(r?.host, 'api.example.com');
  assert.equal(r?.readYourWritesMs, 3_600_000);
});

test('each mode maps to its reads and writes selectors', () => {
  const s = snap(`${BASE}writes: { regions: [us-east] }
routes:
  - { name: a, mode: active-active }
  - { name: b, mode: home }
  - { name: c, mode: read-local-write-global }
  - { name: d, mode: active-passive }
`);
  assert.deepEqual(
    s.routes.map((r) => [r.name, r.reads, r.writes, r.mode]),
    [
      ['a', 'nearest', 'nearest', 'active-active'],
      ['b', 'home', 'home', 'home'],
      ['c', 'nearest', 'primary', 'read-local-write-global'],
      ['d', 'primary', 'primary', 'active-passive'],
    ],
  );
});

test('bad latitude points at the value', () => {
  const text = BASE.replace('lat: 53.35', 'lat: 95.5');
  assert.deepEqual(errors(text), ['test.yaml:7:22 regions[1].location.lat: 95.5 is out of range: must be between -90 and 90']);
});

test('bad duration: bare number suggests a unit; unknown unit', () => {
  assert.deepEqual(errors(`${BASE}health:\n  interval: 2\n  timeout: 2 seconds\n`), [
    'test.yaml:10:13 health.interval: expected a duration with a unit, got the bare number 2; write "2s" or "2ms"',
    'test.yaml:11:12 health.timeout: expected a duration such as "500ms", "2s", "1m" or "1h", got "2 seconds"',
  ]);
  assert.deepEqual(errors(`${BASE}passive: { ejectFor: 0s }\n`), ['test.yaml:9:22 passive.ejectFor: must be greater than 0s']);
});

test('unknown keys are errors with a suggestion, at every level', () => {
  assert.deepEqual(errors(`${BASE}health:\n  healthyTreshold: 2\nretyr: {}\n`), [
    'test.yaml:10:3 health.healthyTreshold: unknown key `healthyTreshold`; did you mean `healthyThreshold`?',
    'test.yaml:11:1 retyr: unknown key `retyr`; did you mean `retry`?',
  ]);
  // nested in a list item, and no suggestion when nothing is close
  assert.deepEqual(errors(BASE.replace('    countries: [us, CA]', '    zzzzzzzz: 1')), [
    'test.yaml:5:5 regions[0].zzzzzzzz: unknown key `zzzzzzzz`',
  ]);
});

test('environment substitution: whole, partial, default, empty default, numbers', () => {
  const s = snap(
    `${BASE}listen: \${HOST}:\${PORT}
admin:
  token: \${TOKEN:-}
health:
  interval: \${IV:-3s}
  unhealthyThreshold: \${THRESH}
  path: /\${APP}/health
responseHeaders: \${HDRS}
`,
    { HOST: '10.1.2.3', PORT: '8443', THRESH: '7', APP: 'shop', HDRS: 'false' },
  );
  assert.deepEqual(s.listen, { host: '10.1.2.3', port: 8443 });
  assert.equal(s.admin.token, null, 'empty default means no token');
  assert.equal(s.health.intervalMs, 3000);
  assert.equal(s.health.unhealthyThreshold, 7);
  assert.equal(s.health.path, '/shop/health');
  assert.equal(s.responseHeaders, false);
  assert.equal(snap(`${BASE}admin: { token: "\${T}" }\n`, { T: 's3cret' }).admin.token, 's3cret');
});

test('missing environment variable names it, at the node', () => {
  assert.deepEqual(errors(`${BASE}admin:\n  token: \${MERIDIAN_ADMIN_TOKEN}\n`), [
    'test.yaml:10:10 admin.token: environment variable `MERIDIAN_ADMIN_TOKEN` is not set (use ${MERIDIAN_ADMIN_TOKEN:-default} to make it optional)',
  ]);
  assert.deepEqual(substitute('a$${B}c $$5', {}), { ok: true, value: 'a${B}c $5' });
});

test('bad CIDR, IPv6 CIDRs and bare addresses', () => {
  assert.deepEqual(errors(`${BASE}clientIp:\n  trustedProxies: [10.0.0.0/8, 10.0.0.0/33, "::1/129", 300.1.1.1]\n`), [
    'test.yaml:10:32 clientIp.trustedProxies[1]: prefix length "/33" in "10.0.0.0/33" must be 0..32 for an IPv4 address',
    'test.yaml:10:45 clientIp.trustedProxies[2]: prefix length "/129" in "::1/129" must be 0..128 for an IPv6 address',
    'test.yaml:10:56 clientIp.trustedProxies[3]: "300.1.1.1" is not an IP address or CIDR',
  ]);
  const s = snap(`${BASE}clientIp:\n  trustedProxies: ["2001:db8::/32", ::1, 127.0.0.1, fd00::/8]\n`);
  assert.deepEqual(s.trustedProxies, ['2001:db8::/32', '::1/128', '127.0.0.1/32', 'fd00::/8']);
});

test('bad endpoint URLs', () => {
  const text = BASE.replace('endpoints: [http://127.0.0.1:9001]', 'endpoints: [ftp://h/, "http://h/?a=1", "http://h#f", not a url]');
  assert.deepEqual(errors(text), [
    'test.yaml:4:17 regions[0].endpoints[0]: endpoint URL "ftp://h/" must use http: or https:, not ftp:',
    'test.yaml:4:27 regions[0].endpoints[1]: endpoint URL "http://h/?a=1" must not have a query or fragment',
    'test.yaml:4:44 regions[0].endpoints[2]: endpoint URL "http://h#f" must not have a query or fragment',
    'test.yaml:4:58 regions[0].endpoints[3]: "not a url" is not a valid URL (expected e.g. "http://10.0.0.1:8080")',
  ]);
});

test('duplicate region names and an empty endpoint list', () => {
  const text = `${BASE}  - name: us-east\n    location: { lat: 0, lon: 0 }\n    endpoints: []\n`;
  assert.deepEqual(errors(text), [
    'test.yaml:9:11 regions[2].name: duplicate region name `us-east` (first defined at regions[0])',
    'test.yaml:11:16 regions[2].endpoints: must list at least one entry',
  ]);
});

test('unknown regions in writes.regions, residency and unknownLocation', () => {
  const text = `${BASE}writes:
  regions: [us-east, us-wets]
residency:
  - name: gdpr
    countries: [eu, de]
    homeRegions: [mars]
    regions: [eu-wset]
unknownLocation: ap-southeast
`;
  assert.deepEqual(errors(text), [
    'test.yaml:10:22 writes.regions[1]: unknown region `us-wets`; did you mean `us-east`? (regions: us-east, eu-west)',
    'test.yaml:14:19 residency[0].homeRegions[0]: unknown region `mars` (regions: us-east, eu-west)',
    'test.yaml:15:15 residency[0].regions[0]: unknown region `eu-wset`; did you mean `eu-west`? (regions: us-east, eu-west)',
    'test.yaml:16:18 unknownLocation: unknown region `ap-southeast` (regions: us-east, eu-west)',
  ]);
});

test('residency: EU allowed and upper-cased; rule must bind someone; regions required', () => {
  const s = snap(
    `${BASE}residency:\n  - { name: gdpr, countries: [eu, de], regions: [eu-west] }\n  - { name: homes, homeRegions: [eu-west], regions: [eu-west] }\n`,
  );
  assert.deepEqual([...(s.residency[0]?.countries ?? [])], ['EU', 'DE']);
  assert.deepEqual([...(s.residency[1]?.homeRegions ?? [])], ['eu-west']);
  assert.deepEqual([...(s.residency[1]?.countries ?? [])], []);
  assert.deepEqual(errors(`${BASE}residency:\n  - name: nobody\n    regions: [eu-west]\n  - name: noregions\n    countries: [FR]\n`), [
    'test.yaml:10:5 residency[0]: residency rule `nobody` binds nobody: give `countries` or `homeRegions`',
    'test.yaml:12:5 residency[1].regions: missing required key `regions`',
  ]);
  // EU is refused in a region's own country list
  assert.deepEqual(errors(BASE.replace('countries: [us, CA]', 'countries: [EU]')), [
    'test.yaml:5:17 regions[0].countries[0]: "EU" is only meaningful in residency rules; list the countries here',
  ]);
});

test('mode together with reads/writes is rejected; reads without writes too', () => {
  const text = `${BASE}routes:
  - name: a
    mode: home
    reads: nearest
  - name: b
    writes: nearest
`;
  assert.deepEqual(errors(text), [
    'test.yaml:12:12 routes[0].reads: give either `mode` or both `reads` and `writes`, not both (mode is `home`)',
    'test.yaml:14:13 routes[1].writes: `reads` is missing: give both `reads` and `writes`, or a `mode`',
  ]);
});

test('primary selector without writes.regions is rejected', () => {
  const text = `${BASE}routes:
  - name: pay
    mode: active-passive
  - name: x
    reads: nearest
    writes: primary
  - name: ok
    mode: home
`;
  assert.deepEqual(errors(text), [
    'test.yaml:11:11 routes[0].mode: mode `active-passive` sends requests to the write region, but `writes.regions` is empty; list the regions that may take writes',
    'test.yaml:14:13 routes[1].writes: selector `primary` sends requests to the write region, but `writes.regions` is empty; list the regions that may take writes',
  ]);
});

test('enum typo, methods, ranges and retry.on', () => {
  const text = `${BASE}allDown: rejct
retry: { attempts: -1, budget: 1.5, on: [connect, 302, 599, "timeout"] }
passive: { maxEjectedPercent: 101 }
routes:
  - name: r
    match: { pathPrefix: api, methods: ["GE T"] }
`;
  assert.deepEqual(errors(text), [
    'test.yaml:9:10 allDown: expected one of reject, try; got "rejct"; did you mean `reject`?',
    'test.yaml:10:20 retry.attempts: -1 is out of range: must be between 0 and 10',
    'test.yaml:10:32 retry.budget: 1.5 is out of range: must be between 0 and 1',
    'test.yaml:10:51 retry.on[1]: expected connect, timeout or a status 400..599, got 302',
    'test.yaml:11:31 passive.maxEjectedPercent: 101 is out of range: must be between 0 and 100',
    'test.yaml:14:26 routes[0].match.pathPrefix: expected a path starting with "/", got "api"',
    'test.yaml:14:41 routes[0].match.methods[0]: expected an HTTP method such as GET or POST, got "GE T"',
  ]);
  const s = snap(`${BASE}retry: { attempts: 0, on: [timeout, 429, 503] }\n`);
  assert.equal(s.retry.attempts, 1);
  assert.equal(s.retry.onConnect, false);
  assert.equal(s.retry.onTimeout, true);
  assert.deepEqual([...s.retry.onStatuses], [429, 503]);
});

test('listen addresses', () => {
  assert.deepEqual(errors(`${BASE}listen: 0.0.0.0:65536\nadmin: { listen: "::1:9901" }\n`), [
    'test.yaml:9:9 listen: port "65536" in "0.0.0.0:65536" must be an integer 0..65535',
    'test.yaml:10:18 admin.listen: IPv6 listen addresses need brackets: "[::1]:9901"',
  ]);
});

test('missing required keys point at the parent map', () => {
  assert.deepEqual(errors('regions:\n  - name: a\n    location: { lat: 1 }\n'), [
    'test.yaml:2:5 regions[0].endpoints: missing required key `endpoints`',
    'test.yaml:3:15 regions[0].location.lon: missing required key `lon`',
  ]);
  assert.deepEqual(errors('listen: 0.0.0.0:1\n'), ['test.yaml:1:1 regions: missing required key `regions`']);
  assert.deepEqual(errors(''), ['test.yaml:1:1 regions: missing required key `regions`']);
});

test('every error is reported at once, in file order', () => {
  const r = loadConfigFile(`${FIXTURES}many-errors.yaml`, {});
  assert.equal(r.ok, false);
  if (r.ok) return;
  const lines = r.errors.map((e) => `${e.line}:${e.col} ${e.path}`);
  assert.deepEqual(lines, [
    '2:9 listen',
    '4:10 admin.token',
    '9:22 regions[0].location.lat',
    '11:11 regions[1].name',
    '15:3 health.intervall',
    '16:12 health.timeout',
    '18:13 writes.regions[0]',
    '19:10 allDown',
  ]);
  assert.equal(r.errors[0]?.file, `${FIXTURES}many-errors.yaml`);
});

test('YAML syntax errors and unreadable files have positions and no key path', () => {
  const r = load(`${BASE}health: { interval: 2s\n`);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.ok(r.errors.length >= 1);
  assert.equal(r.errors[0]?.path, '');
  assert.match(formatConfigError(r.errors[0]), /^test\.yaml:\d+:\d+: \S/);
  assert.equal(r.errors[0]?.line, 10);

  const dup = errors(`${BASE}allDown: try\nallDown: reject\n`);
  assert.equal(dup.length, 1);
  assert.match(dup[0] ?? '', /^test\.yaml:10:1: Map keys must be unique/);

  const missing = loadConfigFile('/nonexistent/meridian.yaml');
  assert.equal(missing.ok, false);
  if (!missing.ok)
    assert.match(formatConfigError(missing.errors[0]!), /^\/nonexistent\/meridian\.yaml:1:1: cannot read config file: ENOENT/);

  assert.deepEqual(errors('- a\n- b\n'), ['test.yaml:1:1: the config must be a map of keys (such as "regions:"), got a list']);
});

test('damping limits are checked against each other', () => {
  assert.deepEqual(errors(`${BASE}health:\n  damping: { reuseLimit: 3000, maxPenalty: 2000 }\n`), [
    // suppressLimit is not in the file (default 2500): the error points at the enclosing map
    'test.yaml:10:12 health.damping.suppressLimit: must not exceed health.damping.maxPenalty (2000), or suppression could never happen',
    'test.yaml:10:26 health.damping.reuseLimit: must be below health.damping.suppressLimit (2500), or a suppressed region could never be reused',
  ]);
});

test('readYourWrites secret length and warnings', () => {
  assert.deepEqual(errors(`${BASE}readYourWrites: { secret: short }\n`), [
    'test.yaml:9:27 readYourWrites.secret: must be at least 16 characters long (got 5)',
  ]);
  const r = load(`${BASE}writes: { regions: [us-east] }\nroutes: [{ name: a, mode: read-local-write-global, readYourWrites: 5s }]\n`);
  assert.ok(r.ok);
  if (r.ok) assert.ok(r.warnings.some((w) => w.includes('readYourWrites.secret is not set')));
  const quiet = load(`${BASE}readYourWrites: { secret: 0123456789abcdef, cookie: ryw }\nroutes: [{ name: a, readYourWrites: 5s }]\n`);
  assert.ok(quiet.ok);
  if (quiet.ok) {
    assert.deepEqual(quiet.warnings, []);
    assert.deepEqual(quiet.snapshot.readYourWrites, { secret: '0123456789abcdef', cookie: 'ryw' });
  }
});

test('nullable keys switch features off', () => {
  const s = snap(`${BASE}health: { lagHeader: null }\naffinity:\n  userKey: { cookie: ~ }\n  homeRegion: { header: "" }\n`);
  assert.equal(s.health.lagHeader, null);
  assert.deepEqual(s.affinity, { userKey: { header: 'x-user-id', cookie: null }, homeRegion: { header: null, cookie: 'home_region' } });
});

test('snapshot is deep-frozen', () => {
  const s = snap(`${BASE}routes: [{ name: a, match: { methods: [GET] } }]\n`);
  assert.ok(Object.isFrozen(s));
  assert.ok(Object.isFrozen(s.regions));
  assert.ok(Object.isFrozen(s.regions[0]));
  assert.ok(Object.isFrozen(s.regions[0]?.endpoints));
  assert.ok(Object.isFrozen(s.health.damping));
  assert.ok(Object.isFrozen(s.routes[0]));
  assert.ok(Object.isFrozen(s.regionByName));
  assert.throws(() => {
    (s as { allDown: string }).allDown = 'try';
  }, TypeError);
  assert.throws(() => {
    (s.regions as unknown as string[]).push('x');
  }, TypeError);
  assert.throws(() => {
    (s.health as { intervalMs: number }).intervalMs = 1;
  }, TypeError);
});

for (const name of ['meridian.yaml', 'demo.yaml']) {
  test(`example config/${name} is valid`, () => {
    const r = loadConfigFile(`${ROOT}config/${name}`, {});
    if (!r.ok) assert.fail(r.errors.map(formatConfigError).join('\n'));
    assert.equal(r.snapshot.regions.length, 3);
    assert.equal(r.snapshot.file, `${ROOT}config/${name}`);
  });
}

test('config/meridian.yaml compiles to the values it annotates', () => {
  const r = loadConfigFile(`${ROOT}config/meridian.yaml`, { MERIDIAN_ADMIN_TOKEN: 'tok' });
  if (!r.ok) return assert.fail(r.errors.map(formatConfigError).join('\n'));
  const s = r.snapshot;
  assert.equal(s.admin.token, 'tok');
  assert.deepEqual(s.writes.regions, ['us-east', 'eu-west']);
  assert.deepEqual([...(s.residency[0]?.countries ?? [])], ['EU']);
  assert.deepEqual(
    s.routes.map((x) => [x.name, x.pathPrefix, x.mode, x.readYourWritesMs]),
    [
      ['payments', '/api/payments', 'active-passive', 0],
      ['api', '/api', 'read-local-write-global', 10_000],
      ['default', '/', 'active-active', 0],
    ],
  );
});

test('config/demo.yaml has the demo topology', () => {
  const r = loadConfigFile(`${ROOT}config/demo.yaml`, {});
  if (!r.ok) return assert.fail(r.errors.map(formatConfigError).join('\n'));
  const s = r.snapshot;
  assert.deepEqual(s.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(s.trustedProxies, ['127.0.0.1/32', '::1/128']);
  assert.deepEqual(
    s.regions.map((x) => [x.name, x.endpoints[0]]),
    [
      ['us-east', 'http://127.0.0.1:9001'],
      ['eu-west', 'http://127.0.0.1:9002'],
      ['ap-southeast', 'http://127.0.0.1:9003'],
    ],
  );
  assert.equal(s.health.intervalMs, 1000);
  assert.equal(s.health.timeoutMs, 500);
  assert.equal(s.health.failbackDelayMs, 5000);
  assert.equal(s.passive.consecutiveFailures, 3);
  assert.equal(s.passive.ejectForMs, 5000);
  assert.deepEqual(s.residency, []);
  assert.deepEqual(
    s.routes.map((x) => x.name),
    ['payments', 'api', 'users', 'ws', 'default'],
  );
  assert.equal(s.routes[1]?.readYourWritesMs, 10_000);
});

test('validate rejects what serve would reject: an IPv4-mapped prefix shorter than /96', () => {
  const errs = errors(`${BASE}clientIp:\n  trustedProxies: ["::ffff:10.0.0.0/90"]\n`);
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^test\.yaml:10:20 clientIp\.trustedProxies\[0\]: "::ffff:10\.0\.0\.0\/90": /);
  // The same address with a mapped prefix of /104 (= 10.0.0.0/8) is fine.
  assert.deepEqual(snap(`${BASE}clientIp:\n  trustedProxies: ["::ffff:10.0.0.0/104"]\n`).trustedProxies, ['::ffff:10.0.0.0/104']);
});

test('one endpoint URL in two regions is an error naming both places', () => {
  const text = BASE.replace('endpoints: ["http://127.0.0.1:9002/"]', 'endpoints: ["http://127.0.0.1:9001"]');
  assert.deepEqual(errors(text), [
    'test.yaml:8:17 regions[1].endpoints[0]: endpoint http://127.0.0.1:9001 is already listed at regions[0].endpoints[0]; each endpoint belongs to one region, once',
  ]);
});

test('retry.attempts is bounded', () => {
  assert.deepEqual(errors(`${BASE}retry: { attempts: 11 }\n`), [
    'test.yaml:9:20 retry.attempts: 11 is out of range: must be between 0 and 10',
  ]);
  assert.equal(snap(`${BASE}retry: { attempts: 10 }\n`).retry.attempts, 11);
});

test('workers: default 1, an integer, auto, or ${VAR}; anything else names the fix', () => {
  assert.equal(snap(BASE).workers, 1);
  assert.equal(snap(`${BASE}workers: 4\n`).workers, 4);
  assert.equal(snap(`${BASE}workers: auto\n`).workers, 'auto');
  assert.equal(snap(`${BASE}workers: \${W}\n`, { W: '3' }).workers, 3);
  assert.deepEqual(errors(`${BASE}workers: 0\n`), ['test.yaml:9:10 workers: expected auto or an integer 1..64, got 0']);
  assert.deepEqual(errors(`${BASE}workers: two\n`), ['test.yaml:9:10 workers: expected auto or an integer 1..64, got "two"']);
  assert.deepEqual(errors(`${BASE}workers: 1.5\n`), ['test.yaml:9:10 workers: expected auto or an integer 1..64, got 1.5']);
});
