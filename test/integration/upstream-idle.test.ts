import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { IDLE_SWEEPS, sweepIdleSockets } from '../../src/proxy/agents.js';

// The upstream keep-alive pool closes sockets that stayed free for IDLE_SWEEPS sweeps, and only those.
let server: http.Server;
let port = 0;
const serverSockets = new Set<Socket>();

before(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  server.on('connection', (s: Socket) => {
    serverSockets.add(s);
    s.on('close', () => serverSockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((r) => server.close(() => r())));

function get(agent: http.Agent): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => setImmediate(() => resolve(req.socket as Socket))); // back in the free list
    });
    req.on('error', reject);
  });
}

const freeCount = (agent: http.Agent): number => Object.values(agent.freeSockets).reduce((n, l) => n + (l?.length ?? 0), 0);

test('a free socket is closed on the sweep that finds it unused IDLE_SWEEPS times, not before', async () => {
  const agent = new http.Agent({ keepAlive: true });
  const socket = await get(agent);
  assert.equal(freeCount(agent), 1);
  assert.equal(sweepIdleSockets(agent), 0, 'first sweep only records the socket');
  for (let i = 1; i < IDLE_SWEEPS; i++) assert.equal(sweepIdleSockets(agent), 0, `sweep ${i + 1}: still within the idle allowance`);
  assert.equal(socket.destroyed, false);
  assert.equal(sweepIdleSockets(agent), 1, 'closed once idle for IDLE_SWEEPS sweeps');
  assert.equal(socket.destroyed, true);
  await new Promise((r) => socket.once('close', r));
  assert.equal(freeCount(agent), 0, 'the agent dropped it');
  agent.destroy();
});

test('a socket used between sweeps starts its idle count again, and the next request opens a new socket after a close', async () => {
  const agent = new http.Agent({ keepAlive: true });
  const first = await get(agent);
  for (let i = 0; i < IDLE_SWEEPS; i++) sweepIdleSockets(agent); // idle for IDLE_SWEEPS - 1 counted sweeps
  assert.equal(first.destroyed, false);
  assert.equal(await get(agent), first, 'the same keep-alive socket is reused');
  for (let i = 0; i < IDLE_SWEEPS; i++) assert.equal(sweepIdleSockets(agent), 0, 'the request reset the count');
  assert.equal(sweepIdleSockets(agent), 1);
  const second = await get(agent);
  assert.notEqual(second, first, 'a fresh connection replaced the closed one');
  agent.destroy();
});
