// Human and JSON renderings of a Decision for `meridian explain` and `GET /admin/explain`.
import type { Decision, RequestFacts } from '../types.js';

function km(d: number | null): string {
  return d === null ? 'distance unknown' : `${Math.round(d).toLocaleString('en-US')} km`;
}

function client(facts: RequestFacts): string {
  const g = facts.geo;
  const where =
    g === null
      ? 'location unknown'
      : `country ${g.country ?? 'unknown'}${g.eu ? ' (EU)' : ''}` +
        (g.lat !== null && g.lon !== null ? `, lat ${g.lat}, lon ${g.lon}` : ', no coordinates');
  return `${facts.ip ?? 'unknown IP'} — ${where}`;
}

/** Multi-line text for the CLI. */
export function explainText(decision: Decision, facts: RequestFacts): string {
  const d = decision;
  const lines: string[] = [];
  lines.push(`request:    ${facts.method} ${facts.path}${facts.host !== null ? `  (host ${facts.host})` : ''}`);
  lines.push(`client:     ${client(facts)}`);
  if (facts.userKey !== null || facts.homeRegion !== null) {
    lines.push(`user:       key ${facts.userKey ?? '-'}, explicit home ${facts.homeRegion ?? '-'}`);
  }
  if (facts.writeMark !== null) {
    lines.push(`write mark: ${facts.writeMark.region} at ${new Date(facts.writeMark.at).toISOString()}`);
  }
  if (d.route === null) {
    lines.push('route:      none');
  } else {
    const how = d.route.mode !== null ? `mode ${d.route.mode}` : `reads ${d.route.reads}, writes ${d.route.writes}`;
    lines.push(`route:      ${d.route.name} (prefix ${d.route.pathPrefix}, ${how})`);
    lines.push(`selector:   ${d.selector ?? '-'} (${d.kind})`);
  }
  if (d.residencyRule !== null) lines.push(`residency:  rule ${d.residencyRule}`);
  lines.push(d.region !== null ? `decision:   ${d.region}  reason=${d.reason}` : `decision:   ${d.status ?? '-'}  reason=${d.reason}`);
  lines.push(`detail:     ${d.detail}`);
  if (d.preference.length > 0) {
    lines.push('preference:');
    const candidateRank = new Map(d.candidates.map((r, i) => [r, i + 1] as const));
    d.preference.forEach((c, i) => {
      const rank = candidateRank.get(c.region);
      const mark = rank === undefined ? 'skipped (unavailable or not allowed)' : rank === 1 ? 'serves' : `retry #${rank - 1}`;
      lines.push(`  ${String(i + 1).padStart(2)}. ${c.region.padEnd(20)} ${km(c.distanceKm).padStart(18)}  ${mark}`);
    });
  }
  lines.push(`candidates: ${d.candidates.length > 0 ? d.candidates.join(' → ') : 'none'}`);
  return lines.join('\n');
}

/** Plain JSON-able object for the admin API. */
export function explainJson(decision: Decision, facts: RequestFacts): Record<string, unknown> {
  const d = decision;
  return {
    request: { method: facts.method, path: facts.path, host: facts.host },
    client: {
      ip: facts.ip,
      country: facts.geo?.country ?? null,
      eu: facts.geo?.eu ?? false,
      lat: facts.geo?.lat ?? null,
      lon: facts.geo?.lon ?? null,
      userKey: facts.userKey,
      homeRegion: facts.homeRegion,
      writeMark: facts.writeMark,
    },
    route:
      d.route === null
        ? null
        : { name: d.route.name, pathPrefix: d.route.pathPrefix, mode: d.route.mode, reads: d.route.reads, writes: d.route.writes },
    kind: d.kind,
    selector: d.selector,
    region: d.region,
    status: d.status,
    reason: d.reason,
    residencyRule: d.residencyRule,
    detail: d.detail,
    candidates: [...d.candidates],
    preference: d.preference.map((c) => ({ region: c.region, distanceKm: c.distanceKm === null ? null : Math.round(c.distanceKm) })),
  };
}
