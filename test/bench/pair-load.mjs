// One round of test/bench/cpu-pair.sh: sends N requests to each of two running routers in CHUNKS
// interleaved chunks (order A B B A A B B A …, so a slow spell of the machine or a drift over the
// round falls on both sides alike) and prints the CPU time each process group spent on them, in
// microseconds: the sum over every thread of the router and of its children (cluster workers) of
// the scheduler's own count of time on a CPU (/proc/PID/task/TID/schedstat, nanoseconds), so the
// 10 ms tick of /proc/PID/stat does not round it.
//   node test/bench/pair-load.mjs METHOD N CHUNKS PORT_A PID_A PORT_B PID_B
// CHUNKS: a multiple of 4. Prints "A_US B_US"; with CHUNK_LOG=1 also each chunk's milliseconds
// (stderr), to see a drift or a slow spell.
import { readFileSync, readdirSync } from 'node:fs';
import autocannon from 'autocannon';

const [method, n, chunks, portA, pidA, portB, pidB] = process.argv.slice(2);
if (Number(chunks) % 4 !== 0) throw new Error(`CHUNKS must be a multiple of 4, not ${chunks}`);
const perChunk = Math.ceil(Number(n) / Number(chunks));

function children(pid) {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Nanoseconds on a CPU of every thread of pid and of its children. */
function cpuNs(pid) {
  let ns = 0n;
  for (const p of [pid, ...children(pid)]) {
    for (const tid of readdirSync(`/proc/${p}/task`)) {
      try {
        ns += BigInt(readFileSync(`/proc/${p}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  }
  return ns;
}

const headers = { 'x-forwarded-for': '5.9.0.1' };
// HEADER='name: value' adds one request header (e.g. 'x-user-id: u1': a user key, so decide() cannot
// use a remembered decision and decides every request afresh)
if (process.env.HEADER) {
  const at = process.env.HEADER.indexOf(':');
  headers[process.env.HEADER.slice(0, at).trim().toLowerCase()] = process.env.HEADER.slice(at + 1).trim();
}
const body = method === 'POST' ? '{}' : undefined;
if (body) headers['content-type'] = 'application/json';
/** Sends `amount` requests; returns how many were not answered 2xx (errors included). */
async function load(port, amount) {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/api/items`, method, headers, body, connections: 10, amount });
  return r.non2xx + r.errors;
}

const side = { A: [portA, pidA], B: [portB, pidB] };
// warm-up: 2N requests to each, also warming this process's own code, whose speed sets the request
// rate and with it how many requests a router handles per event-loop turn (and so its CPU per request)
for (const s of ['A', 'B', 'B', 'A']) await load(side[s][0], Number(n));
const spent = { A: 0n, B: 0n };
const failed = { A: 0, B: 0 };
const pattern = ['A', 'B', 'B', 'A'];
for (let i = 0; i < Number(chunks); i++) {
  const s = pattern[i % 4];
  const [port, pid] = side[s];
  const t0 = cpuNs(pid);
  failed[s] += await load(port, perChunk);
  const used = cpuNs(pid) - t0;
  spent[s] += used;
  if (process.env.CHUNK_LOG) process.stderr.write(`${s}${used / 1000000n} `);
}
// a side answering errors (a fleet member refusing writes, a broken build) spends less CPU per
// request and would look cheaper: such a round is no measurement
if (failed.A + failed.B > 0) {
  console.error(`pair-load: requests not answered 2xx in the measured chunks: A ${failed.A}, B ${failed.B}`);
  process.exit(1);
}
console.log(`${spent.A / 1000n} ${spent.B / 1000n}`);
