// A picture of deploy/grafana/meridian.json: every panel laid out by its gridPos and drawn from what a
// real Prometheus answered to the panel's own queries (range queries over the test's span). Grafana
// itself is not installable here (no Debian package, no npm package), so this draws the four panel
// types the dashboard uses — timeseries, stat, state-timeline, table — plainly, as inline SVG with no
// external assets, for a browser to screenshot. It shows what the dashboard's queries return, not
// Grafana's exact look.

export interface Series {
  readonly labels: Record<string, string>;
  readonly legend: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface PanelData {
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly unit: string;
  /** Stat panels: show the series name instead of its value. */
  readonly showName: boolean;
  /** Value → text and colour, as the panel's value mappings say (state timelines). */
  readonly mappings: Record<string, { readonly text: string; readonly color: string }>;
  readonly series: readonly Series[];
}

const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a', '#37872d', '#c4162a'];
const COLORS: Record<string, string> = { green: '#37872d', red: '#c4162a' };
const COL = 1400 / 24;
const ROW = 30;

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Grafana's `{{label}}` legend format. */
export function legendOf(format: string | undefined, labels: Record<string, string>): string {
  if (!format)
    return (
      Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(', ') || 'value'
    );
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => labels[k] ?? '');
}

export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  const n = (x: number): string => (Math.abs(x) >= 100 || Number.isInteger(x) ? x.toFixed(0) : x.toPrecision(3));
  switch (unit) {
    case 's':
      return v >= 1 ? `${n(v)} s` : `${n(v * 1000)} ms`;
    case 'percentunit':
      return `${n(v * 100)} %`;
    case 'reqps':
      return `${n(v)} req/s`;
    case 'ops':
      return `${n(v)} /s`;
    case 'd':
      return `${n(v)} d`;
    default:
      return n(v);
  }
}

