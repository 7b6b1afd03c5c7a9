// YAML → checked, compiled, deep-frozen Snapshot, in four stages, each in its own module:
//   yaml-source.ts  YAML text → positioned values (YAML parse, line counter, `${VAR}` substitution)
//   check.ts        positioned values → checked values (the schema walk: kinds, defaults, unknown keys)
//   cross-check.ts  rules across keys (region references, unique names, mode vs reads/writes, damping)
//   files.ts        files the config names exist and are what they claim (the GeoIP database)
//   compile.ts      checked values → the runtime Snapshot
// Every error carries `file:line:col path`, and every error in the file is reported in one go;
// `meridian validate` prints them all.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Snapshot } from '../types.js';
import { checkConfig } from './check.js';
import { compile } from './compile.js';
import { configWarnings, crossCheck } from './cross-check.js';
import { checkFiles } from './files.js';
import type { Report } from './diagnostics.js';
import type { RawConfig } from './schema.js';
import { readYaml } from './yaml-source.js';

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

/** `file:line:col key.path: message` (the path is left out for file-level errors). */
export function formatConfigError(e: ConfigError): string {
  return e.path === '' ? `${e.file}:${e.line}:${e.col}: ${e.message}` : `${e.file}:${e.line}:${e.col} ${e.path}: ${e.message}`;
}

/** File order, so `validate` reads top to bottom (Array.prototype.sort is stable). */
function sortErrors(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col);
}

export type LoadResult =
  { readonly ok: true; readonly snapshot: Snapshot; readonly warnings: string[] } | { readonly ok: false; readonly errors: ConfigError[] };

/** The file's text, or why it cannot be read (as a file-level config error). */
export function readConfigFile(file: string): { ok: true; text: string } | { ok: false; errors: ConfigError[] } {
  try {
    return { ok: true, text: readFileSync(file, 'utf8') };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '', message: `cannot read config file: ${reason}` }] };
  }
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const read = readConfigFile(file);
  return read.ok ? loadConfigText(read.text, file, env) : read;
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const source = readYaml(text, env);
  const errors: ConfigError[] = [];
  const report: Report = (offset, path, message) => {
    const { line, col } = source.locate(offset);
    errors.push({ file, line, col, path, message });
  };
  for (const p of source.problems) report(p.offset, '', p.message);
  if (source.problems.some((p) => p.fatal)) return { ok: false, errors: sortErrors(errors) };

  const checked = checkConfig(source.root, report);
  if (checked === null) return { ok: false, errors };
  crossCheck(checked.config, (path, message) => report(checked.positions.get(path) ?? 0, path, message));
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };

  // Every value that failed a check reported an error, so with none reported nothing is INVALID.
  const raw = checked.config as RawConfig;
  checkFiles(raw, file, (path, message) => report(checked.positions.get(path) ?? 0, path, message));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, snapshot: compile(raw, resolvePath(file)), warnings: configWarnings(raw, file) };
}
