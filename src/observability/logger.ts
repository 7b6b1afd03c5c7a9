import pino, { type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function isLogLevel(s: string): boolean {
  return LEVELS.has(s);
}

const destinations = new WeakMap<Logger, { flushSync(): void }>();

/**
 * One root logger for the process (PITFALLS: no per-request child()). stdout goes through an
 * asynchronous SonicBoom destination so access logging does not block the event loop;
 * `flushLogger` drains it synchronously before the process exits so the tail is not lost.
 */
export function createLogger(level: string, opts: { worker?: number } = {}): Logger {
  // Cluster workers share stdout with each other: writes of at most PIPE_BUF (4096 bytes on Linux)
  // are atomic on a pipe, and SonicBoom cuts its writes at line boundaries below maxWrite, so
  // lines from different workers never interleave mid-line.
  const worker = opts.worker;
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0, ...(worker !== undefined ? { maxWrite: 4096 } : {}) });
  const base = worker !== undefined ? { pid: process.pid, worker } : { pid: process.pid };
  const logger = pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, dest);
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
