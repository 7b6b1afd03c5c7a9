// The vocabulary the schema (schema.ts) is written in, and the TypeScript types derived from it.
//
// The schema is plain data: a tree of fields whose leaves are value kinds. Everything that reads
// it is one walk over that tree — the checker (check.ts) validates and fills defaults, the
// reference renderer (reference.ts) prints the tables of config/reference.md — so another output
// (a JSON Schema, say) is one more walk, with one more case per kind.
//
// `RawConfig` (the checked, defaults-filled config before compilation) is derived from the schema
// at the type level by `InferFields`, so the parsed shape cannot drift from the schema.
import type { Listen, RetryTrigger } from './parse.js';

export type ValueType =
  | { readonly kind: 'string'; readonly minLength?: number }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'bool' }
  /** Parsed to integer milliseconds; `minMs: 1` forbids `0s`. */
  | { readonly kind: 'duration'; readonly minMs: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'listen' }
  | { readonly kind: 'url' }
  | { readonly kind: 'cidr' }
  | { readonly kind: 'country'; readonly allowEU: boolean }
  | { readonly kind: 'method' }
  | { readonly kind: 'header' }
  | { readonly kind: 'cookie' }
  | { readonly kind: 'name' }
  /** A region name; existence is checked after the whole file is read. */
  | { readonly kind: 'regionRef' }
  | { readonly kind: 'host' }
  | { readonly kind: 'pathPrefix' }
  /** An HTTP status code 100..599. */
  | { readonly kind: 'status' }
  /** `connect`, `timeout`, or a status 400..599. */
  | { readonly kind: 'retryOn' }
  /** `auto` (one per available core) or an integer 1..max. */
  | { readonly kind: 'workers'; readonly max: number }
  /** `majority` or an integer >= 1. */
  | { readonly kind: 'quorum' }
  | { readonly kind: 'list'; readonly of: ValueType; readonly minItems?: number; readonly unique?: boolean }
  | { readonly kind: 'object'; readonly fields: Fields };

/** A value kind that is a single YAML scalar (everything but lists and maps). */
export type ScalarType = Exclude<ValueType, { readonly kind: 'list' | 'object' }>;

/** A map of checked values, as a derived default sees its parent and the root. */
type CheckedObject = Readonly<Record<string, unknown>>;

export interface Field {
  readonly type: ValueType;
  /** One-line meaning. */
  readonly doc: string;
  /** Missing key is an error. */
  readonly required?: boolean;
  /** YAML-form default, parsed like user input. Absent (and not required) → null, or `derive`. */
  readonly default?: unknown;
  /** `null`, `~`, an empty value or "" switch the feature off (the compiled value is null). */
  readonly nullable?: boolean;
  /** How the reference shows the default when the literal value is not the clearest way. */
  readonly defaultText?: string;
  /**
   * Default computed from other values once the whole file is checked: a checked value, `null`
   * for "none", or `undefined` when the values it needs are invalid (their error is already reported).
   */
  readonly derive?: (parent: CheckedObject, root: CheckedObject) => unknown;
  readonly unit?: string;
  /** Interactions with other keys. */
  readonly see?: string;
}

export type Fields = Readonly<Record<string, Field>>;

// ---- builders that keep literal types, so `InferFields` sees enum values and nested fields

export const dur = (minMs: number) => ({ kind: 'duration', minMs }) as const;

export const int = (min?: number, max?: number) =>
  ({ kind: 'int', ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }) as const;

export const list = <const T extends ValueType>(of: T, opts: { readonly minItems?: number; readonly unique?: boolean } = {}) =>
  ({ kind: 'list', of, ...opts }) as const;

export const obj = <const F extends Fields>(fields: F) => ({ kind: 'object', fields }) as const;

// ---- the parsed shape, derived from a schema

/** What a checked value of each single-scalar kind is (enums are narrowed to their values below). */
export interface ScalarValues {
  string: string;
  int: number;
  number: number;
  bool: boolean;
  duration: number;
  enum: string;
  listen: Listen;
  url: string;
  cidr: string;
  country: string;
  method: string;
  header: string;
  cookie: string;
  name: string;
  regionRef: string;
  host: string;
  pathPrefix: string;
  status: number;
  retryOn: RetryTrigger;
  workers: number | 'auto';
  quorum: number | 'majority';
}

type ValueOf<T extends ValueType> = T extends { readonly kind: 'enum'; readonly values: readonly (infer V)[] }
  ? V
  : T extends { readonly kind: 'list'; readonly of: infer O extends ValueType }
    ? readonly ValueOf<O>[]
    : T extends { readonly kind: 'object'; readonly fields: infer F extends Fields }
      ? InferFields<F>
      : T extends { readonly kind: infer K extends keyof ScalarValues }
        ? ScalarValues[K]
        : never;

/** A field's checked value: null where the key may be switched off, stay unset, or derive to none. */
type FieldValue<F extends Field> = F extends { readonly nullable: true }
  ? ValueOf<F['type']> | null
  : F extends { readonly required: true } | { readonly default: unknown }
    ? ValueOf<F['type']>
    : F extends { readonly derive: (...args: never[]) => infer R }
      ? ValueOf<F['type']> | (null extends R ? null : never)
      : ValueOf<F['type']> | null;

export type InferFields<F extends Fields> = { readonly [K in keyof F]: FieldValue<F[K]> };
