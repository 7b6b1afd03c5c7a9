// Reading a request body on the client's side: the gap timer (limits.bodyTimeout) and the size
// cap (limits.maxBodyBytes) while the body arrives, and the buffering that lets a small body be
// resent on a retry. A stalled or oversized body is the client's doing: the exchange answers it
// (408 / 413) and nothing counts against an endpoint.
import type { IncomingMessage } from 'node:http';
import type { LimitsConfig } from '../types.js';

export type BodyLimit = 'bodyTimeout' | 'maxBodyBytes';

/**
 * Watch a body being read: `stop` is called once when the client leaves a gap longer than
 * `bodyTimeoutMs` between two pieces of it, or when a body without a declared length (chunked)
 * grows beyond `maxBodyBytes`. A declared Content-Length is checked before reading (`tooLong`).
 *
 * The gap timer is the socket's own inactivity timer (Node re-arms it on every read and write),
 * set only while a body is being read, so requests without a body pay nothing for it.
 */
export class BodyWatch {
  private counted = 0;
  private stopped = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limits: LimitsConfig,
    private readonly stop: (limit: BodyLimit) => void,
  ) {}

  /** A declared length the limit refuses before anything is read or forwarded. */
  static tooLong(len: number | 'chunked', limits: LimitsConfig): boolean {
    return len !== 'chunked' && limits.maxBodyBytes > 0 && len > limits.maxBodyBytes;
  }

  start(chunked: boolean): void {
    const { req } = this;
    if (req.complete) return;
    req.setTimeout(this.limits.bodyTimeoutMs, this.onStall);
    req.once('end', this.onEnd);
    if (chunked && this.limits.maxBodyBytes > 0) req.on('data', this.onData);
  }

  /** Bytes put back with unshift() will be read (and seen) again: do not count them twice. */
  uncount(bytes: number): void {
    this.counted -= bytes;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.counted += chunk.length;
    if (this.counted > this.limits.maxBodyBytes) this.end('maxBodyBytes');
  };

  private readonly onStall = (): void => {
    if (!this.req.complete) this.end('bodyTimeout');
  };

  private readonly onEnd = (): void => {
    this.req.socket?.setTimeout(0);
    this.req.off('data', this.onData);
  };

  private end(limit: BodyLimit): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onEnd();
    this.req.pause();
    this.stop(limit);
  }
}

/**
 * Hold a small body so a retry can resend it: `done(body)` with the whole body, or `overflow()`
 * once it outgrows `limit` (the request is then paused with what was read put back, to be streamed).
 */
export function bufferBody(
  req: IncomingMessage,
  limit: number,
  watch: BodyWatch,
  done: (body: Buffer) => void,
  overflow: () => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      cleanup();
      req.pause();
      req.unshift(Buffer.concat(chunks));
      watch.uncount(size);
      overflow();
    }
  };
  const onEnd = (): void => {
    cleanup();
    done(Buffer.concat(chunks, size));
  };
  const cleanup = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
  };
  req.on('data', onData);
  req.on('end', onEnd);
}
