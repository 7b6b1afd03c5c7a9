// What changed between two reads of the fleet, as log events. Pure. Every router logs what it sees,
// so each router's log tells its own story of membership, leadership and handovers.
import type { FleetState } from './fleet-state.js';
import type { FleetEvent } from './sink.js';

export function fleetEvents(prev: FleetState, next: FleetState, self: string, why: (epoch: number) => string | null): FleetEvent[] {
  const out: FleetEvent[] = [];
  for (const [id, m] of next.members) if (!prev.members.has(id)) out.push({ event: 'fleet-member-joined', member: id, site: m.site });
  for (const id of prev.members.keys()) if (!next.members.has(id)) out.push({ event: 'fleet-member-left', member: id });
  if (prev.leader !== next.leader) out.push({ event: 'fleet-leader', leader: next.leader, self: next.leader === self });
  const p = prev.writeKey;
  const n = next.writeKey;
  if (n === null || (p !== null && p.epoch === n.epoch && p.state === n.state)) return out;
  if (n.state === 'handover' && !(p?.state === 'handover' && p.epoch === n.epoch)) {
    out.push({ event: 'write-handover-start', from: p?.region ?? null, to: n.region, epoch: n.epoch, why: why(n.epoch) });
  } else if (n.state === 'active' && (p === null || p.epoch < n.epoch || p.state === 'handover')) {
    out.push({ event: 'write-handover-done', region: n.region, epoch: n.epoch });
  }
  return out;
}
