// What a packager looks for: the licence, a .dockerignore that keeps build output and secrets out
// of the image context, and a hardened systemd unit that systemd itself accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/router-process.js';

const read = (p: string): string => readFileSync(join(REPO_ROOT, p), 'utf8');
const UNIT = 'deploy/systemd/meridian.service';

test('LICENSE is the Apache License 2.0 and package.json says so', () => {
  const text = read('LICENSE');
  assert.match(text, /Apache License\s+Version 2\.0, January 2004/);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
  assert.ok(text.length > 10_000, 'the full text, not a notice');
  assert.equal((JSON.parse(read('package.json')) as { license: string }).license, 'Apache-2.0');
});

test('.dockerignore keeps dependencies, build output, VCS data and secrets out of the build context', () => {
  const lines = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const p of ['node_modules', 'dist', 'build-test', 'test-results', '.git', '.env', 'docs']) assert.ok(lines.includes(p), p);
  for (const needed of ['src', 'config', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    assert.ok(!lines.includes(needed), `${needed} is needed by the Dockerfile's build`);
  }
});

/** The unit as section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      out.set(s[1]!, (section = new Map()));
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    assert.ok(kv && section, `unit line parses: ${line}`);
    section.set(kv[1]!, [...(section.get(kv[1]!) ?? []), kv[2]!]);
  }
  return out;
}

test('the systemd unit runs serve unprivileged and hardened, reloads with SIGHUP, restarts on failure', () => {
  const unit = parseUnit(read(UNIT));
  const svc = unit.get('Service')!;
  const one = (k: string): string | undefined => svc.get(k)?.at(-1);
  assert.match(one('ExecStart') ?? '', /^\/usr\/bin\/node \S+\/dist\/cli\.js serve --config \/etc\/meridian\/meridian\.yaml$/);
  // The router re-reads its config on SIGHUP (src/cli.ts installSignals).
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.match(read('src/cli.ts'), /process\.on\('SIGHUP'/);
  assert.equal(one('DynamicUser'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('Restart'), 'on-failure');
  assert.ok(Number(one('LimitNOFILE')) >= 65536);
  assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
});

test('systemd-analyze verify accepts the unit (where systemd is installed)', (t) => {
  if (!existsSync('/usr/bin/systemd-analyze')) {
    t.skip('systemd-analyze is not installed here');
    return;
  }
  const r = spawnSync('systemd-analyze', ['verify', join(REPO_ROOT, UNIT)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Unknown (key|section)|Failed to parse|Invalid/i, r.stderr);
});
