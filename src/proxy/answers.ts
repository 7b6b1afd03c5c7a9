// Every answer the public listener gives by itself — refusals, upstream failures, upgrade refusals
// and requests Node could not parse — on a ServerResponse or on a raw socket, built from the error
// catalogue (src/errors.ts): status, JSON body `{"error", "message", ...}`, and for a 503 a
// Retry-After of one probe interval (the soonest the health view can change).
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';
import type { UpstreamFailureKind } from '../failure.js';
import type { Decision, HealthView, Snapshot } from '../types.js';

/** An error answer to give: a catalogue code, optionally a specific message and extra body fields. */
export interface Refusal {
  readonly code: ErrorCode;
  readonly message?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The fleet's refusals of a primary request: over within about a second, so Retry-After is 1. */
const FLEET_REFUSALS: ReadonlySet<string> = new Set(['write-handover', 'fleet-unavailable', 'write-region-down']);

/** Seconds a client should wait before retrying a 503: one probe interval, at least 1 s. */
function retryAfter(snap: Snapshot): string {
  return String(Math.max(1, Math.ceil(snap.health.intervalMs / 1000)));
}

/** The answer for a decision that names no region: one place, for requests and upgrades alike. */
export function refusalFor(d: Decision): Refusal {
  const rule = d.residencyRule ? { rule: d.residencyRule } : undefined;
  if (d.status === 404) return { code: 'no_route', message: d.detail };
  if (d.reason === 'residency') return { code: 'residency', message: d.detail, extra: rule };
  if (FLEET_REFUSALS.has(d.reason)) return { code: d.reason as ErrorCode, message: d.detail };
  if (d.selector === 'primary') return { code: 'no_write_region', message: d.detail, extra: rule };
  return { code: 'all_down', message: d.detail, extra: rule };
}

/**
 * Whether the residency rule is what stands between a request and a working region: some region
 * outside the rule is available. Only then is the answer a residency 503; otherwise the upstream's
 * own failure (502/504) is the truth.
 */
export function residencyBlocks(d: Decision, snap: Snapshot, view: HealthView): boolean {
  const name = d.residencyRule;
  if (!name) return false;
  const rule = snap.residency.find((r) => r.name === name);
  if (!rule) return false;
  return snap.regions.some((r) => !rule.regions.has(r.name) && view.isAvailable(r.name));
}

/**
 * What the client gets when an attempt failed this way and no retry is left. (A failing status is
 * normally relayed as the backend sent it; it is ours to answer only when it cannot be relayed.)
 */
export function upstreamFailureCode(kind: UpstreamFailureKind): ErrorCode {
  switch (kind) {
    case 'timeout':
      return 'upstream_timeout';
    case 'connect':
      return 'upstream_connect_failed';
    case 'reset':
      return 'upstream_reset';
    case 'bad_response':
    case 'status':
      return 'upstream_bad_response';
  }
}

/**
 * Answer on a ServerResponse. `region`/`reason` become the x-meridian-* headers when the config
 * asks for them. When the answer has already begun (the upstream's status line went out), the
 * only honest thing left is to cut the connection, so the client sees a truncated response.
 */
export function answer(
  res: ServerResponse,
  snap: Snapshot,
  r: Refusal,
  meridian: { readonly region: string | null; readonly reason: string } | null,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = ERRORS[r.code].status;
  const body = errorBody(r.code, r.message, r.extra);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (status === 503) res.setHeader('retry-after', FLEET_REFUSALS.has(r.code) ? '1' : retryAfter(snap));
  if (meridian && snap.responseHeaders) {
    if (meridian.region) res.setHeader('x-meridian-region', meridian.region);
    res.setHeader('x-meridian-reason', meridian.reason);
  }
  res.end(body);
}

/**
 * Answer on a raw socket (an upgrade before it happened, CONNECT, an unparsable request) and close
 * it. `snap` is needed only for a 503's Retry-After. A client that does not close its side within a
 * second after the answer is cut off.
 */
export function answerRaw(socket: Duplex, r: Refusal, snap: Snapshot | null = null): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = ERRORS[r.code].status;
  const body = errorBody(r.code, r.message, r.extra);
  const wait = status === 503 && snap ? `retry-after: ${FLEET_REFUSALS.has(r.code) ? '1' : retryAfter(snap)}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${wait}connection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}
