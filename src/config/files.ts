// Stage 3b of loading: files the config names must exist and be what they claim, so `validate`
// catches a missing or wrong file before `serve` or a reload trips over it.
import { dirname, resolve as resolvePath } from 'node:path';
import { readMaxmindDatabase } from '../identity/geo-data.js';
import type { RawConfig } from './schema.js';

/** Records an error at a key path. */
type ReportAt = (path: string, message: string) => void;

/** `file` is the config file's path: relative paths in the config are relative to its folder. */
export function checkFiles(raw: RawConfig, file: string, report: ReportAt): void {
  const db = raw.geoip.database;
  if (db !== null) {
    try {
      readMaxmindDatabase(resolvePath(dirname(resolvePath(file)), db));
    } catch (err) {
      report('geoip.database', (err as Error).message);
    }
  }
}
