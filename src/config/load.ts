// YAML → validated, compiled, deep-frozen Snapshot (STYLE habit 3).
// Walks the schema (schema.ts) over the YAML AST so every error carries `file:line:col path` and
// every error in the file is reported in one go; `meridian validate` prints them all.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type {
  HealthConfig,
  Mode,
  PassiveConfig,
  RegionSpec,
  ResidencyRule,
  RetryConfig,
  RouteSpec,
  Selector,
  Snapshot,
  WritesConfig,
} from '../types.js';
import { MODE_SELECTORS, schema, type Field, type ParsedObject, type ValueType } from './schema.js';
import {
  describeValue,
  parseCidr,
  parseCookieName,
  parseCountry,
  parseDuration,
  parseEndpointUrl,
  parseHeaderName,
  parseHost,
  parseListen,
  parseMethod,
  parseName,
  parsePathPrefix,
  type Parsed,
} from './parse.js';

export interface ConfigError {
  /** The file as given by the caller. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
  /** Key path such as `regions[1].location.lat`; '' for file-level problems (unreadable, YAML syntax). */
  readonly path: string;
  readonly message: string;
}

export type LoadResult =
  { readonly ok: true; readonly snapshot: Snapshot; readonly warnings: string[] } | { readonly ok: false; readonly errors: ConfigError[] };

/** `file:line:col key.path: message` (the path is left out for file-level errors). */
export function formatConfigError(e: ConfigError): string {
  return e.path === '' ? `${e.file}:${e.line}:${e.col}: ${e.message}` : `${e.file}:${e.line}:${e.col} ${e.path}: ${e.message}`;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '', message: `cannot read config file: ${reason}` }] };
  }
  return loadConfigText(text, file, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: false, uniqueKeys: true });
  const ctx = new Ctx(file, lineCounter, env, doc);

  let syntaxBroken = false;
  for (const e of doc.errors) {
    ctx.error(e.pos[0], '', e.message.split('\n')[0] ?? e.message);
    // A duplicate key is a semantic error; the rest of the tree is still sound, so keep validating.
    if (e.code !== 'DUPLICATE_KEY') syntaxBroken = true;
  }
  if (syntaxBroken) return { ok: false, errors: sortErrors(ctx.errors) };

  const contents = doc.contents;
  if (contents !== null && !isMap(contents) && !(isScalar(contents) && contents.value === null)) {
    ctx.error(offsetOf(contents, 0), '', `the config must be a map of keys (such as "regions:"), got ${kindOf(contents)}`);
    return { ok: false, errors: ctx.errors };
  }
  const root = ctx.checkObject(contents, schema, '', 0);
  ctx.runDerives(root);
  crossCheck(ctx, root as unknown as RawConfig);
  if (ctx.errors.length > 0) return { ok: false, errors: sortErrors(ctx.errors) };

  const raw = root as unknown as RawConfig;
  const snapshot = deepFreeze(compile(raw, resolvePath(file)));
  return { ok: true, snapshot, warnings: warningsFor(raw, file) };
}

// ---------------------------------------------------------------------------------------------
// Walking the schema over the YAML tree

/** Marks a value that failed validation (an error has been recorded). */
const INVALID = Symbol('invalid');

type YNode = unknown;

