// The fleet drill's report as text: one block per phase and one for the whole drill.
import type { Figures, FleetDrillReport } from './report.js';
import { REGIONS, ROUTERS } from './world.js';

const list = (m: Record<string, number>): string =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n}× ${k}`)
    .join(', ');

function block(f: Figures): string[] {
  const w = f.writes;
  const others = Object.fromEntries(Object.entries(w.byAnswer).filter(([k]) => !/^(2\d\d|503) /.test(k)));
  const lines = [`${f.name} (${f.seconds.toFixed(1)} s): ${f.title}`];
  if (f.did) lines.push(`  did: ${f.did}`);
  lines.push(`  writes sent ${w.sent}: 2xx ${w.ok}, 503 ${w.unavailable}, other ${w.other}${w.other ? ` (${list(others)})` : ''}`);
  const refusals = Object.fromEntries(Object.entries(w.byAnswer).filter(([k]) => k.startsWith('503 ')));
  if (w.unavailable) lines.push(`    503s: ${list(refusals)}`);
  const applied = Object.entries(f.acceptedPerEpoch).map(
    ([region, byEpoch]) =>
      `${region} ${Object.entries(byEpoch)
        .map(([e, n]) => `epoch ${e}: ${n}`)
        .join(', ')}`,
  );
  lines.push(`  writes applied: ${applied.length ? applied.join('; ') : 'none'}`);
  if (f.failedButApplied)
    lines.push(`    of the writes that failed at the client, applied all the same (not replayed): ${f.failedButApplied}`);
  lines.push(
    `  overlap ${f.overlapMs.toFixed(1)} ms (${f.overlapWrites} writes)   lost ${f.lost}   applied twice ${f.appliedTwice}   reads failed ${f.reads.failed} of ${f.reads.sent}${f.reads.failed ? ` (${list(f.reads.byAnswer)})` : ''}`,
  );
  for (const h of f.handovers) {
    const ms = h.ms === null ? 'not completed' : `${Math.round(h.ms)} ms`;
    lines.push(`  handover to epoch ${h.epoch} (${h.from ?? '?'} -> ${h.to ?? '?'}): ${ms} (${h.source})`);
  }
  if (f.handovers.length === 0) lines.push('  handover: none');
  return lines;
}

export function formatFleetReport(r: FleetDrillReport): string {
  const lines = [
    `Meridian fleet drill: etcd, routers ${ROUTERS.join(', ')}, regions ${REGIONS.join(', ')} (lease 2 s, probes every 200 ms)`,
    '  load: 2 writers (POST /api/orders) and 1 reader (GET /api/orders) per router in rotation',
    '',
  ];
  for (const p of r.phases) lines.push(...block(p), '');
  lines.push(...block(r.total), '');
  lines.push(r.pass ? 'PASS: no overlap, no write lost, none applied twice, no read failed' : `FAIL: ${r.failures.join('; ')}`);
  return lines.join('\n');
}
