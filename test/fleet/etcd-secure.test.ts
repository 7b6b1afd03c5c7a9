// Against a real etcd with TLS (client certificates required) and then password auth: a member
// configured with fleet.etcd.tls and username/password joins and works; one without the client
// certificate, or with a wrong password, never reads the fleet state (and so never writes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { FleetConfigInput } from '../../src/fleet/config.js';
import type { FleetMember } from '../../src/fleet/member.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { allUp, newMember, waitFor } from './fleet-world.js';

// compiled tests run from build-test/test/fleet: the certificates stay in the source tree
const dir = (f: string): string => fileURLToPath(new URL(`../../../test/fleet/tls/${f}`, import.meta.url));
const TLS = {
  ca: dir('ca.pem'),
  cert: dir('server.pem'),
  key: dir('server.key'),
  client: { cert: dir('client.pem'), key: dir('client.key') },
};

let etcd: EtcdServer;
const members: FleetMember[] = [];
before(async () => {
  etcd = await startEtcd({ tls: TLS });
});
after(async () => {
  for (const m of members) await m.close();
  await etcd.stop();
});

function member(id: string, etcdCfg: Partial<FleetConfigInput['etcd']>): FleetMember {
  const m = newMember({ etcd: { endpoints: [etcd.endpoint], prefix: '/meridian/secure/', ...etcdCfg }, id, leaseMs: 1000 }).member;
  members.push(m);
  return m;
}

const withCert = { tls: { ca: TLS.ca, cert: TLS.client.cert, key: TLS.client.key } };

test('TLS with client certificates: a member with one works, a member without one never syncs', async () => {
  const a = member('tls-a', withCert);
  assert.deepEqual(await a.start(), { synced: true });
  a.publishView(allUp());
  await waitFor(() => a.snapshot().writable, 'a writable over TLS');
  await a.drain('eu-west');
  assert.deepEqual(a.snapshot().drains, ['eu-west']);
  const noCert = member('tls-b', { tls: { ca: TLS.ca } });
  assert.deepEqual(await noCert.start(), { synced: false });
  assert.equal(noCert.snapshot().writeRefusal, 'fleet-unavailable');
});

test('password auth: the right password works, a wrong one never syncs', async () => {
  const root = new Etcd3({
    hosts: etcd.endpoint,
    credentials: {
      rootCertificate: readFileSync(TLS.ca),
      certChain: readFileSync(TLS.client.cert),
      privateKey: readFileSync(TLS.client.key),
    },
  });
  try {
    await root.role('root').create();
    await root.user('root').create('s3cret');
    await root.user('root').addRole('root');
    await root.auth.authEnable();
  } finally {
    root.close();
  }
  const good = member('auth-a', { ...withCert, username: 'root', password: 's3cret' });
  assert.deepEqual(await good.start(), { synced: true });
  assert.deepEqual(good.snapshot().drains, ['eu-west'], 'reads what was written before auth was enabled');
  await good.undrain('eu-west');
  const bad = member('auth-b', { ...withCert, username: 'root', password: 'wrong' });
  assert.deepEqual(await bad.start(), { synced: false });
});