class Ctx {
  readonly errors: ConfigError[] = [];
  /** Offset of the node each path came from (or of its parent for defaults); for cross checks. */
  readonly pos = new Map<string, number>();
  private readonly derives: Array<{ parent: ParsedObject; key: string; field: Field; path: string }> = [];

  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
    private readonly doc: Document,
  ) {}

  error(offset: number, path: string, message: string): void {
    const { line, col } = this.lc.linePos(offset);
    this.errors.push({ file: this.file, line, col, path, message });
  }

  errorAt(path: string, message: string): void {
    this.error(this.pos.get(path) ?? 0, path, message);
  }

  checkObject(node: YNode, fields: Readonly<Record<string, Field>>, path: string, fallback: number): ParsedObject {
    const out: ParsedObject = {};
    const at = offsetOf(node, fallback);
    const seen = new Map<string, YNode>();
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const keyAt = offsetOf(keyNode, at);
        const field = Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
        if (field === undefined) {
          this.error(keyAt, join(path, key), `unknown key \`${key}\`${suggest(key, Object.keys(fields))}`);
          continue;
        }
        seen.set(key, pair.value ?? null);
        this.pos.set(join(path, key), offsetOf(pair.value, keyAt));
      }
    } else if (!isEmpty(node)) {
      this.error(at, path, `expected a map, got ${kindOf(node)}`);
      return out;
    }
    for (const [key, field] of Object.entries(fields)) {
      const p = join(path, key);
      if (seen.has(key)) {
        out[key] = this.checkField(seen.get(key), field, p, at);
        continue;
      }
      this.pos.set(p, at);
      if (field.required) {
        this.error(at, p, `missing required key \`${key}\``);
        out[key] = INVALID;
      } else if (field.default !== undefined) {
        out[key] = this.checkValue(this.doc.createNode(field.default), field.type, p, at);
      } else {
        out[key] = null;
        if (field.derive) this.derives.push({ parent: out, key, field, path: p });
      }
    }
    return out;
  }

  private checkField(node: YNode, field: Field, path: string, fallback: number): unknown {
    if (field.nullable && (isEmpty(node) || (isScalar(node) && this.scalar(node, path) === ''))) return null;
    return this.checkValue(node, field.type, path, fallback);
  }

  checkValue(node: YNode, type: ValueType, path: string, fallback: number): unknown {
    if (isAlias(node)) node = node.resolve(this.doc) ?? null;
    const at = offsetOf(node, fallback);
    if (type.kind === 'object') {
      return this.checkObject(node, type.fields, path, fallback);
    }
    if (type.kind === 'list') {
      if (isEmpty(node)) node = null;
      else if (!isSeq(node)) {
        this.error(at, path, `expected a list (such as [a, b]), got ${kindOf(node)}`);
        return INVALID;
      }
      const items = node === null ? [] : (node as { items: YNode[] }).items;
      const out: unknown[] = [];
      const firstIndex = new Map<string, number>();
      items.forEach((item, i) => {
        const p = `${path}[${i}]`;
        const itemAt = offsetOf(item, at);
        this.pos.set(p, itemAt);
        const v = this.checkValue(item, type.of, p, at);
        out.push(v);
        if (type.unique && v !== INVALID && (typeof v === 'string' || typeof v === 'number')) {
          const k = String(v);
          const first = firstIndex.get(k);
          if (first !== undefined) this.error(itemAt, p, `duplicate entry ${describeValue(v)} (also at ${path}[${first}])`);
          else firstIndex.set(k, i);
        }
      });
      if (type.minItems !== undefined && items.length < type.minItems) {
        this.error(at, path, type.minItems === 1 ? 'must list at least one entry' : `must list at least ${type.minItems} entries`);
        return INVALID;
      }
      return out;
    }
    if (!isScalar(node)) {
      this.error(at, path, `expected ${describeType(type)}, got ${kindOf(node)}`);
      return INVALID;
    }
    const r = this.checkScalar(this.scalar(node, path), type, node);
    if (r === undefined) return INVALID; // substitution error already reported
    if (!r.ok) {
      this.error(at, path, r.message);
      return INVALID;
    }
    return r.value;
  }

  private readonly subst = new Map<object, { value: unknown; substituted: boolean; failed: boolean }>();

  /** The scalar's value with `${VAR}` substituted (memoised per node so errors show once). */
  private scalar(node: object, path: string): unknown {
    const hit = this.subst.get(node);
    if (hit) return hit.failed ? undefined : hit.value;
    const raw: unknown = isScalar(node) ? node.value : null;
    let entry = { value: raw, substituted: false, failed: false };
    if (typeof raw === 'string' && raw.includes('$')) {
      const r = substitute(raw, this.env);
      if (!r.ok) {
        this.error(offsetOf(node, 0), path, r.message);
        entry = { value: undefined, substituted: false, failed: true };
      } else entry = { value: r.value, substituted: r.value !== raw, failed: false };
    }
    this.subst.set(node, entry);
    return entry.failed ? undefined : entry.value;
  }

  private wasSubstituted(node: object): boolean {
    return this.subst.get(node)?.substituted === true;
  }

  private checkScalar(v: unknown, type: ValueType, node: object): Parsed<unknown> | undefined {
    if (v === undefined) return undefined;
    // `port: ${PORT}` yields a string; a number or bool that came from the environment is coerced.
    const fromEnv = this.wasSubstituted(node) && typeof v === 'string';
    switch (type.kind) {
      case 'string':
        if (typeof v !== 'string') {
          const hint = typeof v === 'number' || typeof v === 'boolean' ? ` (quote it: "${String(v)}")` : '';
          return { ok: false, message: `expected a string, got ${describeValue(v)}${hint}` };
        }
        if (type.minLength !== undefined && v.length < type.minLength) {
          return { ok: false, message: `must be at least ${type.minLength} characters long (got ${v.length})` };
        }
        return { ok: true, value: v };
      case 'int':
      case 'number': {
        const n = fromEnv && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
        const what = type.kind === 'int' ? 'an integer' : 'a number';
        if (typeof n !== 'number' || !Number.isFinite(n) || (type.kind === 'int' && !Number.isInteger(n))) {
          return { ok: false, message: `expected ${what}, got ${describeValue(v)}` };
        }
        if ((type.min !== undefined && n < type.min) || (type.max !== undefined && n > type.max)) {
          return { ok: false, message: `${n} is out of range: ${rangeText(type.min, type.max)}` };
        }
        return { ok: true, value: n };
      }
      case 'bool': {
        const b = fromEnv && (v === 'true' || v === 'false') ? v === 'true' : v;
        if (typeof b !== 'boolean') return { ok: false, message: `expected true or false, got ${describeValue(v)}` };
        return { ok: true, value: b };
      }
      case 'duration': {
        const r = parseDuration(v);
        if (r.ok && r.value < type.minMs) return { ok: false, message: `must be greater than 0s` };
        return r;
      }
      case 'enum':
        if (typeof v !== 'string' || !type.values.includes(v)) {
          const s = typeof v === 'string' ? suggest(v, type.values) : '';
          return { ok: false, message: `expected one of ${type.values.join(', ')}; got ${describeValue(v)}${s}` };
        }
        return { ok: true, value: v };
      case 'listen':
        return parseListen(v);
      case 'url':
        return parseEndpointUrl(v);
      case 'cidr':
        return parseCidr(v);
      case 'country':
        return parseCountry(v, type.allowEU);
      case 'method':
        return parseMethod(v);
      case 'header':
        return parseHeaderName(v);
      case 'cookie':
        return parseCookieName(v);
      case 'name':
      case 'regionRef':
        return parseName(v);
      case 'host':
        return parseHost(v);
      case 'pathPrefix':
        return parsePathPrefix(v);
      case 'status': {
        const n = fromEnv ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 100 || n > 599) {
          return { ok: false, message: `expected an HTTP status 100..599, got ${describeValue(v)}` };
        }
        return { ok: true, value: n };
      }
      case 'retryOn': {
        if (v === 'connect' || v === 'timeout') return { ok: true, value: v };
        const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
        if (typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599) return { ok: true, value: n };
        return { ok: false, message: `expected connect, timeout or a status 400..599, got ${describeValue(v)}` };
      }
      case 'workers': {
        if (v === 'auto') return { ok: true, value: v };
        const n = fromEnv && /^\d+$/.test(v.trim()) ? Number(v) : v;
        if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= type.max) return { ok: true, value: n };
        return { ok: false, message: `expected auto or an integer 1..${type.max}, got ${describeValue(v)}` };
      }
      default:
        return { ok: false, message: `expected ${describeType(type)}` };
    }
  }

  runDerives(root: ParsedObject): void {
    for (const d of this.derives) {
      // Derived defaults are computed from already-parsed values, so they are parsed values too.
      d.parent[d.key] = d.field.derive?.(d.parent, root) ?? null;
    }
  }
}

