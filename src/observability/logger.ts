import pino, { type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function isLogLevel(s: string): boolean {
  return LEVELS.has(s);
}

const destinations = new WeakMap<Logger, { flushSync(): void }>();

let lastMs = -1;
let lastTime = '';

/**
 * pino's isoTime, cached per millisecond: the same `"time":"<ISO 8601>"` text, but `toISOString()`
 * runs once per millisecond instead of once per line (several requests share a millisecond
 * under load).
 */
function isoTimeCached(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastTime = `,"time":"${new Date(ms).toISOString()}"`;
  }
  return lastTime;
}

/**
 * One root logger for the process (PITFALLS: no per-request child()). stdout goes through an
 * asynchronous SonicBoom destination so access logging does not block the event loop;
 * `flushLogger` drains it synchronously before the process exits so the tail is not lost.
 * Batching lines (`minLength` 8 KiB with a 100 ms periodic flush) was tried and not kept: the
 * router's CPU per request under load did not change measurably (~104 us either way; under load
 * the destination already gathers the lines written while a write is in flight), and it delays
 * lines, which a test watching for prompt health-transition lines caught (docs/profile.md).
 */
export function createLogger(level: string, opts: { worker?: number } = {}): Logger {
  // maxWrite 4096 (SonicBoom's default is 16 KiB), for two reasons. Cluster workers share stdout:
  // writes of at most PIPE_BUF (4096 bytes on Linux) are atomic on a pipe, and SonicBoom cuts its
  // writes at line boundaries below maxWrite, so lines from different workers never interleave.
  // And SonicBoom measures its pending chunk (Buffer.byteLength) on every line it appends: a
  // smaller chunk made an access line ~0.7 µs cheaper under bursts of 50 lines (3.7 → 3.0 µs).
  const worker = opts.worker;
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0, maxWrite: 4096 });
  const base = worker !== undefined ? { pid: process.pid, worker } : { pid: process.pid };
  const logger = pino({ level, base, timestamp: isoTimeCached }, dest);
  destinations.set(logger, dest);
  return logger;
}

export function flushLogger(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync();
  } catch {
    // flushing a destination that is not ready yet or already closed is harmless at exit
  }
}
