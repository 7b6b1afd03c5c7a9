// There is no Docker engine here, so test what the image runs: the same `node dist/cli.js serve`
// command from the Dockerfile's ENTRYPOINT + CMD, and its HEALTHCHECK command, outside Docker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_ROOT, startRouter, type RouterProc } from '../helpers/router-process.js';
import { configYaml, startWorld, type World } from '../helpers/world.js';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const jsonInstr = (name: string): string[] => {
  const m = new RegExp(`^${name}\\s+(\\[.*\\])\\s*$`, 'm').exec(dockerfile);
  assert.ok(m, `Dockerfile has no exec-form ${name}`);
  return JSON.parse(m[1]!) as string[];
};

let world: World;
let router: RouterProc;
before(async () => {
  world = await startWorld(['us-east']);
  router = await startRouter(configYaml(world));
});
after(async () => {
  await router.stop();
  await world.stop();
});

test('the image runs `node dist/cli.js serve --config /etc/meridian/meridian.yaml`, the command the tests start', () => {
  assert.deepEqual(jsonInstr('ENTRYPOINT'), ['node', 'dist/cli.js']);
  assert.deepEqual(jsonInstr('CMD'), ['serve', '--config', '/etc/meridian/meridian.yaml']);
  assert.match(dockerfile, /^FROM node:24/m);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^EXPOSE 8080 9901$/m);
  // The bundled config the image copies to /etc/meridian is valid.
  const out = execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'dist/cli.js'), 'validate', '--config', join(REPO_ROOT, 'config/meridian.yaml')],
    { encoding: 'utf8' },
  );
  assert.match(out, /valid/);
});

test('the HEALTHCHECK command exits 0 against a running router and 1 against a dead port', () => {
  const m = /HEALTHCHECK[^\n]*\\\n\s*CMD node -e "(.*)"\s*$/m.exec(dockerfile);
  assert.ok(m, 'HEALTHCHECK CMD node -e "..." not found');
  const script = m[1]!;
  assert.match(script, /127\.0\.0\.1:9901\/healthz/);
  const run = (port: number): number => {
    try {
      execFileSync(process.execPath, ['-e', script.replace('127.0.0.1:9901', `127.0.0.1:${port}`)], { stdio: 'ignore' });
      return 0;
    } catch (err) {
      return (err as { status: number }).status;
    }
  };
  assert.equal(run(router.adminPort), 0);
  assert.equal(run(1), 1); // port 1: nothing listens there
});
