// The config's JSON Schema (draft-07, what editors' YAML plugins understand), rendered from the same
// schema tree the loader walks, so it cannot drift from it: `meridian schema` prints it and
// config/meridian.schema.json is the committed copy (a test fails when it is stale).
//
// It describes the file as written, not the compiled config: durations are strings such as "2s",
// any scalar may instead be a `${VAR}` reference (substituted before checking), an empty value means
// "defaults" for a map and "none" for a list, and unknown keys are refused at every level. Checks
// that need more than one key (region references, uniqueness across lists, mode vs reads/writes)
// or a computation (the 24 h duration cap, IP prefix rules) stay with `meridian validate`; the
// schema never accepts less than it: whatever it refuses, the loader refuses too.
import { schema } from './schema.js';
import type { Field, Fields, ScalarType, ValueType } from './schema-types.js';

type JsonSchema = Readonly<Record<string, unknown>>;

/** Any scalar may come from the environment: `port: ${PORT}`. */
const ENV_REFERENCE: JsonSchema = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}' };

/** RFC 9110 token: methods, header names, cookie names. */
const TOKEN = "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$";

const NAME: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 64 };

const SCALARS: { readonly [K in ScalarType['kind']]: (t: Extract<ScalarType, { kind: K }>) => JsonSchema } = {
  string: (t) => ({ type: 'string', ...(t.minLength !== undefined ? { minLength: t.minLength } : {}) }),
  int: (t) => ({ type: 'integer', ...range(t.min, t.max) }),
  number: (t) => ({ type: 'number', ...range(t.min, t.max) }),
  bool: () => ({ type: 'boolean' }),
  duration: () => ({ type: 'string', pattern: '^\\s*(\\d+(\\.\\d+)?(ms|s|m|h))+\\s*$' }),
  enum: (t) => ({ enum: [...t.values] }),
  listen: () => ({ type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]*):\\d{1,5}$' }),
  url: () => ({ type: 'string', pattern: '^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^\\s?#]+\\s*$' }),
  cidr: () => ({ type: 'string', pattern: '^\\s*[0-9A-Fa-f:.]+(/\\d{1,3})?\\s*$' }),
  country: (t) => ({
    type: 'string',
    pattern: '^[A-Za-z]{2}$',
    ...(t.allowEU ? {} : { not: { pattern: '^[Ee][Uu]$' } }),
  }),
  method: () => ({ type: 'string', pattern: TOKEN }),
  header: () => ({ type: 'string', pattern: TOKEN }),
  cookie: () => ({ type: 'string', pattern: TOKEN }),
  name: () => NAME,
  regionRef: () => NAME,
  host: () => ({ type: 'string', pattern: '^[A-Za-z0-9:.\\[\\]-]+$' }),
  pathPrefix: () => ({ type: 'string', pattern: '^/[^?#\\s]*$' }),
  status: () => ({ type: 'integer', minimum: 100, maximum: 599 }),
  retryOn: () => ({
    anyOf: [{ enum: ['connect', 'timeout'] }, { type: 'integer', minimum: 400, maximum: 599 }, { type: 'string', pattern: '^[45]\\d\\d$' }],
  }),
  workers: (t) => ({ anyOf: [{ const: 'auto' }, { type: 'integer', minimum: 1, maximum: t.max }] }),
  quorum: () => ({ anyOf: [{ const: 'majority' }, { type: 'integer', minimum: 1 }] }),
};

function range(min: number | undefined, max: number | undefined): JsonSchema {
  return { ...(min !== undefined ? { minimum: min } : {}), ...(max !== undefined ? { maximum: max } : {}) };
}

function valueSchema(t: ValueType): JsonSchema {
  if (t.kind === 'object') return objectSchema(t.fields);
  if (t.kind === 'list') {
    const array = {
      type: 'array',
      items: valueSchema(t.of),
      ...(t.minItems !== undefined ? { minItems: t.minItems } : {}),
      ...(t.unique ? { uniqueItems: true } : {}),
    };
    // An empty value is an empty list, which only a list that may be empty accepts.
    return t.minItems === undefined || t.minItems === 0 ? { anyOf: [array, { type: 'null' }] } : array;
  }
  const scalar = (SCALARS[t.kind] as (t: ScalarType) => JsonSchema)(t);
  // A string pattern already admits most references, but not all (a name cannot contain `$`).
  return { anyOf: [scalar, ENV_REFERENCE] };
}

function objectSchema(fields: Fields): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, field] of Object.entries(fields)) properties[key] = fieldSchema(field);
  const required = Object.entries(fields)
    .filter(([, f]) => f.required === true)
    .map(([k]) => k);
  return {
    // An empty value (`admin:`) means every key takes its default.
    type: required.length > 0 ? 'object' : ['object', 'null'],
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

function fieldSchema(field: Field): JsonSchema {
  const description = [field.doc, field.unit ? `Unit: ${field.unit}.` : '', field.see ?? ''].filter((s) => s !== '').join(' ');
  const value = valueSchema(field.type);
  const body = field.nullable ? { anyOf: [value, { type: 'null' }, { const: '' }] } : value;
  const dflt = field.default !== undefined && field.type.kind !== 'object' ? { default: field.default } : {};
  return { description, ...dflt, ...body };
}

/** The whole config's JSON Schema. */
function renderJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'meridian.schema.json',
    title: 'Meridian configuration',
    description:
      'The YAML file `meridian serve --config FILE` reads. Generated from the schema the loader uses (`meridian schema`); ' +
      '`meridian validate` checks what a schema cannot (references between keys, the 24 h duration cap). Reference: config/reference.md.',
    ...objectSchema(schema),
  };
}

/** The committed file's text: the schema as indented JSON and a final newline. */
export function jsonSchemaText(): string {
  return `${JSON.stringify(renderJsonSchema(), null, 2)}\n`;
}
