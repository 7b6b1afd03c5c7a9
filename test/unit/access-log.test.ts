import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { AccessLog, formatLine, ms, toObject, type RequestRecord } from '../../src/observability/access-log.js';
import { LineBatch, type BatchTimers } from '../../src/observability/logger.js';

const TIME = ',"time":"2026-12-02T15:10:00.123Z"';

/** What pino itself writes for `info(toObject(r), 'request')` with the given base bindings. */
function pinoLine(r: RequestRecord, base: Record<string, unknown>): string {
  const out: string[] = [];
  const logger = pino({ level: 'info', base, timestamp: () => TIME }, { write: (s: string) => void out.push(s) });
  logger.info(toObject(r), 'request');
  assert.equal(out.length, 1);
  return out[0]!;
}

const plain: RequestRecord = {
  method: 'GET',
  path: '/api/items',
  status: 200,
  route: 'api',
  region: 'eu-west',
  reason: 'nearest',
  attempts: 1,
  upstreamMs: 0.35,
  totalMs: 0.52,
  clientCountry: 'DE',
  clientIp: '5.9.0.1',
  error: null,
  aborted: false,
};

const cases: Array<[string, RequestRecord]> = [
  ['a plain request', plain],
  ['quotes, backslashes and control characters in the path', { ...plain, path: '/a"b\\c\td\u0001e\u007f' }],
  ['latin-1 and non-BMP text in the path', { ...plain, path: '/caf\u00e9/\u00ff/\u{1f600}' }],
  ['a long path (pino switches to JSON.stringify above 100 characters)', { ...plain, path: `/${'x"'.repeat(80)}` }],
  ['no location and no client IP', { ...plain, clientCountry: null, clientIp: null, reason: 'unknown-location' }],
  [
    'an error answer from an aborted client',
    { ...plain, status: 499, error: 'upstream_timeout', aborted: true, region: 'none', route: 'none', attempts: 2 },
  ],
  ['non-finite numbers become null', { ...plain, upstreamMs: Number.NaN, totalMs: Number.POSITIVE_INFINITY }],
  ['an IPv6 client', { ...plain, clientIp: '2001:db8::1', status: 503 }],
];

for (const [name, r] of cases) {
  test(`access line is byte-identical to pino's: ${name}`, () => {
    assert.equal(formatLine(r, TIME, ',"pid":1234'), pinoLine(r, { pid: 1234 }));
    assert.equal(formatLine(r, TIME, ',"pid":1234,"worker":2'), pinoLine(r, { pid: 1234, worker: 2 }));
    assert.deepEqual(JSON.parse(formatLine(r, TIME, ',"pid":1')).path, r.path, 'the path survives a JSON round trip');
  });
}

test('a logger not made by createLogger gets the same fields through logger.info; warn level writes nothing', () => {
  const out: string[] = [];
  const logger = pino({ level: 'info', base: { pid: 7 }, timestamp: () => TIME }, { write: (s: string) => void out.push(s) });
  new AccessLog(logger).write(plain);
  assert.deepEqual(out, [formatLine(plain, TIME, ',"pid":7')]);
  logger.level = 'warn';
  new AccessLog(logger).write(plain);
  assert.equal(out.length, 1);
});

/** Timers driven by hand: nothing runs until the test says so. */
class ManualTimers implements BatchTimers {
  immediates: Array<() => void> = [];
  timeouts = new Map<number, { fn: () => void; ms: number }>();
  private next = 1;
  setImmediate(fn: () => void): void {
    this.immediates.push(fn);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timeouts.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timeouts.delete(handle as number);
  }
  runImmediates(): void {
    const list = this.immediates;
    this.immediates = [];
    for (const fn of list) fn();
  }
  fireTimeouts(): void {
    const list = [...this.timeouts.values()];
    this.timeouts.clear();
    for (const t of list) t.fn();
  }
}

class Sink {
  writes: string[] = [];
  syncFlushes = 0;
  write(s: string): void {
    this.writes.push(s);
  }
  flushSync(): void {
    this.syncFlushes++;
  }
  get text(): string {
    return this.writes.join('');
  }
}

const fmt = (entry: { n: number }, time: string): string => `{"n":${entry.n}${time}}\n`;

test('deferred lines wait for the timer, are formatted with the time they were written, and go out as one write', () => {
  const sink = new Sink();
  const timers = new ManualTimers();
  const batch = new LineBatch(sink, { maxWrite: 4096, deferMs: 50, deferLines: 100, timers });
  batch.writeDeferred(fmt, { n: 1 });
  batch.writeDeferred(fmt, { n: 2 });
  assert.deepEqual(sink.writes, [], 'nothing written yet');
  assert.equal(timers.timeouts.size, 1, 'one timer for the batch');
  assert.equal([...timers.timeouts.values()][0]!.ms, 50);
  timers.fireTimeouts();
  assert.equal(sink.writes.length, 1);
  const lines = sink.text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { n: number; time: string });
  assert.deepEqual(
    lines.map((l) => l.n),
    [1, 2],
  );
  assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l.time)));
});

