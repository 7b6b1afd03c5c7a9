import pino, { type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function isLogLevel(s: string): boolean {
  return LEVELS.has(s);
}

/**
 * Writes of at most this many bytes are atomic on a pipe (PIPE_BUF on Linux). Cluster workers share
 * stdout, so their writes are cut at a line boundary under this size and lines from different
 * workers never interleave.
 */
const PIPE_BUF = 4096;
/** Largest write of a process that has stdout to itself. */
const MAX_WRITE = 64 * 1024;

interface Sink {
  write(s: string): unknown;
  flushSync(): void;
}

/** How long a deferred (access) line may wait for others before it is written. */
const DEFER_MS = 50;
/** Deferred lines that make a batch worth writing at once (about 64 KiB of access lines). */
const DEFER_LINES = 256;

/** Turns a deferred entry into its line; `time` is pino's `,"time":"…"` for when it was written. */
export type LineFormat<T> = (entry: T, time: string) => string;

/** The scheduling LineBatch needs; tests drive it by hand. */
export interface BatchTimers {
  setImmediate(fn: () => void): void;
  /** A timer that does not keep the process alive. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: BatchTimers = {
  setImmediate: (fn) => void setImmediate(fn),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The logger's output: lines in the order they were written, handed to the destination in writes
 * of up to `maxWrite` bytes cut at line boundaries.
 *
 * - `write` (pino's own lines: events, warnings, errors) goes out on the next check phase
 *   (setImmediate), with every line pending before it.
 * - `writeDeferred` (access lines) stores the entry and formats it only when the batch is written:
 *   once `DEFER_LINES` are pending, when any pino line is written, or after `DEFER_MS` at most.
 *
 * Why: with one SonicBoom write per request, SonicBoom's Buffer.byteLength of its growing pending
 * chunk (flattening it on every write) and the thread-pool wake-up of each fs.write cost more CPU
 * than the router's routing work; formatting a batch of entries in one loop is cheaper again than
 * formatting each between two requests (docs/profile.md, "Second pass"). nginx's
 * `access_log … buffer= flush=` makes the same trade: a line may appear up to DEFER_MS late,
 * never out of order, and exit paths flush synchronously.
 */
export class LineBatch implements Sink {
  private entries: unknown[] = [];
  private formats: (LineFormat<never> | null)[] = [];
  /** performance.now() of each entry (0 for pino's lines, which carry their own time). */
  private ats: number[] = [];
  private deferred = 0;
  private immediate = false;
  private timer: unknown = null;
  private readonly flushNow = (): void => this.flush();
  private readonly maxWrite: number;
  private readonly deferMs: number;
  private readonly deferLines: number;
  private readonly timers: BatchTimers;

  constructor(
    private readonly out: Sink,
    opts: { maxWrite?: number; deferMs?: number; deferLines?: number; timers?: BatchTimers } = {},
  ) {
    this.maxWrite = opts.maxWrite ?? MAX_WRITE;
    this.deferMs = opts.deferMs ?? DEFER_MS;
    this.deferLines = opts.deferLines ?? DEFER_LINES;
    this.timers = opts.timers ?? realTimers;
  }

  write(line: string): boolean {
    this.entries.push(line);
    this.formats.push(null);
    this.ats.push(0);
    if (!this.immediate) {
      this.immediate = true;
      this.timers.setImmediate(this.flushNow);
    }
    return true;
  }

  /** `at`: performance.now() when the line happened (the caller usually has it already). */
  writeDeferred<T>(format: LineFormat<T>, entry: T, at = performance.now()): void {
    this.entries.push(entry);
    this.formats.push(format);
    this.ats.push(at);
    if (++this.deferred >= this.deferLines) {
      this.flush();
    } else if (this.timer === null && !this.immediate) {
      this.timer = this.timers.setTimeout(this.flushNow, this.deferMs);
    }
  }

  /** Format what is pending and hand it to the destination (asynchronous writes). */
  flush(): void {
    this.immediate = false;
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    const { entries, formats, ats } = this;
    const n = entries.length;
    if (n === 0) return;
    this.entries = [];
    this.formats = [];
    this.ats = [];
    this.deferred = 0;
    // Wall-clock time of the entries: the monotonic clock read when each happened, shifted by the
    // offset between the clocks now (read once per batch, so clock adjustments still show up).
    const offset = Date.now() - performance.now();
    // Only a writer that shares stdout needs exact byte counts (PIPE_BUF); otherwise the string
    // length is a good enough size for cutting writes and skips a scan of every line.
    const exact = this.maxWrite <= PIPE_BUF;
    let chunk = '';
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const format = formats[i];
      let line: string;
      try {
        line = format ? format(entries[i] as never, isoTimeAt(offset + ats[i]!)) : (entries[i] as string);
      } catch {
        continue; // a formatter that throws loses its line, never the process (this runs from a timer)
      }
      const size = exact ? Buffer.byteLength(line) : line.length;
      if (bytes > 0 && bytes + size > this.maxWrite) {
        this.out.write(chunk);
        chunk = '';
        bytes = 0;
      }
      chunk += line;
      bytes += size;
    }
    this.out.write(chunk);
  }

  /** Pending lines and the destination's own buffer, written before this returns (exit paths). */
  flushSync(): void {
    this.flush();
    this.out.flushSync();
  }
}

/** What the access log needs to write a line in pino's own format into the logger's output. */
export interface LineOutput {
  /** `,"pid":123` or `,"pid":123,"worker":1`: pino's base bindings as it serialises them. */
  readonly bindings: string;
  writeDeferred<T>(format: LineFormat<T>, entry: T, at?: number): void;
}

const outputs = new WeakMap<Logger, { batch: LineBatch; output: LineOutput }>();

let lastMs = -1;
let lastTime = '';

/** pino's `,"time":"<ISO 8601>"` for epoch milliseconds `ms`, built once per distinct millisecond. */
function isoTimeAt(ms: number): string {
  const t = Math.floor(ms);
  if (t !== lastMs) {
    lastMs = t;
    lastTime = `,"time":"${new Date(t).toISOString()}"`;
  }
  return lastTime;
}

/**
 * pino's isoTime, cached per millisecond: the same `"time":"<ISO 8601>"` text, but `toISOString()`
 * runs once per millisecond instead of once per line (several lines share a millisecond under load).
 */
function isoTimeCached(): string {
  return isoTimeAt(Date.now());
}

/**
 * One root logger for the process (a per-request child() logger would cost an object and a
 * serialiser per request). Lines go through a LineBatch
 * into an asynchronous SonicBoom destination, so logging does not block the event loop;
 * `flushLogger` (and an 'exit' hook, which also covers a crash) drains both synchronously so the
 * tail is not lost. SonicBoom's own `minLength` batching was tried and not kept: it still measures
 * the pending chunk on every line, and its flush period delayed event lines too (docs/profile.md).
 */
export function createLogger(level: string, opts: { worker?: number } = {}): Logger {
  const worker = opts.worker;
  const maxWrite = worker !== undefined ? PIPE_BUF : MAX_WRITE;
  // The batch hands SonicBoom whole chunks of at most maxWrite bytes; SonicBoom's own maxWrite only
  // decides whether it appends a chunk to the one before, so it gets the same value.
  const sonic = pino.destination({ dest: 1, sync: false, minLength: 0, maxWrite });
  const batch = new LineBatch(sonic, { maxWrite });
  const base = worker !== undefined ? { pid: process.pid, worker } : { pid: process.pid };
  const logger = pino({ level, base, timestamp: isoTimeCached }, batch);
  const bindings = worker !== undefined ? `,"pid":${process.pid},"worker":${worker}` : `,"pid":${process.pid}`;
  outputs.set(logger, { batch, output: { bindings, writeDeferred: (format, entry, at) => batch.writeDeferred(format, entry, at) } });
  // pino registers SonicBoom's own exit flush when the destination is made, so it runs first; this
  // one moves the lines still in the batch into SonicBoom and flushes again.
  process.once('exit', () => flushLogger(logger));
  return logger;
}

/** The raw line output of a logger made by createLogger (null for any other pino logger). */
export function lineOutputOf(logger: Logger): LineOutput | null {
  return outputs.get(logger)?.output ?? null;
}

export function flushLogger(logger: Logger): void {
  try {
    outputs.get(logger)?.batch.flushSync();
  } catch {
    // flushing a destination that is not ready yet or already closed is harmless at exit
  }
}
