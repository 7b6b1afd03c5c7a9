// The TLS listener: one certificate or several chosen by SNI (the first when no name matches),
// TLS 1.2 or later, HTTP/1.1, backends told `x-forwarded-proto: https`, and certificate files
// re-read on reload. Certificates are made for the test with openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { startOddBackend, type OddBackend } from '../helpers/edge.js';
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

let backend: OddBackend;
let router: RouterProc;
before(async () => {
  makeCert('a.example');
  makeCert('b.example');
  backend = await startOddBackend();
  router = await startRouter(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
regions:
  - { name: one, location: { lat: 0, lon: 0 }, endpoints: [${backend.url}] }
health: { interval: 1m, timeout: 500ms }
tls:
  certificates:
    - { cert: ${join(dir, 'a.example.crt')}, key: ${join(dir, 'a.example.key')} }
    - { cert: ${join(dir, 'b.example.crt')}, key: ${join(dir, 'b.example.key')} }
`);
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
