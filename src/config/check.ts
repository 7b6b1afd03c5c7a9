// Stage 2 of loading: positioned values → checked values. Walks the schema over the source tree:
// kinds and ranges, defaults, required and unknown keys (with "did you mean"), duplicate list
// entries, then the defaults derived from other keys. Every problem is reported and the walk goes
// on; a value that failed is left as INVALID so later stages can skip what is already reported.
import { joinPath, suggest, type Report } from './diagnostics.js';
import { checkScalar, describeType } from './kinds.js';
import { describeValue } from './parse.js';
import { schema, type RawConfig } from './schema.js';
import type { Field, Fields, ValueType } from './schema-types.js';
import { fromPlain, type SourceNode, type SourceScalar } from './yaml-source.js';

/** Marks a value that failed its check (its error has been reported). */
export const INVALID: unique symbol = Symbol('invalid');
type Invalid = typeof INVALID;

/** A checked value as the walk leaves it: any part may be INVALID. */
export type Unchecked<T> = T extends readonly (infer E)[]
  ? readonly Unchecked<E>[] | Invalid
  : T extends object
    ? { readonly [K in keyof T]: Unchecked<T[K]> } | Invalid
    : T | Invalid;

export const isValid = <T>(v: T | Invalid | null | undefined): v is T => v !== INVALID && v !== null && v !== undefined;

export interface Checked {
  readonly config: Unchecked<RawConfig>;
  /** Offset each key path came from (its parent's for a default), for errors found later. */
  readonly positions: ReadonlyMap<string, number>;
}

/** null when the document is not a map at all (reported); nothing else is worth checking then. */
export function checkConfig(root: SourceNode | null, report: Report): Checked | null {
  if (root !== null && root.kind !== 'map' && !isEmpty(root)) {
    report(root.at, '', `the config must be a map of keys (such as "regions:"), got ${kindOf(root)}`);
    return null;
  }
  const walk = new Walk(report);
  const config = walk.object(root, schema, '', 0);
  walk.runDerives(config);
  // The walk builds values shaped by the schema, which is exactly what `RawConfig` is derived from.
  return { config: config as Unchecked<RawConfig>, positions: walk.positions };
}

type Out = Record<string, unknown>;

class Walk {
  readonly positions = new Map<string, number>();
  private readonly derives: Array<{ parent: Out; key: string; derive: NonNullable<Field['derive']> }> = [];
  /** Scalars whose failed substitution is reported already (an alias may read one twice). */
  private readonly substReported = new Set<SourceScalar>();

  constructor(private readonly report: Report) {}

  object(node: SourceNode | null, fields: Fields, path: string, fallback: number): Out | Invalid {
    const out: Out = {};
    const at = node?.at ?? fallback;
    const given = new Map<string, SourceNode | null>();
    if (node?.kind === 'map') {
      for (const { key, keyAt, value } of node.entries) {
        if (!Object.prototype.hasOwnProperty.call(fields, key)) {
          this.report(keyAt, joinPath(path, key), `unknown key \`${key}\`${suggest(key, Object.keys(fields))}`);
          continue;
        }
        given.set(key, value);
        this.positions.set(joinPath(path, key), value?.at ?? keyAt);
      }
    } else if (!isEmpty(node)) {
      this.report(at, path, `expected a map, got ${kindOf(node)}`);
      return INVALID;
    }
    for (const [key, field] of Object.entries(fields)) {
      const p = joinPath(path, key);
      if (given.has(key)) {
        out[key] = this.field(given.get(key) ?? null, field, p, at);
        continue;
      }
      this.positions.set(p, at);
      if (field.required) {
        this.report(at, p, `missing required key \`${key}\``);
        out[key] = INVALID;
      } else if (field.default !== undefined) {
        out[key] = this.value(fromPlain(field.default, at), field.type, p, at);
      } else {
        out[key] = null;
        if (field.derive) this.derives.push({ parent: out, key, derive: field.derive });
      }
    }
    return out;
  }

  private field(node: SourceNode | null, field: Field, path: string, fallback: number): unknown {
    if (field.nullable && (isEmpty(node) || (node?.kind === 'scalar' && this.scalar(node, path) === ''))) return null;
    return this.value(node, field.type, path, fallback);
  }

  private value(node: SourceNode | null, type: ValueType, path: string, fallback: number): unknown {
    // An alias is checked as the node it names, and errors about its value point there.
    if (node?.kind === 'alias') node = node.target;
    const at = node?.at ?? fallback;
    if (type.kind === 'object') return this.object(node, type.fields, path, fallback);
    if (type.kind === 'list') return this.list(node, type, path, at);
    if (node?.kind !== 'scalar') {
      this.report(at, path, `expected ${describeType(type)}, got ${kindOf(node)}`);
      return INVALID;
    }
    const v = this.scalar(node, path);
    if (v === undefined) return INVALID; // substitution error already reported
    const r = checkScalar(v, type, node.fromEnv);
    if (!r.ok) {
      this.report(at, path, r.message);
      return INVALID;
    }
    return r.value;
  }

  private list(node: SourceNode | null, type: Extract<ValueType, { kind: 'list' }>, path: string, at: number): unknown[] | Invalid {
    if (!isEmpty(node) && node?.kind !== 'list') {
      this.report(at, path, `expected a list (such as [a, b]), got ${kindOf(node)}`);
      return INVALID;
    }
    const items = node?.kind === 'list' ? node.items : [];
    const out: unknown[] = [];
    const firstIndex = new Map<string, number>();
    items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const itemAt = item?.at ?? at;
      this.positions.set(p, itemAt);
      const v = this.value(item, type.of, p, at);
      out.push(v);
      if (type.unique && v !== INVALID && (typeof v === 'string' || typeof v === 'number')) {
        const k = String(v);
        const first = firstIndex.get(k);
        if (first !== undefined) this.report(itemAt, p, `duplicate entry ${describeValue(v)} (also at ${path}[${first}])`);
        else firstIndex.set(k, i);
      }
    });
    if (type.minItems !== undefined && items.length < type.minItems) {
      this.report(at, path, type.minItems === 1 ? 'must list at least one entry' : `must list at least ${type.minItems} entries`);
      return INVALID;
    }
    return out;
  }

  /** The scalar's value after substitution; undefined (reported once) when substitution failed. */
  private scalar(node: SourceScalar, path: string): unknown {
    if (node.substError === null) return node.value;
    if (!this.substReported.has(node)) {
      this.substReported.add(node);
      this.report(node.at, path, node.substError);
    }
    return undefined;
  }

  runDerives(root: Out | Invalid): void {
    if (root === INVALID) return;
    for (const d of this.derives) {
      // Derived defaults are computed from checked values, so they are checked values too.
      const v = d.derive(d.parent, root);
      d.parent[d.key] = v === undefined ? INVALID : v;
    }
  }
}

function isEmpty(node: SourceNode | null): boolean {
  return node === null || (node.kind === 'scalar' && node.raw === null);
}

function kindOf(node: SourceNode | null): string {
  if (node?.kind === 'map') return 'a map';
  if (node?.kind === 'list') return 'a list';
  if (node?.kind === 'scalar') return describeValue(node.raw);
  return 'an empty value';
}
