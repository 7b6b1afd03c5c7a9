// Renders the key reference (the generated part of config/reference.md) from schema.ts, so the
// doc cannot drift from the code: test/unit/config-docs.test.ts compares the committed doc with it.
// `npm run docs:config` (render-reference.ts) rewrites the doc.
import { schema } from './schema.js';
import type { Field, Fields, ValueType } from './schema-types.js';

/** @internal exported for the docs test */
export const BEGIN_MARKER = '<!-- BEGIN GENERATED: npm run docs:config -->';
/** @internal */
export const END_MARKER = '<!-- END GENERATED -->';

interface SchemaEntry {
  /** Doc path: `regions[].location.lat`. */
  readonly path: string;
  readonly field: Field;
}

/**
 * Every key, depth first in declaration order.
 * @internal exported for the docs test
 */
export function schemaEntries(fields: Fields = schema, prefix = ''): SchemaEntry[] {
  const out: SchemaEntry[] = [];
  for (const [key, field] of Object.entries(fields)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push({ path, field });
    const t = field.type;
    if (t.kind === 'object') out.push(...schemaEntries(t.fields, path));
    else if (t.kind === 'list' && t.of.kind === 'object') out.push(...schemaEntries(t.of.fields, `${path}[]`));
  }
  return out;
}

/** Markdown tables, one per top-level key, listing every key with type, default, unit and meaning. */
export function renderReference(): string {
  const out: string[] = [];
  for (const [top] of Object.entries(schema)) {
    const entries = schemaEntries().filter((e) => e.path === top || e.path.startsWith(`${top}.`) || e.path.startsWith(`${top}[]`));
    out.push(`### \`${top}\``, '', '| Key | Type | Default | Unit | Meaning |', '|---|---|---|---|---|');
    for (const { path, field } of entries) {
      const meaning = field.see ? `${field.doc} *Interactions:* ${field.see}` : field.doc;
      out.push(`| \`${path}\` | ${cell(typeText(field))} | ${cell(defaultText(field))} | ${cell(field.unit ?? '')} | ${cell(meaning)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * How the reference states a key's default.
 * @internal exported for the docs test
 */
export function defaultText(field: Field): string {
  if (field.defaultText !== undefined) return field.defaultText;
  if (field.required) return '**required**';
  if (field.type.kind === 'object') return '(see keys)';
  if (field.default === undefined) return 'none';
  return yamlText(field.default);
}

function yamlText(v: unknown): string {
  if (Array.isArray(v)) return `\`[${v.map((x) => String(x)).join(', ')}]\``;
  return `\`${String(v)}\``;
}

function typeText(field: Field): string {
  const t = typeName(field.type);
  return field.nullable ? `${t}, or null` : t;
}

function typeName(t: ValueType): string {
  switch (t.kind) {
    case 'string':
      return t.minLength !== undefined ? `string (≥ ${t.minLength} chars)` : 'string';
    case 'int':
    case 'number': {
      const base = t.kind === 'int' ? 'integer' : 'number';
      if (t.min !== undefined && t.max !== undefined) return `${base} ${t.min}..${t.max}`;
      if (t.min !== undefined) return `${base} ≥ ${t.min}`;
      return base;
    }
    case 'bool':
      return 'boolean';
    case 'duration':
      return t.minMs > 0 ? 'duration > 0' : 'duration ≥ 0';
    case 'enum':
      return t.values.map((v) => `\`${v}\``).join(' | ');
    case 'listen':
      return '`host:port`';
    case 'url':
      return 'http(s) URL';
    case 'cidr':
      return 'CIDR or IP';
    case 'country':
      return t.allowEU ? 'country code or `EU`' : 'country code';
    case 'method':
      return 'HTTP method';
    case 'header':
      return 'header name';
    case 'cookie':
      return 'cookie name';
    case 'name':
      return 'name';
    case 'regionRef':
      return 'region name';
    case 'host':
      return 'host name';
    case 'pathPrefix':
      return 'path (starts with `/`)';
    case 'status':
      return 'HTTP status';
    case 'retryOn':
      return '`connect` | `timeout` | status';
    case 'workers':
      return `\`auto\` | integer 1..${t.max}`;
    case 'quorum':
      return '`majority` | integer ≥ 1';
    case 'list':
      return `list of ${t.of.kind === 'object' ? 'maps' : typeName(t.of)}${t.minItems ? ' (non-empty)' : ''}`;
    case 'object':
      return 'map';
  }
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Replaces the generated block of a reference document with a fresh rendering. */
export function spliceReference(doc: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`reference doc lacks the ${BEGIN_MARKER} / ${END_MARKER} markers`);
  return `${doc.slice(0, begin + BEGIN_MARKER.length)}\n\n${renderReference()}\n${doc.slice(end)}`;
}
