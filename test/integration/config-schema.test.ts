// The config's JSON Schema: generated from the loader's schema, committed up to date, printed by
// `meridian schema`, compiled by ajv, and in agreement with `meridian validate`: every example and
// every config in the valid table passes both; every committed invalid example
// (config/examples/invalid/) fails both. Examples carry the yaml-language-server comment so editors
// find the schema.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { jsonSchemaText } from '../../src/config/json-schema.js';
import { CLI, REPO_ROOT, writeTempConfig } from '../helpers/router-process.js';

const SCHEMA_FILE = join(REPO_ROOT, 'config', 'meridian.schema.json');
const committed = readFileSync(SCHEMA_FILE, 'utf8');
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validateSchema = ajv.compile(JSON.parse(committed) as object);

function meridian(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, MERIDIAN_ADMIN_TOKEN: 'token', MERIDIAN_RYW_SECRET: 's'.repeat(32) },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

function ajvErrors(text: string): string[] {
  return validateSchema(parse(text)) ? [] : (validateSchema.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

const examples = [
  'config/meridian.yaml',
  'config/demo.yaml',
  'config/docker.yaml',
  ...readdirSync(join(REPO_ROOT, 'config', 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `config/examples/${f}`),
];
const invalid = readdirSync(join(REPO_ROOT, 'config', 'examples', 'invalid'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `config/examples/invalid/${f}`);

describe('the committed schema', () => {
  test('config/meridian.schema.json is what the schema renders (npm run docs:config regenerates it)', () => {
    assert.equal(committed, jsonSchemaText());
  });

  test('meridian schema prints the same text', () => {
    const r = spawnSync(process.execPath, [CLI, 'schema'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, committed);
  });

  test('it refuses unknown keys at every level', () => {
    const bad = (o: object): boolean => !validateSchema(o);
    const region = { name: 'a', location: { lat: 0, lon: 0 }, endpoints: ['http://10.0.0.1'] };
    assert.ok(bad({ regions: [region], bogus: 1 }));
    assert.ok(bad({ regions: [{ ...region, bogus: 1 }] }));
    assert.ok(bad({ regions: [{ ...region, location: { lat: 0, lon: 0, alt: 3 } }] }));
    assert.ok(bad({ regions: [region], health: { damping: { bogus: 1 } } }));
    assert.ok(!bad({ regions: [region] }));
  });
});

describe('examples', () => {
  for (const file of [...examples, ...invalid]) {
    test(`${file} names the schema for editors`, () => {
      const first = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n')[0];
      assert.match(first ?? '', /^# yaml-language-server: \$schema=(\.\.\/)*(\.\/)?meridian\.schema\.json$/);
    });
  }
  for (const file of examples) {
    test(`${file} passes ajv and meridian validate`, () => {
      assert.deepEqual(ajvErrors(readFileSync(join(REPO_ROOT, file), 'utf8')), []);
      const r = meridian('validate', '--config', file);
      assert.equal(r.code, 0, r.out);
    });
  }
  test('there are invalid examples to check', () => assert.ok(invalid.length >= 5));
  for (const file of invalid) {
    test(`${file} fails ajv and meridian validate`, () => {
      assert.notDeepEqual(ajvErrors(readFileSync(join(REPO_ROOT, file), 'utf8')), [], 'ajv accepted it');
      const r = meridian('validate', '--config', file);
      assert.equal(r.code, 1, r.out);
    });
  }
});

const REGION = `regions:
  - name: us-east
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [http://10.1.0.10:8080]
`;

/** Valid configs exercising what the schema must not refuse: references, empty values, quoted forms. */
const VALID: Record<string, string> = {
  'the smallest config': REGION,
  'values from the environment': `listen: \${LISTEN:-0.0.0.0:8080}\n${REGION}health: { interval: "\${INTERVAL:-2s}", unhealthyThreshold: "\${N:-3}" }\nworkers: \${WORKERS:-1}\n`,
  'empty maps and lists mean defaults and none': `admin:\nclientIp:\n  trustedProxies:\n${REGION}residency:\n`,
  'keys switched off with null or ""': `${REGION}admin: { token: "" }\nhealth: { lagHeader: ~ }\naffinity: { userKey: { cookie: null } }\n`,
  'IPv6 listen, quoted retry status, workers auto': `listen: "[::1]:8080"\n${REGION}retry: { on: [connect, "503", 504] }\nworkers: auto\n`,
};

describe('the valid table: accepted by ajv and meridian validate', () => {
  for (const [name, yaml] of Object.entries(VALID)) {
    test(name, () => {
      assert.deepEqual(ajvErrors(yaml), []);
      const r = meridian('validate', '--config', writeTempConfig(yaml));
      assert.equal(r.code, 0, r.out);
    });
  }
});
