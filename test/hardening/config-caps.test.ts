// Config that cannot hurt: what `meridian validate` (and so `serve` and a reload) refuses or warns
// about, tried from outside with the real CLI on real files.
//  - D4: a duration above 2^31-1 ms used to pass and then fire after 1 ms (Node clamps such timers);
//    every duration is now capped at 24 h.
//  - D5: YAML aliases used to be resolved again at every use, and a "billion laughs" file expanded
//    exponentially: validation took minutes while a reload blocked serving. Aliases now resolve once
//    and their expansion is capped.
//  - names above 64 characters, buffers above 64 MiB, and a warning for a trustedProxies entry that
//    trusts every address.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { CLI, REPO_ROOT, writeTempConfig } from '../helpers/router-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `meridian validate` on `yaml`. `limitMs` only catches a hang (the old code took minutes on the
 * alias files); it is far above what validation takes and asserts nothing about speed.
 */
function validate(yaml: string, limitMs = 20_000): Promise<Run & { file: string }> {
  const file = writeTempConfig(yaml);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'validate', '--config', file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`meridian validate did not finish within ${limitMs} ms`));
    }, limitMs);
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, file });
    });
  });
}

const REGIONS = `regions:
  - name: us-east
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [http://127.0.0.1:9001]
`;

describe('D4: durations are capped at 24 h', () => {
  for (const [key, yaml, line] of [
    ['health.interval', `${REGIONS}health:\n  interval: 600h\n`, 6],
    ['timeouts.request', `${REGIONS}timeouts:\n  request: 24h1s\n`, 6],
    ['passive.ejectFor', `${REGIONS}passive: { ejectFor: 2147484s }\n`, 5],
  ] as const) {
    test(`${key} above 24h is refused with its position`, async () => {
      const r = await validate(yaml);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout + r.stderr,
        new RegExp(`${r.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+ ${key.replace('.', '\\.')}: .*at most 24h`),
      );
    });
  }
  test('exactly 24h is accepted', async () => {
    const r = await validate(`${REGIONS}timeouts:\n  request: 24h\n`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

/** A "billion laughs": each level lists the previous one `width` times. */
function laughs(levels: number, width: number): string {
  const lines = ['x0: &l0 [lol]'];
  for (let i = 1; i <= levels; i++) lines.push(`x${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`);
  return lines.join('\n');
}

describe('D5: YAML aliases cannot blow up validation', () => {
  test('a billion-laughs file is refused, naming the alias that went over the cap', async () => {
    // 10^9 nodes once expanded, under a key the schema does not know (the old walker expanded it anyway).
    const yaml = `${REGIONS}routes:\n  - name: default\n    match: { pathPrefix: / }\n    mode: active-active\n    bomb:\n${laughs(9, 10)
      .split('\n')
      .map((l) => `      ${l}`)
      .join('\n')}\n`;
    const r = await validate(yaml);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /aliases expand to more than \d+ nodes/);
  });

  test('thousands of plain aliases in a large file still validate (each alias is resolved once)', async () => {
    // ~6,000 aliases of one anchor: the old resolution walked the document once per alias.
    const n = 6000;
    const routes = Array.from(
      { length: n },
      (_, i) => `  - { name: r${i}, match: { pathPrefix: /r${i} }, mode: ${i === 0 ? '&m active-active' : '*m'} }`,
    );
    const r = await validate(`${REGIONS}routes:\n${routes.join('\n')}\n`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

describe('names, buffers and trusted proxies', () => {
  test('a region name above 64 characters is refused', async () => {
    const long = 'r'.repeat(65);
    const r = await validate(REGIONS.replace('us-east', long));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /:2:\d+ regions\[0\]\.name: .*at most 64 characters/);
  });

  test('a 64-character name is accepted', async () => {
    const r = await validate(REGIONS.replace('us-east', 'r'.repeat(64)));
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test('retry.maxBufferBytes above 64 MiB is refused', async () => {
    const r = await validate(`${REGIONS}retry: { maxBufferBytes: 67108865 }\n`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /retry\.maxBufferBytes: 67108865 is out of range: must be between 0 and 67108864/);
  });

  for (const cidr of ['0.0.0.0/0', '::/0']) {
    test(`trustedProxies ${cidr} is a warning: every client could claim any address`, async () => {
      const r = await validate(`${REGIONS}clientIp: { trustedProxies: ['${cidr}'] }\n`);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^warning: .*trustedProxies.*${cidr.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*trusts every`, 'm'));
    });
  }
});
