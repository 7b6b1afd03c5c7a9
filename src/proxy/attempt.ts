// One try of an exchange (exchange.ts) on one endpoint: its timers and upstream request, and the
// hooks object http-proxy hands back for the call. Its events go to the exchange that owns it.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ForwardHooks } from './http-proxy.js';

/** What an attempt reports to (the Exchange). */
export interface AttemptOwner {
  attached(a: Attempt, proxyReq: ClientRequest): void;
  failed(a: Attempt, err: Error): void;
  responded(a: Attempt, proxyRes: IncomingMessage): void;
  switchedUnasked(a: Attempt): void;
}

/** One try on one endpoint; it is the hooks object http-proxy hands back for this call. */
export class Attempt implements ForwardHooks {
  readonly startedAt = performance.now();
  proxyReq: ClientRequest | null = null;
  /** socket.bytesWritten when this attempt got its socket: more means request bytes left us. */
  bytesBefore = 0;
  connectTimer: NodeJS.Timeout | null = null;
  responseTimer: NodeJS.Timeout | null = null;
  timedOut: 'connect' | 'response' | null = null;
  done = false;

  constructor(
    private readonly ex: AttemptOwner,
    readonly region: string,
    readonly endpoint: string,
  ) {}

  onProxyReq(proxyReq: ClientRequest): void {
    this.ex.attached(this, proxyReq);
  }

  readonly onError = (err: Error): void => this.ex.failed(this, err);
  readonly onResponse = (proxyRes: IncomingMessage): void => this.ex.responded(this, proxyRes);
  /** A 101 to a request that did not ask to upgrade: Node hands over the socket and no response. */
  readonly onUpgrade = (_res: IncomingMessage, socket: Duplex): void => {
    socket.destroy();
    this.ex.switchedUnasked(this);
  };
}
