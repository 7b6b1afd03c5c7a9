// Why an upstream attempt or a health probe failed, decided in one place: the request path, the
// WebSocket upgrade path and the prober all ask `classifyFailure`, so an error code means the same
// thing in the metrics, the passive health signal, the retry rule and the probe's state.
//
// Two origins:
// - upstream: the region's side failed — it refused or could not be reached, reset the connection,
//   sent no response headers in time, sent something that is not HTTP, or answered with a failing
//   status;
// - local: this process could not do its part — out of file descriptors, socket buffers or local
//   ports, a request that never got a socket from its pool in time, or a client that went away.
//   None of these says anything about the region.
//
// `counted` is what the request path records against the endpoint (the `kind` label of
// meridian_upstream_errors_total and the passive health signal). A local failure is never counted
// against an endpoint or a region, in live traffic or in probes: it goes to
// meridian_local_errors_total{kind} instead (a client that went away is not even that).

export type UpstreamFailureKind = 'connect' | 'timeout' | 'reset' | 'bad_response' | 'status';
export type LocalFailureKind = 'fd_limit' | 'no_buffers' | 'no_local_port' | 'pool_full' | 'client_gone';

/** The local kinds counted in meridian_local_errors_total (a client that went away is not an error). */
export const LOCAL_ERROR_KINDS: readonly Exclude<LocalFailureKind, 'client_gone'>[] = [
  'fd_limit',
  'no_buffers',
  'no_local_port',
  'pool_full',
];

export type Failure =
  | {
      readonly origin: 'upstream';
      readonly kind: UpstreamFailureKind;
      readonly counted: UpstreamFailureKind;
      /** A short word for logs and probe results: 'refused', 'reset', 'timeout', 'status', or the error code. */
      readonly detail: string;
    }
  | {
      readonly origin: 'local';
      readonly kind: LocalFailureKind;
      /** Never held against the endpoint. */
      readonly counted: null;
      readonly detail: string;
    };

/** What is known about a failed attempt. Several can hold; the first rule that matches wins. */
export interface FailureFacts {
  /** The error the request emitted (or threw), if any. */
  readonly error?: unknown;
  /** One of our own timers ended the attempt: connecting took too long, or the response headers did. */
  readonly timer?: 'connect' | 'response' | null;
  /** The attempt never got a socket from its connection pool. */
  readonly waitingForSocket?: boolean;
  /** The upstream answered with this (failing) status. */
  readonly status?: number;
  /** The response arrived but could not be passed on (a header Node refuses to send). */
  readonly unrelayable?: boolean;
  /** The client went away before the attempt ended. */
  readonly clientGone?: boolean;
}

function upstream(kind: UpstreamFailureKind, detail: string): Failure {
  return Object.freeze({ origin: 'upstream', kind, counted: kind, detail });
}

function local(kind: LocalFailureKind, detail: string): Failure {
  return Object.freeze({ origin: 'local', kind, counted: null, detail });
}

const CLIENT_GONE = local('client_gone', 'client-gone');
// A response timeout while the request still waited for a pooled socket: the pool was full.
const POOL_FULL = local('pool_full', 'pool-full');
const TIMEOUT = upstream('timeout', 'timeout');
const CONNECT_TIMEOUT = upstream('connect', 'connect-timeout');
const STATUS = upstream('status', 'status');

/** Error codes with a fixed meaning (Node's net/dns errno names; `HPE_*` is handled apart). */
const BY_CODE: ReadonlyMap<string, Failure> = new Map([
  // Nothing reached the region: refused, no route to it, or its name did not resolve.
  ['ECONNREFUSED', upstream('connect', 'refused')],
  ['EHOSTUNREACH', upstream('connect', 'EHOSTUNREACH')],
  ['ENETUNREACH', upstream('connect', 'ENETUNREACH')],
  ['ENOTFOUND', upstream('connect', 'ENOTFOUND')],
  ['EAI_AGAIN', upstream('connect', 'EAI_AGAIN')],
  // The connection broke.
  ['ECONNRESET', upstream('reset', 'reset')],
  ['EPIPE', upstream('reset', 'reset')],
  ['ECONNABORTED', upstream('reset', 'ECONNABORTED')],
  // The kernel gave up waiting on the peer (unanswered SYNs, or keep-alive probes of a vanished host).
  ['ETIMEDOUT', upstream('timeout', 'timeout')],
  // This host ran out of something: descriptors, buffers or memory, local ports.
  ['EMFILE', local('fd_limit', 'EMFILE')],
  ['ENFILE', local('fd_limit', 'ENFILE')],
  ['ENOBUFS', local('no_buffers', 'ENOBUFS')],
  ['ENOMEM', local('no_buffers', 'ENOMEM')],
  ['EADDRNOTAVAIL', local('no_local_port', 'EADDRNOTAVAIL')],
]);

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The one classifier of failed attempts and probes (see the file comment for the two origins). */
export function classifyFailure(f: FailureFacts): Failure {
  if (f.clientGone) return CLIENT_GONE;
  if (f.timer === 'response') return f.waitingForSocket ? POOL_FULL : TIMEOUT;
  if (f.timer === 'connect') return CONNECT_TIMEOUT;
  if (f.status !== undefined) return STATUS;
  const code = codeOf(f.error);
  if (f.unrelayable) return upstream('bad_response', code ?? 'unrelayable');
  if (code !== undefined) {
    const known = BY_CODE.get(code);
    if (known) return known;
    // llhttp's parse errors: what came back was not a valid HTTP response.
    if (code.startsWith('HPE_')) return upstream('bad_response', code);
    // Any other error on an open connection ended it before a response.
    return upstream('reset', code);
  }
  return upstream('reset', f.error instanceof Error ? f.error.message : 'error');
}
