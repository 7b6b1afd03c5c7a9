// The `limits` and `tls` sections of the config schema (schema.ts holds the rest and the top
// level): what one client may hold or take of the router, with defaults meant for the open internet.
import { dur, int, list, obj, type Fields } from './schema-types.js';

const MIB = 1024 * 1024;

export const limitsFields = {
  maxConnections: {
    type: int(1),
    default: 10000,
    unit: 'connections',
    doc: 'Client connections open at once on the public listener; beyond it a new connection is closed at once.',
  },
  maxConnectionsPerIp: {
    type: int(1),
    default: 256,
    unit: 'connections',
    doc: 'Client connections open at once from one socket peer address; beyond it a new connection from that address is closed at once.',
    see: 'Counted per socket peer, not per X-Forwarded-For: behind a load balancer raise it to cover the balancer.',
  },
  headersTimeout: {
    type: dur(1),
    default: '10s',
    doc: 'The request head must arrive within this, counted from accept (or from the end of the previous response on keep-alive); else `408` where possible, or a close.',
  },
  bodyTimeout: {
    type: dur(1),
    default: '30s',
    doc: 'Longest gap between two pieces of a request body; a client that stalls gets `408` and is closed, and nothing counts against the backend.',
  },
  idleTimeout: { type: dur(1), default: '60s', doc: 'A keep-alive client connection with no request in flight is closed after this.' },
  maxHeaderBytes: {
    // Held in memory per connection while the head is parsed: capped like the other buffers.
    type: int(1024, 64 * MIB),
    default: 16384,
    unit: 'bytes',
    doc: 'Largest request head (request line and header fields); larger gets `431`.',
    see: 'Read when a connection is accepted: a reload applies it to new connections.',
  },
  maxBodyBytes: {
    type: int(0),
    default: 0,
    unit: 'bytes',
    doc: 'Largest request body; 0 = unlimited. A declared Content-Length above it gets `413` before anything is forwarded; a chunked body is counted and cut with `413` (or a close once the answer has begun).',
  },
  tunnelIdleTimeout: {
    type: dur(1),
    default: '1h',
    doc: 'An upgraded connection (WebSocket) with no traffic either way for this long is closed.',
  },
  upstreamMaxSockets: {
    type: int(1),
    default: 1024,
    unit: 'sockets',
    doc: 'Connections open at once to one endpoint; requests beyond it wait for a free one (bounded by `timeouts.request`).',
    see: 'A request that never got a socket in time is a local error: it does not count against the endpoint.',
  },
} as const satisfies Fields;

const certFile = (what: string) =>
  ({
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: 'none',
    doc: `PEM ${what} file; a relative path is relative to this config file.`,
  }) as const;

export const tlsFields = {
  cert: { ...certFile('certificate (chain)'), see: 'With `tls.key`: the listener speaks TLS (1.2 or later, HTTP/1.1 by ALPN).' },
  key: certFile('private key'),
  certificates: {
    type: list(obj({ cert: { ...certFile('certificate (chain)'), required: true }, key: { ...certFile('private key'), required: true } })),
    default: [],
    doc: "Several certificates, chosen by the client's SNI name against each certificate's names; when none matches, the first is served.",
    see: 'Used instead of `tls.cert`/`tls.key` when not empty. Files are re-read on every reload; turning TLS on or off takes a restart.',
  },
} as const satisfies Fields;
