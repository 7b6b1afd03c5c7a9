import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ClientIpMemo, clientIp, compileTrustedProxies, isTrustedProxy, normalizeIp } from '../../src/identity/client-ip.js';

test('normalizeIp', () => {
  const cases: [string | undefined, string | null][] = [
    ['1.2.3.4', '1.2.3.4'],
    ['  1.2.3.4 ', '1.2.3.4'],
    ['::1', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[fe80::1%25eth0]', 'fe80::1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['::ffff:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
    ['[::ffff:127.0.0.1]', '127.0.0.1'],
    ['::ffff:0:1.2.3.4', '::ffff:0:1.2.3.4'], // IPv4-translated, not mapped
    ['ffff::1', 'ffff::1'],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['256.1.1.1', null],
    ['localhost', null],
    ['', null],
    ['[::1', null],
    ['1.2.3.4:80', null], // ports are an XFF-hop concern, not an IP
    [undefined, null],
  ];
  for (const [input, want] of cases) assert.equal(normalizeIp(input), want, `normalizeIp(${String(input)})`);
});

test('compileTrustedProxies: CIDRs, bare IPs, IPv6, mapped peers', () => {
  const t = compileTrustedProxies(['127.0.0.1', '10.0.0.0/8', '2001:db8::/32', '::1', '::ffff:192.168.0.0/112']);
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['10.200.3.4', true],
    ['11.0.0.1', false],
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
    ['::1', true],
    ['192.168.4.5', true],
    ['192.169.0.1', false],
  ];
  for (const [ip, want] of cases) assert.equal(t.has(ip), want, ip);
  // Peers as Node reports them on a dual-stack socket.
  assert.equal(isTrustedProxy(t, '::ffff:127.0.0.1'), true);
  assert.equal(isTrustedProxy(t, '::ffff:10.1.1.1'), true);
  assert.equal(isTrustedProxy(t, '::ffff:8.8.8.8'), false);
  assert.equal(isTrustedProxy(t, 'garbage'), false);
  assert.equal(compileTrustedProxies([]).has('127.0.0.1'), false);
  assert.throws(() => compileTrustedProxies(['nope/8']));
  assert.throws(() => compileTrustedProxies(['10.0.0.0/33']));
});

test('clientIp: X-Forwarded-For table', () => {
  const t = compileTrustedProxies(['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8']);
  type Case = [name: string, peer: string | undefined, xff: string | string[] | undefined, ip: string | null, malformed: boolean];
  const cases: Case[] = [
    ['untrusted peer, no XFF', '203.0.113.9', undefined, '203.0.113.9', false],
    ['untrusted peer ignores XFF', '203.0.113.9', '85.214.132.117', '203.0.113.9', false],
    ['untrusted peer ignores malformed XFF', '203.0.113.9', 'garbage', '203.0.113.9', false],
    ['trusted peer, no XFF', '127.0.0.1', undefined, '127.0.0.1', false],
    ['trusted peer, empty XFF', '127.0.0.1', '', '127.0.0.1', false],
    ['trusted peer, one hop', '127.0.0.1', '85.214.132.117', '85.214.132.117', false],
    ['mapped trusted peer', '::ffff:127.0.0.1', '85.214.132.117', '85.214.132.117', false],
    ['right-most untrusted wins over spoofed left', '127.0.0.1', '1.1.1.1, 85.214.132.117', '85.214.132.117', false],
    ['skips trusted hops', '127.0.0.1', '85.214.132.117, 10.0.0.5, 10.0.0.6', '85.214.132.117', false],
    ['all trusted → left-most', '127.0.0.1', '10.0.0.1, 10.0.0.2', '10.0.0.1', false],
    ['multiple header lines joined', '127.0.0.1', ['62.210.16.6', '10.0.0.2'], '62.210.16.6', false],
    ['multiple header lines, right-most line wins', '127.0.0.1', ['62.210.16.6', '3.3.3.3'], '3.3.3.3', false],
    ['whitespace tolerated', '127.0.0.1', '  85.214.132.117  ,10.0.0.1 ', '85.214.132.117', false],
    ['empty hop skipped', '127.0.0.1', '85.214.132.117,,10.0.0.1', '85.214.132.117', false],
    ['IPv4 with port', '127.0.0.1', '85.214.132.117:5678', '85.214.132.117', false],
    ['IPv6 bare', '127.0.0.1', '2a00:1450:4001::1', '2a00:1450:4001::1', false],
    ['IPv6 bracketed with port', '127.0.0.1', '[2a00:1450:4001::1]:443', '2a00:1450:4001::1', false],
    ['IPv6 bracketed', '127.0.0.1', '[2a00:1450:4001::1]', '2a00:1450:4001::1', false],
    ['IPv6 trusted hop skipped', '127.0.0.1', '3.3.3.3, fd00::7', '3.3.3.3', false],
    ['IPv4-mapped hop normalised', '127.0.0.1', '::ffff:85.214.132.117', '85.214.132.117', false],
    ['IPv4-mapped trusted hop skipped', '127.0.0.1', '3.3.3.3, ::ffff:10.0.0.9', '3.3.3.3', false],
    ['IPv6 peer trusted', 'fd00::1', '3.3.3.3', '3.3.3.3', false],
    ['malformed right-most hop', '127.0.0.1', '85.214.132.117, not-an-ip', null, true],
    ['malformed behind trusted hops', '127.0.0.1', 'bogus, 10.0.0.1', null, true],
    ['malformed left of the client is never reached', '127.0.0.1', 'bogus, 3.3.3.3', '3.3.3.3', false],
    ['unknown (RFC 7239 obfuscation)', '127.0.0.1', 'unknown', null, true],
    ['bad port', '127.0.0.1', '1.2.3.4:99999999', null, true],
    ['bracket junk', '127.0.0.1', '[::1]x', null, true],
    ['hostname', '127.0.0.1', 'example.com', null, true],
    ['no peer', undefined, '3.3.3.3', null, false],
  ];
  for (const [name, peer, xff, ip, malformed] of cases) {
    assert.deepEqual(clientIp(peer, xff, t), { ip, malformed }, name);
  }
  // The memo gives the same answers, first time and remembered, and survives being emptied.
  const memo = new ClientIpMemo(t, 5);
  for (let round = 0; round < 3; round++) {
    for (const [name, peer, xff, ip, malformed] of cases) {
      assert.deepEqual({ ...memo.get(peer, xff) }, { ip, malformed }, `memo round ${round}: ${name}`);
      assert.equal(memo.isTrustedPeer(peer), isTrustedProxy(t, peer), `memo round ${round}: trust of ${peer}`);
    }
  }
});

test('clientIp never throws on hostile input', () => {
  const t = compileTrustedProxies(['127.0.0.1']);
  const nasty = ['\u0000', ',,,,', '['.repeat(1000), ':'.repeat(500), '1.2.3.4'.repeat(1000), '%%%', '[]:80', ']'];
  for (const x of nasty) assert.doesNotThrow(() => clientIp('127.0.0.1', x, t), JSON.stringify(x).slice(0, 40));
});

test('trusted-proxy matcher agrees with node:net BlockList', () => {
  const cidrs: [string, number, 'ipv4' | 'ipv6'][] = [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.1.128', 25, 'ipv4'],
    ['203.0.113.7', 32, 'ipv4'],
    ['0.0.0.0', 1, 'ipv4'],
    ['2001:db8::', 33, 'ipv6'],
    ['fd00::', 8, 'ipv6'],
    ['2a00:1450:4001::1', 128, 'ipv6'],
    ['2000::', 3, 'ipv6'],
  ];
  // (No IPv6 subnet covering ::ffff:0:0/96 here: BlockList also matches IPv4 addresses against those.)
  const oracle = new net.BlockList();
  for (const [a, p, f] of cidrs) oracle.addSubnet(a, p, f);
  const mine = compileTrustedProxies(cidrs.map(([a, p]) => `${a}/${p}`));
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const samples: string[] = [
    '10.0.0.0',
    '10.255.255.255',
    '11.0.0.0',
    '172.31.255.255',
    '172.32.0.0',
    '192.168.1.127',
    '192.168.1.128',
    '203.0.113.7',
    '203.0.113.8',
    '127.255.255.255',
    '128.0.0.0',
    '2001:db8:7fff:ffff::1',
    '2001:db8:8000::1',
    'fcff::1',
    'fd12::1',
    'fe00::1',
    '2a00:1450:4001::1',
    '2a00:1450:4001::2',
    '1fff::1',
    '2000::1',
  ];
  for (let i = 0; i < 3000; i++) {
    samples.push([rnd() & 255, rnd() & 255, rnd() & 255, rnd() & 255].join('.'));
    samples.push(Array.from({ length: 8 }, () => (rnd() & 0xffff).toString(16)).join(':'));
  }
  for (const ip of samples) {
    assert.equal(mine.has(ip), oracle.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4'), ip);
  }
});