/** `${VAR}`, `${VAR:-default}` (default may be empty), `$$` for a literal `$`. */
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

/** File order, so `validate` reads top to bottom (Array.prototype.sort is stable). */
function sortErrors(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function offsetOf(node: unknown, fallback: number): number {
  if (node !== null && typeof node === 'object' && 'range' in node) {
    const r = (node as { range?: [number, number, number] | null }).range;
    if (r) return r[0];
  }
  return fallback;
}

function isEmpty(node: YNode): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function kindOf(node: YNode): string {
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'an empty value';
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `must be between ${min} and ${max}`;
  if (min !== undefined) return `must be at least ${min}`;
  return `must be at most ${max ?? ''}`;
}

function describeType(t: ValueType): string {
  switch (t.kind) {
    case 'duration':
      return 'a duration such as "2s"';
    case 'listen':
      return 'a "host:port" address';
    case 'url':
      return 'an endpoint URL';
    case 'enum':
      return `one of ${t.values.join(', ')}`;
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'bool':
      return 'true or false';
    case 'cidr':
      return 'a CIDR';
    default:
      return 'a single value';
  }
}

/** " (did you mean `x`?)" when a candidate is close enough to be a plausible typo. */
function suggest(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const lower = word.toLowerCase();
  const caseOnly = candidates.find((c) => c.toLowerCase() === lower);
  const best = caseOnly ?? closest(word, candidates);
  const d = distance(lower, best.toLowerCase());
  return d <= Math.min(3, Math.max(1, Math.floor(best.length / 2))) ? `; did you mean \`${best}\`?` : '';
}

// ---------------------------------------------------------------------------------------------
// Parsed shape (what the walker produced, defaults filled) and cross-key checks

interface RawConfig {
  listen: { host: string; port: number };
  admin: { listen: { host: string; port: number }; token: string | null };
  clientIp: { trustedProxies: string[] };
  regions: Array<{ name: string; location: { lat: number; lon: number }; endpoints: string[]; countries: string[] }>;
  health: {
    path: string;
    interval: number;
    timeout: number;
    unhealthyThreshold: number;
    healthyThreshold: number;
    failbackDelay: number;
    slowStart: number;
    lagHeader: string | null;
    expectedStatuses: number[];
    jitter: number;
    damping: { penalty: number; halfLife: number; suppressLimit: number; reuseLimit: number; maxPenalty: number };
  };
  passive: { consecutiveFailures: number; ejectFor: number; maxEjectMultiplier: number; maxEjectedPercent: number };
  affinity: {
    userKey: { header: string | null; cookie: string | null };
    homeRegion: { header: string | null; cookie: string | null };
  };
  residency: Array<{ name: string; countries: string[]; homeRegions: string[]; regions: string[] }>;
  writes: {
    regions: string[];
    failover: 'automatic' | 'manual';
    failback: 'automatic' | 'manual';
    maxLag: number;
    allowUnknownLag: boolean;
  };
  retry: {
    attempts: number;
    on: Array<'connect' | 'timeout' | number>;
    budget: number;
    budgetMinPerWindow: number;
    budgetWindow: number;
    maxBufferBytes: number;
  };
  allDown: 'reject' | 'try';
  unknownLocation: string;
  timeouts: { connect: number; request: number };
  routes: Array<{
    name: string;
    match: { pathPrefix: string; methods: string[] | null; host: string | null };
    mode: Mode | null;
    reads: Selector | null;
    writes: Selector | null;
    readYourWrites: number;
  }>;
  readYourWrites: { secret: string | null; cookie: string };
  responseHeaders: boolean;
  shutdownGrace: number;
  workers: number | 'auto';
}

const valid = <T>(v: T | typeof INVALID | null | undefined): v is T => v !== INVALID && v !== null && v !== undefined;

function crossCheck(ctx: Ctx, raw: RawConfig): void {
  const regionNames: string[] = [];
  const regions = valid(raw.regions) ? raw.regions : [];
  uniqueNames(ctx, regions, 'regions', 'region', regionNames);
  // Health state is keyed by endpoint URL: one URL in two places would mix their probes and ejections.
  const endpointAt = new Map<string, string>();
  regions.forEach((r, i) => {
    if (!valid(r) || !Array.isArray(r.endpoints)) return;
    r.endpoints.forEach((e, j) => {
      if (typeof e !== 'string') return;
      const prev = endpointAt.get(e);
      if (prev !== undefined)
        ctx.errorAt(
          `regions[${i}].endpoints[${j}]`,
          `endpoint ${e} is already listed at ${prev}; each endpoint belongs to one region, once`,
        );
      else endpointAt.set(e, `regions[${i}].endpoints[${j}]`);
    });
  });
  uniqueNames(ctx, valid(raw.routes) ? raw.routes : [], 'routes', 'route', []);
  uniqueNames(ctx, valid(raw.residency) ? raw.residency : [], 'residency', 'residency rule', []);
  const known = new Set(regionNames);
  // Only complain about unknown references when the regions list itself parsed, to avoid noise.
  const regionsOk = valid(raw.regions) && regions.every((r) => valid(r.name));

  const checkRef = (path: string, name: unknown): void => {
    if (!regionsOk || typeof name !== 'string' || known.has(name)) return;
    ctx.errorAt(path, `unknown region \`${name}\`${suggest(name, regionNames)} (regions: ${regionNames.join(', ')})`);
  };
  const checkRefs = (path: string, list: unknown): void => {
    if (Array.isArray(list)) list.forEach((n, i) => checkRef(`${path}[${i}]`, n));
  };

  if (valid(raw.writes)) checkRefs('writes.regions', raw.writes.regions);
  checkRef('unknownLocation', raw.unknownLocation);
  (valid(raw.residency) ? raw.residency : []).forEach((rule, i) => {
    if (!valid(rule)) return;
    const p = `residency[${i}]`;
    checkRefs(`${p}.regions`, rule.regions);
    checkRefs(`${p}.homeRegions`, rule.homeRegions);
    const countries = Array.isArray(rule.countries) ? rule.countries.length : 0;
    const homes = Array.isArray(rule.homeRegions) ? rule.homeRegions.length : 0;
    if (valid(rule.countries) && valid(rule.homeRegions) && countries === 0 && homes === 0) {
      ctx.errorAt(p, `residency rule \`${String(rule.name)}\` binds nobody: give \`countries\` or \`homeRegions\``);
    }
  });

  const writeRegions = valid(raw.writes) && Array.isArray(raw.writes.regions) ? raw.writes.regions : null;
  (valid(raw.routes) ? raw.routes : []).forEach((route, i) => {
    if (!valid(route)) return;
    const p = `routes[${i}]`;
    const hasReads = route.reads !== null;
    const hasWrites = route.writes !== null;
    if (valid(route.mode) && (hasReads || hasWrites)) {
      const other = hasReads ? 'reads' : 'writes';
      ctx.errorAt(`${p}.${other}`, `give either \`mode\` or both \`reads\` and \`writes\`, not both (mode is \`${route.mode}\`)`);
      return;
    }
    if (!valid(route.mode) && hasReads !== hasWrites) {
      const missing = hasReads ? 'writes' : 'reads';
      ctx.errorAt(`${p}.${hasReads ? 'reads' : 'writes'}`, `\`${missing}\` is missing: give both \`reads\` and \`writes\`, or a \`mode\``);
      return;
    }
    if ([route.mode, route.reads, route.writes].some((v: unknown) => v === INVALID)) return;
    const sel = valid(route.mode) ? MODE_SELECTORS[route.mode] : { reads: route.reads, writes: route.writes };
    if ((sel.reads === 'primary' || sel.writes === 'primary') && writeRegions !== null && writeRegions.length === 0) {
      const where = valid(route.mode) ? `${p}.mode` : sel.writes === 'primary' ? `${p}.writes` : `${p}.reads`;
      const what = valid(route.mode) ? `mode \`${route.mode}\`` : 'selector `primary`';
      ctx.errorAt(
        where,
        `${what} sends requests to the write region, but \`writes.regions\` is empty; list the regions that may take writes`,
      );
    }
  });

  const d = valid(raw.health) ? raw.health.damping : null;
  if (valid(d) && typeof d.reuseLimit === 'number' && typeof d.suppressLimit === 'number' && typeof d.maxPenalty === 'number') {
    if (d.reuseLimit >= d.suppressLimit) {
      ctx.errorAt(
        'health.damping.reuseLimit',
        `must be below health.damping.suppressLimit (${d.suppressLimit}), or a suppressed region could never be reused`,
      );
    }
    if (d.suppressLimit > d.maxPenalty) {
      ctx.errorAt(
        'health.damping.suppressLimit',
        `must not exceed health.damping.maxPenalty (${d.maxPenalty}), or suppression could never happen`,
      );
    }
  }
}

function uniqueNames(ctx: Ctx, items: Array<{ name: unknown }>, listPath: string, what: string, names: string[]): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    if (!valid(item) || typeof item.name !== 'string') return;
    const prev = first.get(item.name);
    if (prev !== undefined) {
      ctx.errorAt(`${listPath}[${i}].name`, `duplicate ${what} name \`${item.name}\` (first defined at ${listPath}[${prev}])`);
    } else {
      first.set(item.name, i);
      names.push(item.name);
    }
  });
}

