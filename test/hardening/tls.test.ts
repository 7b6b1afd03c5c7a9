// The TLS listener: one certificate or several chosen by SNI (the first when no name matches),
// TLS 1.2 or later, HTTP/1.1, backends told `x-forwarded-proto: https`, and certificate files
// re-read on reload, and a reload that finds one it cannot use fails whole while the certificates
// in use keep serving. Certificates are made for the test with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { startOddBackend, type OddBackend } from '../helpers/edge.js';
import { metrics, sample } from '../helpers/failover.js';
import { admin, startRouter, waitReady, type RouterProc } from '../helpers/router-process.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-tls-'));

/** A self-signed certificate for `name`, written as name.crt / name.key (overwritten if there). */
function makeCert(name: string, file = name): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name}`,
      '-keyout',
      join(dir, `${file}.key`),
      '-out',
      join(dir, `${file}.crt`),
    ],
    { stdio: 'ignore' },
  );
}

/** The CN of the certificate the router serves for `servername` (none: no SNI). */
function servedCert(port: number, servername?: string, opts: tls.ConnectionOptions = {}): Promise<{ cn: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false, ...opts }, () => {
      const c = s.getPeerCertificate();
      s.destroy();
      resolve({ cn: String(c.subject.CN), fingerprint: c.fingerprint256 });
    });
    s.on('error', reject);
  });
}

/** The router's config, serving the files named for a.example and b.example. */
function config(b = { cert: join(dir, 'b.example.crt'), key: join(dir, 'b.example.key') }): string {
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
regions:
  - { name: one, location: { lat: 0, lon: 0 }, endpoints: [${backend.url}] }
health: { interval: 1m, timeout: 500ms }
tls:
  certificates:
    - { cert: ${join(dir, 'a.example.crt')}, key: ${join(dir, 'a.example.key')} }
    - { cert: ${b.cert}, key: ${b.key} }
`;
}

let backend: OddBackend;
let router: RouterProc;
before(async () => {
  makeCert('a.example');
  makeCert('b.example');
  backend = await startOddBackend();
  router = await startRouter(config());
  await waitReady(router);
});
after(async () => {
  await router.stop();
  await backend.stop();
});

test('HTTPS requests are served and backends see x-forwarded-proto: https', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: router.port, path: '/tls', servername: 'a.example', rejectUnauthorized: false, agent: false },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const seen = JSON.parse(body) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
});

test('the certificate is chosen by SNI; the first when no name matches or none is sent', async () => {
  assert.equal((await servedCert(router.port, 'b.example')).cn, 'b.example');
  assert.equal((await servedCert(router.port, 'a.example')).cn, 'a.example');
  assert.equal((await servedCert(router.port, 'other.example')).cn, 'a.example');
  assert.equal((await servedCert(router.port)).cn, 'a.example');
});

test('TLS below 1.2 is refused', async () => {
  await assert.rejects(servedCert(router.port, 'a.example', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
});

test('certificate files are re-read on reload', async () => {
  const before = (await servedCert(router.port, 'b.example')).fingerprint;
  makeCert('b.example');
  const r = await admin(router, 'POST', '/admin/reload');
  assert.equal(r.status, 200, r.text);
  const afterReload = (await servedCert(router.port, 'b.example')).fingerprint;
  assert.notEqual(afterReload, before, 'the renewed certificate is served');
});

test('a reload that finds a certificate it cannot use fails, names the file, and the certificates in use keep serving', async () => {
  const served = async (): Promise<string[]> => [
    (await servedCert(router.port, 'a.example')).fingerprint,
    (await servedCert(router.port, 'b.example')).fingerprint,
  ];
  const before = await served();
  const failures = async (): Promise<number> => sample(await metrics(router), 'meridian_config_reloads_total', { result: 'failure' }) ?? 0;
  // An unreadable file: the tests may run as root, whom chmod 000 does not stop, so a directory
  // (EISDIR) and a missing file (ENOENT) stand in for it.
  const folder = join(dir, 'not-a-file.crt');
  mkdirSync(folder, { recursive: true });
  const notPem = join(dir, 'not-pem.crt');
  writeFileSync(notPem, 'this is not a PEM certificate\n');
  const bKey = join(dir, 'b.example.key');
  const cases = [
    { what: 'a directory', b: { cert: folder, key: bKey }, file: folder, reason: /EISDIR/ },
    { what: 'a missing file', b: { cert: join(dir, 'missing.crt'), key: bKey }, file: join(dir, 'missing.crt'), reason: /ENOENT/ },
    { what: 'a file that is not a PEM certificate', b: { cert: notPem, key: bKey }, file: notPem, reason: /certificate/i },
    { what: 'a key that is not a PEM key', b: { cert: join(dir, 'b.example.crt'), key: notPem }, file: notPem, reason: /key/i },
  ];
  for (const c of cases) {
    const failed = await failures();
    router.writeConfig(config(c.b));
    const r = await admin(router, 'POST', '/admin/reload');
    assert.equal(r.status, 400, `${c.what}: ${r.text}`);
    const errors = (r.json as { reloaded: boolean; errors: string[] }).errors.join('\n');
    assert.equal((r.json as { reloaded: boolean }).reloaded, false, c.what);
    assert.ok(errors.includes(c.file), `${c.what}: the file is named: ${errors}`);
    assert.match(errors, c.reason, `${c.what}: the reason is given: ${errors}`);
    assert.equal(await failures(), failed + 1, `${c.what}: counted as a failed reload`);
    assert.deepEqual(await served(), before, `${c.what}: the certificates in use keep serving`);
  }
  // A renewal that wrote a broken file in place, and SIGHUP: the same failure, in the log.
  router.writeConfig(config());
  const good = readFileSync(join(dir, 'b.example.crt'));
  writeFileSync(join(dir, 'b.example.crt'), 'truncated\n');
  const failed = await failures();
  const seen = router.logs.length;
  router.proc.kill('SIGHUP');
  const line = await router.waitForLog((l) => router.logs.indexOf(l) >= seen && l.event === 'reload' && l.result !== undefined);
  assert.equal(line.result, 'failure', JSON.stringify(line));
  assert.ok(JSON.stringify(line.errors).includes(join(dir, 'b.example.crt')), JSON.stringify(line));
  assert.equal(await failures(), failed + 1);
  assert.deepEqual(await served(), before, 'the certificates in use keep serving');
  // Put right, the same config reloads.
  writeFileSync(join(dir, 'b.example.crt'), good);
  const ok = await admin(router, 'POST', '/admin/reload');
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(await served(), before);
});
