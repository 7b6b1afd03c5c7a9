// Load generator used when wrk is not installed: autocannon (devDependency) in its own process, so
// it can be pinned to the load CPU like wrk. Prints the same RESULT line as wrk-json.lua.
//   node test/bench/autocannon-run.mjs URL CONNECTIONS SECONDS ['Header: value']
import autocannon from 'autocannon';

const [url, conns, seconds, header] = process.argv.slice(2);
const headers = {};
if (header) {
  const i = header.indexOf(':');
  headers[header.slice(0, i).trim()] = header.slice(i + 1).trim();
}
const r = await autocannon({ url, connections: Number(conns), duration: Number(seconds), headers, pipelining: 1 });
const ms2us = (ms) => Math.round(ms * 1000);
console.log(
  `RESULT rps=${(r.requests.total / r.duration).toFixed(1)} p50_us=${ms2us(r.latency.p50)} p99_us=${ms2us(r.latency.p99)} ` +
    `requests=${r.requests.total} errors=${r.errors + r.timeouts} non2xx=${r.non2xx}`,
);
