// Stage 1 of loading: YAML text → positioned values. The YAML library's tree is translated into a
// small one of our own (maps, lists, scalars, aliases), each node knowing the character offset it
// came from, and every string scalar carries its `${VAR}` substitution already worked out.
// A failed substitution is not reported here: only a scalar the schema actually reads is
// reported (the checker does that), so a value under a misspelt key yields one error, not two.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
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

export function readYaml(text: string, env: NodeJS.ProcessEnv): Source {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: false, uniqueKeys: true });
  const problems = doc.errors.map((e) => ({
    offset: e.pos[0],
    message: e.message.split('\n')[0] ?? e.message,
    // A duplicate key is a semantic error; the rest of the tree is still sound, so keep checking.
    fatal: e.code !== 'DUPLICATE_KEY',
  }));
  const root = new Translator(doc, env).node(doc.contents, 0);
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

class Translator {
  /** Each YAML node becomes one source node, so an alias shares its target (and its reported errors). */
  private readonly done = new Map<object, SourceNode>();

  constructor(
    private readonly doc: Document,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  node(n: unknown, fallback: number): SourceNode | null {
    if (n === null || typeof n !== 'object') return null;
    const seen = this.done.get(n);
    if (seen) return seen;
    const at = offsetOf(n, fallback);
    if (isMap(n)) {
      const entries: SourceEntry[] = [];
      const out: SourceMap = { kind: 'map', at, entries };
      this.done.set(n, out);
      for (const pair of n.items) {
        const keyNode = pair.key;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const keyAt = offsetOf(keyNode, at);
        entries.push({ key, keyAt, value: this.node(pair.value, keyAt) });
      }
      return out;
    }
    if (isSeq(n)) {
      const items: (SourceNode | null)[] = [];
      const out: SourceList = { kind: 'list', at, items };
      this.done.set(n, out);
      for (const item of n.items) items.push(this.node(item, at));
      return out;
    }
    if (isAlias(n)) {
      const out: { kind: 'alias'; at: number; target: SourceNode | null } = { kind: 'alias', at, target: null };
      this.done.set(n, out);
      out.target = this.node(n.resolve(this.doc), at);
      return out;
    }
    const raw: unknown = isScalar(n) ? n.value : null;
    const out = scalarNode(raw, at, this.env);
    this.done.set(n, out);
    return out;
  }
}

function scalarNode(raw: unknown, at: number, env: NodeJS.ProcessEnv): SourceScalar {
  if (typeof raw !== 'string' || !raw.includes('$')) return { kind: 'scalar', at, raw, value: raw, fromEnv: false, substError: null };
  const r = substitute(raw, env);
  if (!r.ok) return { kind: 'scalar', at, raw, value: undefined, fromEnv: false, substError: r.message };
  return { kind: 'scalar', at, raw, value: r.value, fromEnv: r.value !== raw, substError: null };
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
