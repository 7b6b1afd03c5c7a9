// Stage 1 of loading: YAML text → positioned values. The YAML library's tree is translated into a
// small one of our own (maps, lists, scalars, aliases), each node knowing the character offset it
// came from, and every string scalar carries its `${VAR}` substitution already worked out.
// A failed substitution is not reported here: only a scalar the schema actually reads is
// reported (the checker does that), so a value under a misspelt key yields one error, not two.
// Every string that leaves this stage is stored one byte per character when it can be (oneByte).
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Parsed } from './parse.js';

export type SourceNode = SourceMap | SourceList | SourceScalar | SourceAlias;

interface SourceMap {
  readonly kind: 'map';
  readonly at: number;
  readonly entries: SourceEntry[];
}

interface SourceEntry {
  readonly key: string;
  readonly keyAt: number;
  /** null for a key without a value (`key:`). */
  readonly value: SourceNode | null;
}

interface SourceList {
  readonly kind: 'list';
  readonly at: number;
  readonly items: (SourceNode | null)[];
}

export interface SourceScalar {
  readonly kind: 'scalar';
  readonly at: number;
  /** The value as written (what messages about the wrong kind of node show). */
  readonly raw: unknown;
  /** After `${VAR}` substitution; equal to `raw` for anything but a string with a `$`. */
  readonly value: unknown;
  /** Substitution changed the text: a number or bool the schema asks for may then come as a string. */
  readonly fromEnv: boolean;
  /** Why substitution failed, or null. */
  readonly substError: string | null;
}

/** An alias (`*name`): checked as the node it names, so errors about its value point there. */
interface SourceAlias {
  readonly kind: 'alias';
  readonly at: number;
  readonly target: SourceNode | null;
}

export interface Source {
  /** The document's top node; null for an empty file. */
  readonly root: SourceNode | null;
  /** YAML problems, at a character offset; `fatal` ones leave a tree not worth checking. */
  readonly problems: readonly { readonly offset: number; readonly message: string; readonly fatal: boolean }[];
  /** 1-based line and column of a character offset. */
  locate(offset: number): { line: number; col: number };
}

/**
 * How many nodes all aliases together may add to the tree once expanded. Real configs use aliases
 * to share a few lists; a "billion laughs" file (each anchor listing the previous one ten times)
 * reaches this within a few lines and is refused instead of being walked.
 */
export const MAX_ALIAS_EXPANSION = 100_000;

type Problem = Source['problems'][number];

export function readYaml(text: string, env: NodeJS.ProcessEnv): Source {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: false, uniqueKeys: true });
  const problems: Problem[] = doc.errors.map((e) => ({
    offset: e.pos[0],
    message: e.message.split('\n')[0] ?? e.message,
    // A duplicate key is a semantic error; the rest of the tree is still sound, so keep checking.
    fatal: e.code !== 'DUPLICATE_KEY',
  }));
  const root = new Translator(env, problems).node(doc.contents, 0);
  return { root, problems, locate: (offset) => lineCounter.linePos(offset) };
}

/** A plain JavaScript value (a schema default) as source nodes, every one placed at `at`. */
export function fromPlain(value: unknown, at: number): SourceNode {
  if (Array.isArray(value)) return { kind: 'list', at, items: value.map((v) => fromPlain(v, at)) };
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, v]) => ({ key, keyAt: at, value: fromPlain(v, at) }));
    return { kind: 'map', at, entries };
  }
  return { kind: 'scalar', at, raw: value, value, fromEnv: false, substError: null };
}

/**
 * Translates the YAML tree in document order. Anchors are remembered as they are passed, so an
 * alias is resolved with one lookup (the library's `resolve` searches the whole document on each
 * call, which made a file with thousands of aliases take minutes), and it names a finished node,
 * so the translated tree has no cycles. `size` is each node's size with aliases expanded, which is
 * what the checker would walk; aliases may add at most MAX_ALIAS_EXPANSION nodes in all.
 */
