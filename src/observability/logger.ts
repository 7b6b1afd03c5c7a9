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
export function createLogger(level: string): Logger {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0 });
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
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