test('a pino line takes every pending deferred line with it, in order, on the next check phase', () => {
  const sink = new Sink();
  const timers = new ManualTimers();
  const batch = new LineBatch(sink, { maxWrite: 4096, deferLines: 100, timers });
  batch.writeDeferred(fmt, { n: 1 });
  batch.write('{"event":"down"}\n');
  batch.writeDeferred(fmt, { n: 2 });
  assert.deepEqual(sink.writes, []);
  timers.runImmediates();
  assert.deepEqual(
    sink.text
      .trimEnd()
      .split('\n')
      .map((l) => Object.keys(JSON.parse(l) as object)[0]),
    ['n', 'event', 'n'],
  );
  assert.equal(timers.timeouts.size, 0, 'the deferral timer was cleared by the flush');
});

test('the line count threshold flushes at once; writes are cut at line boundaries under maxWrite', () => {
  const sink = new Sink();
  const timers = new ManualTimers();
  const line = (n: number): string => `{"n":${n},"pad":"${'p'.repeat(80)}"}\n`; // ~100 bytes
  const batch = new LineBatch(sink, { maxWrite: 450, deferLines: 10, timers });
  for (let i = 0; i < 9; i++) batch.writeDeferred((e: number) => line(e), i);
  assert.equal(sink.writes.length, 0);
  batch.writeDeferred((e: number) => line(e), 9);
  assert.ok(sink.writes.length >= 3, `cut into several writes (${sink.writes.length})`);
  for (const w of sink.writes) {
    assert.ok(Buffer.byteLength(w) <= 450, `a write of ${Buffer.byteLength(w)} bytes`);
    assert.ok(w.endsWith('\n'), 'every write ends at a line boundary');
  }
  assert.equal(sink.text, Array.from({ length: 10 }, (_, i) => line(i)).join(''));
  assert.equal(timers.timeouts.size, 0);
});

test('flushSync writes what is pending and flushes the destination (exit paths)', () => {
  const sink = new Sink();
  const timers = new ManualTimers();
  const batch = new LineBatch(sink, { timers });
  batch.writeDeferred(fmt, { n: 1 });
  batch.write('{"event":"stopped"}\n');
  batch.flushSync();
  assert.equal(sink.text.trimEnd().split('\n').length, 2);
  assert.equal(sink.syncFlushes, 1);
  timers.runImmediates();
  timers.fireTimeouts();
  assert.equal(sink.writes.length, 1, 'nothing is written twice');
});

test('durations in hundredths are written exactly as String() writes them', () => {
  for (let h = -20_000; h <= 200_000; h++) {
    const n = h / 100;
    if (ms(n) !== String(n)) assert.fail(`${n}: ${ms(n)} vs ${String(n)}`);
  }
  for (const n of [0, -0, 0.1 + 0.2, 1 / 3, 123456789.12, 1e15 / 100, 1e21, Number.NaN, Number.POSITIVE_INFINITY, 5e-7]) {
    assert.equal(ms(n), Number.isFinite(n) ? String(n) : 'null', String(n));
  }
  for (let i = 0; i < 10_000; i++) {
    const n = Math.round(Math.random() * 1e7) / 100;
    assert.equal(ms(n), String(n));
  }
});

test("a deferred line's time is when it happened (the caller's monotonic timestamp), not when its batch was written", () => {
  const sink = new Sink();
  const timers = new ManualTimers();
  const batch = new LineBatch(sink, { timers });
  const wall = Date.now();
  batch.writeDeferred(fmt, { n: 1 }, performance.now() - 5_000);
  batch.flush();
  const t = Date.parse((JSON.parse(sink.text) as { time: string }).time);
  assert.ok(Math.abs(t - (wall - 5_000)) < 1_000, `${new Date(t).toISOString()} is about 5 s before ${new Date(wall).toISOString()}`);
});

test('a formatter that throws loses its own line only', () => {
  const sink = new Sink();
  const batch = new LineBatch(sink, { timers: new ManualTimers() });
  batch.writeDeferred(fmt, { n: 1 });
  batch.writeDeferred((): string => {
    throw new Error('bad entry');
  }, null);
  batch.writeDeferred(fmt, { n: 3 });
  assert.doesNotThrow(() => batch.flush());
  assert.deepEqual(
    sink.text
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { n: number }).n),
    [1, 3],
  );
});
