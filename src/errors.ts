// One catalogue of the errors a client or an operator can meet, after fastify's errors file: each
// has a stable code (the JSON body's `error`), an HTTP status and a message. Every error answer of
// the router, the admin API and the cluster workers is built from this list (proxy/answers.ts for
// the request path); the README's "Errors" table is checked against it, both ways, by
// test/unit/errors.test.ts.

export interface ErrorDef {
  readonly status: number;
  readonly message: string;
}

export const ERRORS = {
  no_route: { status: 404, message: 'no route matches this request' },
  not_found: { status: 404, message: 'no such admin resource' },
  unknown_region: { status: 404, message: 'no region with that name' },
  method_not_allowed: { status: 405, message: 'method not allowed here' },
  connect_not_supported: { status: 405, message: 'CONNECT is not supported: Meridian is a reverse proxy, not a forward proxy' },
  bad_request: { status: 400, message: 'the request is malformed' },
  invalid_config: { status: 400, message: 'the config file is invalid; the running config stays' },
  unauthorized: { status: 401, message: 'admin token missing or wrong (Authorization: Bearer <token>)' },
  request_timeout: { status: 408, message: 'the request did not arrive in time' },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  headers_too_large: { status: 431, message: 'the request header fields are too large' },
  internal: { status: 500, message: 'internal error' },
  all_down: { status: 503, message: 'no region is available to serve this request' },
  residency: { status: 503, message: 'no region allowed by the residency rule is available' },
  no_write_region: { status: 503, message: 'no write region is available' },
  'write-handover': { status: 503, message: 'the write region is being handed over; retry in a second' },
  'fleet-unavailable': { status: 503, message: 'this router cannot reach the fleet (etcd) and may not change or send writes now' },
  'write-region-down': {
    status: 503,
    message: "the fleet's write region is down as this router sees it; writes wait until the fleet moves them",
  },
  not_ready: { status: 503, message: 'this worker has no config yet' },
  no_worker: { status: 503, message: 'no worker answered; try again' },
  overloaded: { status: 503, message: 'the router ran out of its own resources (descriptors, buffers, connections); try again' },
  upstream_connect_failed: { status: 502, message: 'could not connect to the upstream region' },
  upstream_reset: { status: 502, message: 'the upstream connection failed before a response' },
  upstream_bad_response: { status: 502, message: 'the upstream sent a response that could not be relayed' },
  upstream_timeout: { status: 504, message: 'the upstream did not answer in time' },
  write_outcome_unknown: {
    status: 504,
    message: 'this router lost its fleet lease while the write was in flight: it was cut, and may or may not have been applied',
  },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** The short JSON body every error answer carries. */
export function errorBody(code: ErrorCode, message?: string, extra?: Record<string, unknown>): string {
  return JSON.stringify({ error: code, message: message ?? ERRORS[code].message, ...extra });
}

/** An error answer as data, the shape of its JSON body (it crosses the cluster IPC channel so). */
export interface ErrorData {
  readonly error: ErrorCode;
  readonly message: string;
}

export function errorData(code: ErrorCode, message?: string): ErrorData {
  return { error: code, message: message ?? ERRORS[code].message };
}

export function isErrorData(x: unknown): x is ErrorData {
  if (typeof x !== 'object' || x === null) return false;
  const { error, message } = x as { error?: unknown; message?: unknown };
  return typeof error === 'string' && Object.hasOwn(ERRORS, error) && typeof message === 'string';
}

/**
 * Thrown where an answer is computed far from the code that writes it (the admin API asks the App
 * or the cluster primary): the admin handler answers it with the catalogue's status and body.
 */
export class ErrorAnswer extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
  ) {
    super(message ?? ERRORS[code].message);
  }
}
