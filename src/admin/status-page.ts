// The status page at GET / of the admin listener: one self-contained HTML document (inline CSS and
// script, nothing from another origin — the Content-Security-Policy it is served with forbids it)
// that polls GET /admin/state and GET /admin/fleet every second and redraws: each region's state
// (UP, DOWN, DRAINED, SUPPRESSED, EJECTED, DIALED n%), its endpoints, damping penalty and lag; the
// write region and its epoch ('—' without a fleet) and a handover in progress; drains; fleet
// members; the recent state-change events.
// Everything from the API is written with textContent, never parsed as HTML.

/** Served with the page: no origin but this one, no framing, nothing cached. */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
#meta { color: var(--muted); } #meta.stale { color: var(--bad); font-weight: 600; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #8884; vertical-align: top; }
th { font-weight: 600; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.state { font-weight: 700; white-space: nowrap; } .UP { color: var(--ok); } .DOWN, .EJECTED { color: var(--bad); }
.DRAINED, .SUPPRESSED, .DIALED { color: var(--warn); }
.ep { display: block; font-family: ui-monospace, monospace; font-size: 12px; } .ep.down, .ep.ejected { color: var(--bad); }
#events li { font-family: ui-monospace, monospace; font-size: 12px; }
`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
let dials = {};
function regionState(r) {
  if (r.drained) return 'DRAINED';
  if (r.suppressed) return 'SUPPRESSED';
  if (r.status === 'ejected') return 'EJECTED';
  if (!r.available) return 'DOWN';
  const dial = dials[r.name];
  if (dial && dial.percent < 100) return 'DIALED ' + dial.percent + '%';
  return 'UP';
}
function lag(ms) { return ms === null || ms === undefined ? '—' : (ms / 1000).toFixed(1) + ' s'; }
function drawRegions(state) {
  const body = $('regions'); body.replaceChildren();
  for (const r of state.regions || []) {
    const tr = el('tr'); tr.dataset.region = r.name;
    tr.append(el('td', r.name));
    const s = regionState(r); const td = el('td', s, 'state ' + s.split(' ')[0]); td.dataset.state = s;
    if (r.status === 'failback-wait' && r.failbackUntil) td.title = 'failback wait until ' + r.failbackUntil;
    tr.append(td);
    const eps = el('td');
    for (const e of r.endpoints || []) {
      const st = e.ejected ? 'ejected' : (e.state || 'unknown');
      eps.append(el('span', e.url + ' ' + st.toUpperCase(), 'ep ' + st));
    }
    tr.append(eps, el('td', r.penalty ?? 0, 'num'), el('td', lag(r.lagMs), 'num'));
    body.append(tr);
  }
}
function drawWrites(state, fleet) {
  const w = state.writeRegion;
  $('write-region').textContent = w && w.region ? w.region : 'none';
  $('write-reason').textContent = w ? (w.reason || '') + (w.operator ? ' (set by an operator)' : '') + (w.state === 'handover' ? ' (HANDOVER: writes wait)' : '') : '';
  const epoch = w && w.epoch !== undefined ? w.epoch : fleet && fleet.enabled !== false && fleet.writeRegion ? fleet.writeRegion.epoch : null;
  $('write-epoch').textContent = epoch === null || epoch === undefined ? '—' : String(epoch);
  const drained = (state.regions || []).filter((r) => r.drained).map((r) => r.name);
  $('drains').textContent = drained.length ? drained.join(', ') : 'none';
}
function drawFleet(fleet) {
  const list = $('members'); list.replaceChildren();
  if (!fleet || fleet.enabled === false) { $('fleet-status').textContent = 'no fleet: this router decides alone'; return; }
  $('fleet-status').textContent = (fleet.connected ? 'connected' : 'DISCONNECTED') + ', leader ' + (fleet.leader || 'none');
  for (const m of fleet.members || []) list.append(el('li', m.id + (m.site ? ' (' + m.site + ')' : '') + (m.id === fleet.leader ? ' — leader' : '')));
}
function drawEvents(state) {
  const list = $('events'); list.replaceChildren();
  const events = state.events || [];
  if (events.length === 0) list.append(el('li', 'no state changes yet'));
  for (const e of events) list.append(el('li', e.at + '  ' + e.text));
}
async function getJson(path) { const r = await fetch(path, { cache: 'no-store' }); if (!r.ok) throw new Error(path + ' ' + r.status); return r.json(); }
async function tick() {
  try {
    const [state, fleet] = await Promise.all([getJson('/admin/state'), getJson('/admin/fleet').catch(() => null)]);
    dials = (state.steering && state.steering.dials) || {};
    drawRegions(state); drawWrites(state, fleet); drawFleet(fleet); drawEvents(state);
    $('meta').textContent = 'updated ' + new Date().toLocaleTimeString() + (state.config ? ' · ' + state.config : '');
    $('meta').className = '';
  } catch (err) {
    $('meta').textContent = 'cannot reach the admin API (' + err.message + '); retrying';
    $('meta').className = 'stale';
  }
}
tick(); setInterval(tick, 1000);
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meridian status</title><style>${STYLE}</style></head>
<body>
<h1>Meridian</h1><div id="meta">loading…</div>
<h2>Regions</h2>
<table><thead><tr><th>Region</th><th>State</th><th>Endpoints</th><th class="num">Penalty</th><th class="num">Lag</th></tr></thead><tbody id="regions"></tbody></table>
<h2>Writes</h2>
<table><tbody>
<tr><th>Write region</th><td id="write-region">—</td><td id="write-reason"></td></tr>
<tr><th>Epoch</th><td id="write-epoch">—</td><td></td></tr>
<tr><th>Drained</th><td id="drains">—</td><td></td></tr>
</tbody></table>
<h2>Fleet</h2><div id="fleet-status">—</div><ul id="members"></ul>
<h2>Recent events</h2><ul id="events"></ul>
<script>${SCRIPT}</script>
</body></html>
`;
