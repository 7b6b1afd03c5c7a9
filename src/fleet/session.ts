// The member's etcd lease: grant, keep alive, notice loss, revoke on a clean leave. etcd3's own Lease
// class is not used: it records a renewal when the answer ARRIVES (the fence must count from when the
// keep-alive was SENT), it keeps a silent stream for a whole TTL before giving up on it, and it waits
// 2 TTLs before it reports a lease lost (microsoft/etcd3 issues #57, #110). Here one keep-alive is
// outstanding at a time, every 1/6 of the lease, each with its own timeout; the send time of every
// answered one goes to the self-fence clock.
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import type { Clock } from '../clock.js';
import { deadline, num } from './etcd-client.js';
import { keepAliveIntervalMs, keepAliveTimeoutMs, leaseTtlSeconds } from './fence.js';

export interface SessionListener {
  /** A lease was granted (the first one, or one replacing a lost lease); `sentAt`: grant request time. */
  leaseGranted(leaseId: string, sentAt: number): void;
  /** etcd answered a keep-alive sent at `sentAt` with the lease alive. */
  renewed(sentAt: number): void;
  /** etcd said the lease is gone (it expired while we could not reach etcd, or was revoked). */
  leaseLost(leaseId: string): void;
  /** A grant or keep-alive failed: etcd unreachable, too slow, or refused. */
  failed(err: Error): void;
}

type KaStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** One keep-alive stream with at most one request in flight, so each answer matches its send time. */
class KeepAliveStream {
  private waiter: { resolve: (r: ILeaseKeepAliveResponse) => void; reject: (e: Error) => void } | null = null;
  dead = false;

  constructor(private readonly stream: KaStream) {
    stream.on('data', (r) => {
      const w = this.waiter;
      this.waiter = null;
      w?.resolve(r);
    });
    const fail = (e: Error): void => {
      this.dead = true;
      const w = this.waiter;
      this.waiter = null;
      w?.reject(e);
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('keep-alive stream ended')));
  }

  ping(leaseId: string, timeoutMs: number): Promise<ILeaseKeepAliveResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        this.abort();
        reject(new Error(`keep-alive not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.stream.write({ ID: leaseId });
    });
  }

  abort(): void {
    this.dead = true;
    this.stream.cancel();
  }

  end(): void {
    this.dead = true;
    this.stream.end();
  }
}

export class LeaseSession {
  private leaseId: string | null = null;
  private stream: KeepAliveStream | null = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly client: Etcd3,
    private readonly leaseMs: number,
    private readonly clock: Clock,
    private readonly listener: SessionListener,
  ) {
    this.intervalMs = keepAliveIntervalMs(leaseMs);
    this.timeoutMs = keepAliveTimeoutMs(leaseMs);
  }

  get lease(): string | null {
    return this.leaseId;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stop renewing; with `revoke`, tell etcd to drop the lease (and every key bound to it) now. */
  async close(revoke: boolean): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
    this.stream?.end();
    this.stream = null;
    const id = this.leaseId;
    this.leaseId = null;
    if (revoke && id !== null) {
      try {
        await this.client.leaseClient.leaseRevoke({ ID: id }, deadline(1000));
      } catch {
        // the lease then expires on its own after its TTL: a clean leave became a slow one
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const began = this.clock.now();
      const ok = this.leaseId === null ? await this.grant() : await this.keepAlive(this.leaseId);
      if (this.closed) break;
      // after a failure, try again sooner: reconnecting fast is what the 5 s catch-up needs
      const pause = ok ? this.intervalMs : Math.min(this.intervalMs, 250);
      await this.sleep(Math.max(0, pause - (this.clock.now() - began)));
    }
  }

  private async grant(): Promise<boolean> {
    const sentAt = this.clock.now();
    try {
      const res = await this.client.leaseClient.leaseGrant({ TTL: leaseTtlSeconds(this.leaseMs) }, deadline(this.timeoutMs));
      if (this.closed) {
        await this.client.leaseClient.leaseRevoke({ ID: res.ID }, deadline(1000)).catch(() => undefined);
        return false;
      }
      this.leaseId = res.ID;
      this.listener.leaseGranted(res.ID, sentAt);
      return true;
    } catch (e) {
      this.listener.failed(e as Error);
      return false;
    }
  }

  private async keepAlive(id: string): Promise<boolean> {
    const sentAt = this.clock.now();
    try {
      if (this.stream === null || this.stream.dead) this.stream = new KeepAliveStream(await this.client.leaseClient.leaseKeepAlive());
      const res = await this.stream.ping(id, this.timeoutMs);
      if (num(res.TTL) <= 0) {
        // etcd no longer knows the lease: it expired while we could not renew it
        this.leaseId = null;
        this.listener.leaseLost(id);
        return false;
      }
      this.listener.renewed(sentAt);
      return true;
    } catch (e) {
      this.stream?.abort();
      this.stream = null;
      this.listener.failed(e as Error);
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }
}