class Translator {
  private readonly anchors = new Map<string, SourceNode>();
  private readonly size = new WeakMap<SourceNode, number>();
  private expanded = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly problems: Problem[],
  ) {}

  node(n: unknown, fallback: number): SourceNode | null {
    if (n === null || typeof n !== 'object') return null;
    const at = offsetOf(n, fallback);
    const out = this.translate(n, at);
    const anchor = (n as { anchor?: unknown }).anchor;
    if (typeof anchor === 'string' && anchor !== '') this.anchors.set(anchor, out);
    return out;
  }

  private translate(n: object, at: number): SourceNode {
    if (isMap(n)) {
      const entries: SourceEntry[] = [];
      let size = 1;
      for (const pair of n.items) {
        const keyNode = pair.key;
        const key = oneByte(isScalar(keyNode) ? String(keyNode.value) : String(keyNode));
        const keyAt = offsetOf(keyNode, at);
        const value = this.node(pair.value, keyAt);
        size += this.sizeOf(value);
        entries.push({ key, keyAt, value });
      }
      return this.sized({ kind: 'map', at, entries }, size);
    }
    if (isSeq(n)) {
      const items: (SourceNode | null)[] = [];
      let size = 1;
      for (const item of n.items) {
        const node = this.node(item, at);
        size += this.sizeOf(node);
        items.push(node);
      }
      return this.sized({ kind: 'list', at, items }, size);
    }
    if (isAlias(n)) return this.alias(n.source, at);
    const raw: unknown = isScalar(n) ? n.value : null;
    return this.sized(scalarNode(raw, at, this.env), 1);
  }

  private alias(name: string, at: number): SourceAlias {
    const target = this.anchors.get(name) ?? null;
    if (target === null) {
      this.problems.push({ offset: at, message: `alias *${name} names no anchor &${name} before it`, fatal: false });
      return this.sized({ kind: 'alias', at, target: null }, 1);
    }
    const size = this.sizeOf(target);
    if (this.expanded <= MAX_ALIAS_EXPANSION) {
      this.expanded += size;
      if (this.expanded > MAX_ALIAS_EXPANSION) {
        this.problems.push({
          offset: at,
          message: `YAML aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (at *${name}); a config never needs that many`,
          fatal: true,
        });
      }
    }
    // Capped so that sizes stay finite numbers however deep the nesting goes.
    return this.sized({ kind: 'alias', at, target }, Math.min(size, MAX_ALIAS_EXPANSION + 1));
  }

  private sized<T extends SourceNode>(node: T, size: number): T {
    this.size.set(node, Math.min(size, MAX_ALIAS_EXPANSION + 1));
    return node;
  }

  private sizeOf(node: SourceNode | null): number {
    return node === null ? 0 : (this.size.get(node) ?? 1);
  }
}

function scalarNode(written: unknown, at: number, env: NodeJS.ProcessEnv): SourceScalar {
  const raw = typeof written === 'string' ? oneByte(written) : written;
  if (typeof raw !== 'string' || !raw.includes('$')) return { kind: 'scalar', at, raw, value: raw, fromEnv: false, substError: null };
  const r = substitute(raw, env);
  if (!r.ok) return { kind: 'scalar', at, raw, value: undefined, fromEnv: false, substError: r.message };
  const value = oneByte(r.value);
  return { kind: 'scalar', at, raw, value, fromEnv: value !== raw, substError: null };
}

const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/**
 * The same text, stored one byte per character whenever every character fits (all Latin-1).
 * V8 stores a string two bytes per character if any of its characters is beyond Latin-1, and a
 * string cut out of it (what the YAML parser returns for every key and scalar) keeps that storage
 * even when it is plain ASCII (Node 20: every one; Node 24: those of 13 characters or more). So one
 * `—` or `→` in a comment of the config file made its region and route names, URLs and header
 * values two-byte, and the request path paid on every request wherever those strings are joined or
 * written out: headers, metric labels, log lines. Small but for nothing: in callgrind, about 2,700
 * of a proxied write's 400,000 instructions (0.7 %) went to widening and narrowing such strings
 * (the fleet benchmark's config had a `—` in a comment).
 */
export function oneByte(s: string): string {
  return BEYOND_LATIN1.test(s) ? s : Buffer.from(s, 'latin1').toString('latin1');
}

function offsetOf(node: unknown, fallback: number): number {
  if (node === null || typeof node !== 'object') return fallback;
  const r = (node as { range?: [number, number, number] | null }).range;
  return r ? r[0] : fallback;
}

/**
 * `${VAR}`, `${VAR:-default}` (default may be empty), `$$` for a literal `$`.
 * @internal exported for its unit tests; the loader reaches it through `readYaml`.
 */
export function substitute(text: string, env: NodeJS.ProcessEnv): Parsed<string> {
  const missing: string[] = [];
  const malformed: string[] = [];
  const value = text.replace(/\$\$|\$\{([^}]*)\}|\$\{/g, (m: string, inner: string | undefined) => {
    if (m === '$$') return '$';
    if (inner === undefined) {
      malformed.push(m);
      return m;
    }
    const parts = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/.exec(inner);
    if (!parts) {
      malformed.push(m);
      return m;
    }
    const name = parts[1] ?? '';
    const fallback = parts[2];
    const v = env[name];
    if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
    if (v === undefined) {
      missing.push(name);
      return m;
    }
    return v;
  });
  if (malformed.length > 0) {
    return { ok: false, message: `malformed variable reference "${malformed[0]}" (use \${NAME} or \${NAME:-default}; $$ for a literal $)` };
  }
  if (missing.length > 0) {
    const list = missing.map((n) => `\`${n}\``).join(', ');
    return {
      ok: false,
      message: `environment variable ${list} is not set (use \${${missing[0]}:-default} to make it optional)`,
    };
  }
  return { ok: true, value };
}
