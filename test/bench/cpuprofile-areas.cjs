// Group a .cpuprofile's self time (main thread) into the areas used in docs/profile.md.
// Usage: [US_PER_REQ=a,b,..] node test/bench/cpuprofile-areas.cjs NAME=FILE.cpuprofile [NAME=FILE ...]  -> markdown table
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script run directly by node
const fs = require('fs');
function groupOf(cf) {
  const u = cf.url || '',
    fn = cf.functionName;
  if (!u) {
    if (fn === '(idle)') return null;
    if (fn === 'writev' || fn === 'writeLatin1String' || fn === 'writeUtf8String' || fn === 'writeBuffer' || fn === 'read')
      return 'socket syscalls (writev/write/read)';
    if (fn === 'writeString') return 'access log: pino + fs.write';
    if (fn === '(garbage collector)') return 'GC';
    return 'other native / (program)';
  }
  if (/\/dist\/observability\/logger/.test(u)) return 'access log: pino + fs.write';
  if (/\/dist\//.test(u) && !/node_modules/.test(u)) return 'Meridian code (identity, decide, router, metrics glue)';
  if (/node_modules\/(http-proxy|eventemitter3|requires-port|follow-redirects)\//.test(u)) return 'http-proxy';
  if (/node_modules\/(pino|sonic-boom|thread-stream|quick-format|atomic-sleep|safe-stable|fast-redact)/.test(u))
    return 'access log: pino + fs.write';
  if (/node_modules\/(prom-client|tdigest|bintrees)/.test(u)) return 'prom-client';
  if (/node_modules\/geoip-lite|node_modules\/cookie/.test(u)) return 'Meridian code (identity, decide, router, metrics glue)';
  if (/^node:_http|^node:http/.test(u)) return 'node:http (client + server)';
  if (/^node:net|stream_base|^node:internal\/streams|^node:stream|^node:events|^node:internal\/events/.test(u))
    return 'node streams, events, net';
  if (/^node:internal\/timers|^node:timers/.test(u)) return 'timers';
  if (/modules\/|bootstrap|^node:internal\/main/.test(u)) return 'startup (module loading)';
  return 'other node internals';
}
const cols = process.argv.slice(2).map((a) => a.split('='));
const usPerReq = (process.env.US_PER_REQ || '').split(',').map(Number); // optional: measured CPU us/request per column
const tables = cols.map(([name, file]) => {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const g = new Map();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const k = groupOf(byId.get(p.samples[i]).callFrame);
    if (!k) continue;
    const t = p.timeDeltas[i] || 0;
    busy += t;
    g.set(k, (g.get(k) || 0) + t);
  }
  return { name, g, busy };
});
const keys = [...new Set(tables.flatMap((t) => [...t.g.keys()]))].sort((a, b) => (tables[0].g.get(b) || 0) - (tables[0].g.get(a) || 0));
console.log('| area | ' + tables.map((t) => t.name).join(' | ') + ' |');
console.log('|---|' + tables.map(() => '---:').join('|') + '|');
const cell = (t, i, v) => {
  const pct = (100 * v) / t.busy;
  return usPerReq[i] ? `${pct.toFixed(1)} % (${((pct * usPerReq[i]) / 100).toFixed(1)} µs)` : `${pct.toFixed(1)} %`;
};
for (const k of keys) console.log(`| ${k} | ` + tables.map((t, i) => cell(t, i, t.g.get(k) || 0)).join(' | ') + ' |');
if (usPerReq[0]) console.log('| **total (measured CPU per request)** | ' + usPerReq.map((u) => `**${u} µs**`).join(' | ') + ' |');