function warningsFor(raw: RawConfig, file: string): string[] {
  const w: string[] = [];
  if (raw.health.timeout >= raw.health.interval) {
    w.push(`${file}: health.timeout (${raw.health.timeout}ms) is not below health.interval (${raw.health.interval}ms); probes may overlap`);
  }
  if (raw.readYourWrites.secret === null && raw.routes.some((r) => r.readYourWrites > 0)) {
    w.push(
      `${file}: readYourWrites.secret is not set; a random key is generated at start, so read-your-writes cookies break on restart and across routers`,
    );
  }
  if (raw.admin.token === null && !isLoopback(raw.admin.listen.host)) {
    w.push(
      `${file}: admin.listen ${raw.admin.listen.host} is not loopback and admin.token is not set; anyone reaching it can drain regions`,
    );
  }
  return w;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

// ---------------------------------------------------------------------------------------------
// Compile into the runtime Snapshot

function compile(raw: RawConfig, file: string): Snapshot {
  const regions: RegionSpec[] = raw.regions.map((r, index) => ({
    name: r.name,
    index,
    lat: r.location.lat,
    lon: r.location.lon,
    endpoints: r.endpoints,
    countries: new Set(r.countries),
  }));
  const h = raw.health;
  const health: HealthConfig = {
    path: h.path,
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    unhealthyThreshold: h.unhealthyThreshold,
    healthyThreshold: h.healthyThreshold,
    failbackDelayMs: h.failbackDelay,
    slowStartMs: h.slowStart,
    lagHeader: h.lagHeader,
    expectedStatuses: new Set(h.expectedStatuses),
    jitterMs: h.jitter,
    damping: {
      penalty: h.damping.penalty,
      halfLifeMs: h.damping.halfLife,
      suppressLimit: h.damping.suppressLimit,
      reuseLimit: h.damping.reuseLimit,
      maxPenalty: h.damping.maxPenalty,
    },
  };
  const passive: PassiveConfig = {
    consecutiveFailures: raw.passive.consecutiveFailures,
    ejectForMs: raw.passive.ejectFor,
    maxEjectMultiplier: raw.passive.maxEjectMultiplier,
    maxEjectedShare: raw.passive.maxEjectedPercent / 100,
  };
  const residency: ResidencyRule[] = raw.residency.map((r) => ({
    name: r.name,
    countries: new Set(r.countries),
    homeRegions: new Set(r.homeRegions),
    regions: new Set(r.regions),
  }));
  const writes: WritesConfig = {
    regions: raw.writes.regions,
    failover: raw.writes.failover,
    failback: raw.writes.failback,
    maxLagMs: raw.writes.maxLag,
    allowUnknownLag: raw.writes.allowUnknownLag,
  };
  const retry: RetryConfig = {
    // YAML `attempts` counts retries; the runtime counts total tries.
    attempts: raw.retry.attempts + 1,
    onConnect: raw.retry.on.includes('connect'),
    onTimeout: raw.retry.on.includes('timeout'),
    onStatuses: new Set(raw.retry.on.filter((x): x is number => typeof x === 'number')),
    budget: raw.retry.budget,
    budgetMinPerWindow: raw.retry.budgetMinPerWindow,
    budgetWindowMs: raw.retry.budgetWindow,
    maxBufferBytes: raw.retry.maxBufferBytes,
  };
  const routes: RouteSpec[] = raw.routes.map((r) => {
    const sel = r.mode !== null ? MODE_SELECTORS[r.mode] : { reads: r.reads ?? 'nearest', writes: r.writes ?? 'nearest' };
    return {
      name: r.name,
      pathPrefix: r.match.pathPrefix,
      methods: r.match.methods === null ? null : new Set(r.match.methods),
      host: r.match.host,
      reads: sel.reads,
      writes: sel.writes,
      mode: r.mode,
      readYourWritesMs: r.readYourWrites,
    };
  });
  return {
    file,
    listen: raw.listen,
    admin: { host: raw.admin.listen.host, port: raw.admin.listen.port, token: raw.admin.token },
    trustedProxies: raw.clientIp.trustedProxies,
    regions,
    regionByName: new Map(regions.map((r) => [r.name, r])),
    health,
    passive,
    affinity: raw.affinity,
    residency,
    writes,
    retry,
    allDown: raw.allDown,
    unknownLocation: raw.unknownLocation,
    timeouts: { connectMs: raw.timeouts.connect, requestMs: raw.timeouts.request },
    routes,
    readYourWrites: raw.readYourWrites,
    responseHeaders: raw.responseHeaders,
    shutdownGraceMs: raw.shutdownGrace,
    workers: raw.workers,
  };
}

/** Object.freeze all the way down; Sets and Maps are frozen as objects and their members walked. */
export function deepFreeze<T>(value: T): T {
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) v.forEach((val, key) => (walk(key), walk(val)));
    else if (v instanceof Set) v.forEach((val) => walk(val));
    else for (const key of Reflect.ownKeys(v)) walk((v as Record<PropertyKey, unknown>)[key]);
    Object.freeze(v);
  };
  walk(value);
  return value;
}
