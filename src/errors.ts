// One catalogue of the errors a client can meet (STYLE habit 5, after fastify's errors file):
// each has a stable code (the JSON body's `error`), an HTTP status and a message. The README's
// "Errors" table is checked against this list by test/unit/errors.test.ts.

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
  unauthorized: { status: 401, message: 'admin token missing or wrong (Authorization: Bearer <token>)' },
  payload_too_large: { status: 413, message: 'admin request body too large' },
  all_down: { status: 503, message: 'no region is available to serve this request' },
  residency: { status: 503, message: 'no region allowed by the residency rule is available' },
  no_write_region: { status: 503, message: 'no write region is available' },
  upstream_connect_failed: { status: 502, message: 'could not connect to the upstream region' },
  upstream_reset: { status: 502, message: 'the upstream connection failed before a response' },
  upstream_bad_response: { status: 502, message: 'the upstream sent a response that could not be relayed' },
  upstream_timeout: { status: 504, message: 'the upstream did not answer in time' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** The short JSON body every error answer carries. */
export function errorBody(code: ErrorCode, message?: string, extra?: Record<string, unknown>): string {
  return JSON.stringify({ error: code, message: message ?? ERRORS[code].message, ...extra });
}
