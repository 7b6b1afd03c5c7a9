// An in-memory copy of every key under the fleet prefix: one range read, then a watch from the next
// revision ("list, then watch"). After any loss of contact the member calls resync(), which reads
// everything again and restarts the watch, so a member that missed events (or whose watch history
// was compacted away) is whole again after one read.
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { deadline, num, prefixEnd } from './etcd-client.js';
import type { EntrySource, StoredEntry } from './fleet-state.js';

export interface MirrorListener {
  /** Keys (relative to the prefix) changed; `revision` is what the copy is now current as of. */
  changed(keys: readonly string[], revision: number, full: boolean): void;
  /** The watch failed for good (e.g. its start revision was compacted): a resync is needed. */
  broken(err: Error): void;
}

export class PrefixMirror implements EntrySource {
  private entries = new Map<string, StoredEntry>();
  /** Revision of the last full read: events at or below it are already in the copy. */
  private baseRev = 0;
  /** Revision the copy is current as of. */
  private rev = 0;
  private watcher: Watcher | null = null;
  private generation = 0;
  private closed = false;
  private readonly prefix: Buffer;

  constructor(
    private readonly client: Etcd3,
    prefix: string,
    private readonly listener: MirrorListener,
  ) {
    this.prefix = Buffer.from(prefix);
  }

  get revision(): number {
    return this.rev;
  }

  get(key: string): StoredEntry | undefined {
    return this.entries.get(key);
  }

  /** Entries whose relative key starts with `sub`, with the remainder of the key. */
  *under(sub: string): IterableIterator<[string, StoredEntry]> {
    for (const [k, v] of this.entries) if (k.startsWith(sub)) yield [k.slice(sub.length), v];
  }

  /** Read everything now and watch from there. Rejects when etcd cannot answer within `timeoutMs`. */
  async resync(timeoutMs: number): Promise<number> {
    const gen = ++this.generation;
    const res = await this.client.kv.range({ key: this.prefix, range_end: prefixEnd(this.prefix) }, deadline(timeoutMs));
    if (gen !== this.generation || this.closed) return this.rev;
    const next = new Map<string, StoredEntry>();
    for (const kv of res.kvs) next.set(this.rel(kv.key), entry(kv));
    const changed = new Set<string>([...this.entries.keys(), ...next.keys()]);
    this.entries = next;
    this.rev = this.baseRev = num(res.header.revision);
    this.restartWatch(gen, this.rev + 1);
    this.listener.changed([...changed], this.rev, true);
    return this.rev;
  }

  /** Stop watching; resolves once etcd confirmed the cancel (or after `ms`). */
  async close(ms: number): Promise<void> {
    this.closed = true;
    this.generation++;
    const w = this.watcher;
    this.watcher = null;
    // Closing the client while the cancel request is still being written leaves an HTTP/2 write
    // pending forever, and Node then spins at exit (nodejs/node issue #47748): wait for it.
    if (w) await Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
  }

  private restartWatch(gen: number, from: number): void {
    this.stopWatch();
    const w = this.client.watch().prefix(this.prefix).startRevision(String(from)).watcher();
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => {
      if (gen === this.generation) this.apply(res);
    });
    // The library reconnects a dropped watch by itself and resumes from the last revision it saw;
    // 'error' means it gave up (cancelled by etcd, e.g. compaction), and only a full read repairs that.
    w.on('error', (err: Error) => {
      if (gen === this.generation) this.listener.broken(err);
    });
  }

  private stopWatch(): void {
    const w = this.watcher;
    this.watcher = null;
    if (w) void w.cancel().catch(() => undefined);
  }

  private apply(res: IWatchResponse): void {
    const changed: string[] = [];
    for (const ev of res.events) {
      const rev = num(ev.kv.mod_revision);
      if (rev <= this.baseRev) continue; // already part of the last full read
      const key = this.rel(ev.kv.key);
      if (ev.type === 'Delete') this.entries.delete(key);
      else this.entries.set(key, entry(ev.kv));
      changed.push(key);
      // not the response header's revision: a watch catching up reports the store's current revision
      // there while older events are still to come
      if (rev > this.rev) this.rev = rev;
    }
    if (changed.length > 0) this.listener.changed(changed, this.rev, false);
  }

  private rel(key: Buffer): string {
    return key.subarray(this.prefix.length).toString('utf8');
  }
}

function entry(kv: IKeyValue): StoredEntry {
  return { value: kv.value, modRevision: num(kv.mod_revision), createRevision: num(kv.create_revision), lease: kv.lease };
}