function timeseries(p: PanelData, w: number, h: number, span: readonly [number, number]): string {
  const all = p.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  const top = Math.max(...all, 0) || 1;
  const [t0, t1] = span;
  const x = (t: number): number => ((t - t0) / (t1 - t0 || 1)) * w;
  const y = (v: number): number => h - (Math.min(v, top) / top) * (h - 4);
  const lines = p.series.map((s, i) => {
    const d = s.points
      .filter(([, v]) => Number.isFinite(v))
      .map(([t, v], j) => `${j === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join('');
    return `<path data-series d="${d}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.5"/>`;
  });
  const grid = [0.25, 0.5, 0.75].map((f) => `<line x1="0" x2="${w}" y1="${(h * f).toFixed(0)}" y2="${(h * f).toFixed(0)}" class="grid"/>`);
  return `<div class="axis">${esc(formatValue(top, p.unit))}</div><svg width="${w}" height="${h}">${grid.join('')}${lines.join('')}</svg>${legend(p.series)}`;
}

function legend(series: readonly Series[]): string {
  const items = series.map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.legend)}</span>`);
  return `<div class="legend">${items.join('')}</div>`;
}

function stat(p: PanelData): string {
  const s = p.series[0];
  if (!s) return '';
  const last = s.points.at(-1)?.[1] ?? Number.NaN;
  const text = p.showName ? s.legend : formatValue(last, p.unit);
  return `<div class="stat" data-series>${esc(text)}</div>`;
}

function stateTimeline(p: PanelData, w: number, span: readonly [number, number]): string {
  const [t0, t1] = span;
  const x = (t: number): number => ((t - t0) / (t1 - t0 || 1)) * (w - 160);
  const rows = p.series.map((s) => {
    const bands = s.points.map(([t, v], j) => {
      const next = s.points[j + 1]?.[0] ?? t1;
      const m = p.mappings[String(v)];
      const color = m ? (COLORS[m.color] ?? m.color) : v > 0 ? COLORS.green! : COLORS.red!;
      return `<rect x="${x(t).toFixed(1)}" width="${Math.max(1, x(next) - x(t)).toFixed(1)}" height="18" fill="${color}"/>`;
    });
    const lastV = s.points.at(-1)?.[1];
    const lastText = lastV === undefined ? '' : (p.mappings[String(lastV)]?.text ?? String(lastV));
    return `<div class="lane" data-series><span>${esc(s.legend)}</span><svg width="${w - 160}" height="18">${bands.join('')}</svg><b>${esc(lastText)}</b></div>`;
  });
  return rows.join('');
}

function table(p: PanelData): string {
  const keys = [...new Set(p.series.flatMap((s) => Object.keys(s.labels)))].filter((k) => k !== '__name__');
  const head = keys.map((k) => `<th>${esc(k)}</th>`).join('');
  const body = p.series.map((s) => `<tr data-series>${keys.map((k) => `<td>${esc(s.labels[k] ?? '')}</td>`).join('')}</tr>`);
  return `<table><tr>${head}</tr>${body.join('')}</table>`;
}

function panel(p: PanelData, span: readonly [number, number], note: (p: PanelData) => string | null): string {
  const { x, y, w, h } = p.gridPos;
  const box = `left:${(x * COL).toFixed(0)}px;top:${y * ROW}px;width:${(w * COL - 6).toFixed(0)}px;height:${h * ROW - 6}px`;
  if (p.type === 'row') return `<div class="row" style="${box}">${esc(p.title)}</div>`;
  const innerW = Math.round(w * COL - 22);
  const innerH = h * ROW - 80;
  let body: string;
  if (p.series.length === 0) body = `<div class="nodata">${esc(note(p) ?? 'No data')}</div>`;
  else if (p.type === 'timeseries') body = timeseries(p, innerW, innerH, span);
  else if (p.type === 'stat') body = stat(p);
  else if (p.type === 'state-timeline') body = stateTimeline(p, innerW, span);
  else if (p.type === 'table') body = table(p);
  else body = `<div class="nodata">panel type ${esc(p.type)} is not drawn</div>`;
  return `<section class="panel" data-panel="${esc(p.title)}" style="${box}"><h3>${esc(p.title)}</h3>${body}</section>`;
}

/** The whole dashboard as one self-contained HTML page. */
export function dashboardHtml(
  title: string,
  panels: readonly PanelData[],
  span: readonly [number, number],
  note: (p: PanelData) => string | null = () => null,
): string {
  const bottom = Math.max(...panels.map((p) => p.gridPos.y + p.gridPos.h)) * ROW;
  const when = `${new Date(span[0] * 1000).toISOString().slice(11, 19)} – ${new Date(span[1] * 1000).toISOString().slice(11, 19)} UTC`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{margin:0;background:#111217;color:#ccccdc;font:12px system-ui,sans-serif}
header{padding:10px 14px;font-size:16px;color:#fff}header small{color:#8e8e9e;font-size:12px;margin-left:12px}
main{position:relative;margin:0 10px;height:${bottom}px}
.panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;padding:6px 8px;box-sizing:border-box;overflow:hidden}
.panel h3{margin:0 0 4px;font-size:12px;font-weight:500;color:#fff}
.row{position:absolute;font-size:14px;color:#fff;padding-top:6px}
.axis{color:#8e8e9e;font-size:10px}.grid{stroke:#2c3235}
.legend{display:flex;flex-wrap:wrap;gap:2px 10px;font-size:10px;margin-top:2px}
.legend i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
.stat{font-size:34px;color:#fff;text-align:center;padding-top:40px}
.lane{display:flex;align-items:center;gap:6px;margin:3px 0;font-size:10px}.lane span{width:110px;overflow:hidden;white-space:nowrap}
.lane b{width:40px;font-weight:500}
.nodata{color:#8e8e9e;text-align:center;padding-top:70px}
table{border-collapse:collapse;font-size:10px}th,td{border-bottom:1px solid #2c3235;padding:2px 6px;text-align:left}
</style></head><body><header>${esc(title)}<small>${esc(when)}</small></header><main>${panels.map((p) => panel(p, span, note)).join('')}</main></body></html>`;
}
