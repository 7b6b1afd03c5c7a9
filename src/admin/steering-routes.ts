// The traffic-steering admin routes: POST /admin/regions/{name}/dial {"percent": N}, and drain /
// undrain, which take an optional {"over": "10m"} to move the region's dial gradually instead of
// draining it at once. Bodies are checked here; the change itself is the AdminTarget's.
import type http from 'node:http';
import { parseDuration } from '../config/parse.js';
import { fail, readBody, send } from './respond.js';

/** A dial to `percent`, at once (overMs null) or as a linear ramp; `undrain` also lifts a drain. */
export interface DialChange {
  readonly percent: number;
  readonly overMs: number | null;
  readonly undrain: boolean;
}

export interface DialAnswer {
  readonly region: string;
  readonly drained: boolean;
  readonly dial: unknown;
}

/** What these routes need of the admin target. */
export interface RegionActions {
  drain(region: string): boolean | Promise<boolean>;
  /** Set or ramp a region's traffic dial; null: no such region. */
  dial(region: string, change: DialChange): DialAnswer | null | Promise<DialAnswer | null>;
}

/** Longest ramp accepted, as for config durations. */
const MAX_OVER_MS = 24 * 3_600_000;

type Body = { ok: true; value: Record<string, unknown> } | { ok: false; message: string; tooLarge?: boolean };

async function jsonBody(req: http.IncomingMessage, example: string): Promise<Body> {
  const raw = await readBody(req);
  if (raw === null) return { ok: false, message: 'body too large', tooLarge: true };
  if (raw.trim() === '') return { ok: true, value: {} };
  try {
    const v: unknown = JSON.parse(raw);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { ok: true, value: v as Record<string, unknown> };
  } catch {
    // answered below
  }
  return { ok: false, message: `body must be a JSON object like ${example}` };
}

/** `over` of a drain/undrain body: null when absent, else milliseconds, else an error message. */
function overOf(body: Record<string, unknown>): number | null | string {
  if (body['over'] === undefined) return null;
  const d = parseDuration(body['over']);
  if (!d.ok) return `over: ${d.message}`;
  if (d.value <= 0 || d.value > MAX_OVER_MS) return 'over: must be above 0 and at most 24h';
  return d.value;
}

export async function regionRoute(
  target: RegionActions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  region: string,
  op: 'drain' | 'undrain' | 'dial',
): Promise<void> {
  const example = op === 'dial' ? '{"percent": 30}' : '{"over": "10m"}';
  const body = await jsonBody(req, example);
  if (!body.ok) {
    if (body.tooLarge) res.setHeader('connection', 'close');
    return fail(res, body.tooLarge ? 'payload_too_large' : 'bad_request', body.tooLarge ? undefined : body.message);
  }
  let change: DialChange | null;
  if (op === 'dial') {
    const p = body.value['percent'];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100) {
      return fail(res, 'bad_request', 'percent must be an integer from 0 to 100, like {"percent": 30}');
    }
    change = { percent: p, overMs: null, undrain: false };
  } else {
    const over = overOf(body.value);
    if (typeof over === 'string') return fail(res, 'bad_request', over);
    // A plain drain stays immediate (the drain flag); a plain undrain lifts it and restores 100 %.
    if (op === 'drain' && over === null) {
      if (!(await target.drain(region))) return fail(res, 'unknown_region', `no region named "${region}"`);
      return send(res, 200, { region, drained: true });
    }
    change = op === 'drain' ? { percent: 0, overMs: over, undrain: false } : { percent: 100, overMs: over, undrain: true };
  }
  const answer = await target.dial(region, change);
  if (answer === null) return fail(res, 'unknown_region', `no region named "${region}"`);
  return send(res, 200, answer);
}
