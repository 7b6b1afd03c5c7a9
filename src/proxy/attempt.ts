// One try of an exchange (exchange.ts) on one endpoint: its timers and upstream request, and the
// hooks object http-proxy hands back for the call. Its events go to the exchange that owns it.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
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

  /** Cut the upstream request unless its socket connects within `ms` (timeouts.connect). */
  armConnectTimer(proxyReq: ClientRequest, socket: Socket, ms: number): void {
    this.connectTimer = setTimeout(() => {
      this.timedOut = 'connect';
      proxyReq.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
    }, ms);
    socket.once('connect', () => {
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = null;
    });
  }

  /** The attempt is over: its timers stop. */
  finish(): void {
    this.done = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (this.responseTimer) clearTimeout(this.responseTimer);
    this.connectTimer = this.responseTimer = null;
  }

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
