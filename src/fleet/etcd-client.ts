// The etcd3 client, tuned for the fleet's timings. The library's defaults are made for a service that
// can wait: a per-host circuit breaker that stops calling a host for 5 s after three failures, three
// immediate retries of every call, watch reconnects backing off to 30 s, grpc reconnects backing off
// to 120 s, and no deadline on calls. The fleet needs the opposite: to be connected and writing again
// within 5 s after etcd is reachable, and an operator change that etcd cannot accept to fail within
// 2 s. So: no circuit breaker; with several etcd endpoints one immediate retry, which the library
// sends to another endpoint (a dead etcd member costs one fast failure, not a failed action); every
// unary call has a deadline, which a retry shares; reconnects back off from 100 ms to at most 1 s.
// Every fleet write is safe to repeat: puts are idempotent and transactions compare before they write.
import { readFileSync } from 'node:fs';
import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import type { FleetEtcdConfig } from './config.js';

/** Unary calls without an explicit deadline get this one. */
const DEFAULT_CALL_DEADLINE_MS = 1500;

function etcdOptions(cfg: FleetEtcdConfig): IOptions {
  const opts: IOptions = {
    hosts: [...cfg.endpoints],
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // HTTP/2 pings find a connection that died silently (a cable pulled, not a reset): etcd refuses
      // pings more often than every 5 s by default (--grpc-keepalive-min-time), so 5 s it is.
      'grpc.keepalive_time_ms': 5000,
      'grpc.keepalive_timeout_ms': 2000,
      // own connections, so closing this client really closes them (no sharing between members)
      'grpc.use_local_subchannel_pool': 1,
    },
    faultHandling: {
      host: () => noop,
      global: cfg.endpoints.length > 1 ? retry(handleWhen(isRecoverableError), { maxAttempts: 1 }) : noop,
      // etcd3 types this as a backoff state and calls next() on it for every reconnect series: the
      // first state of the series, so reconnects start at ~100 ms and never wait more than 1 s
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + DEFAULT_CALL_DEADLINE_MS }),
  };
  if (cfg.username !== null && cfg.password !== null) opts.auth = { username: cfg.username, password: cfg.password };
  if (cfg.tls) {
    opts.credentials = {
      rootCertificate: readFileSync(cfg.tls.ca),
      ...(cfg.tls.key !== null ? { privateKey: readFileSync(cfg.tls.key) } : {}),
      ...(cfg.tls.cert !== null ? { certChain: readFileSync(cfg.tls.cert) } : {}),
    };
  }
  return opts;
}

export function createEtcdClient(cfg: FleetEtcdConfig): Etcd3 {
  return new Etcd3(etcdOptions(cfg));
}

/** etcd3 returns 64-bit integers as decimal strings; revisions stay far below 2^53. */
export function num(v: string | number | undefined): number {
  return v === undefined ? 0 : Number(v);
}

/** The end of the key range that holds every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export function deadline(ms: number): { deadline: number } {
  return { deadline: Date.now() + ms };
}
