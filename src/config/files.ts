// Stage 3b of loading: files the config names must exist and be what they claim, so `validate`
// catches a missing or wrong file before `serve` or a reload trips over it; and the `fleet:` rules
// that need the whole block (fleet/config.ts holds them, so the fleet and the loader agree).
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { checkFleet } from './compile-fleet.js';
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
  const fleet = raw.fleet;
  if (fleet === null) return;
  for (const [path, message] of checkFleet(fleet, file)) report(path, message);
  const tls = fleet.etcd.tls;
  for (const k of ['ca', 'cert', 'key'] as const) {
    const p = tls?.[k];
    if (p == null) continue;
    const abs = resolvePath(dirname(resolvePath(file)), p);
    if (!existsSync(abs) || !statSync(abs).isFile()) report(`fleet.etcd.tls.${k}`, `no such file: ${abs}`);
  }
}
