// The `fleet:` block → the fleet module's FleetConfig: TLS paths resolved against the config file's
// folder, durations already in ms. resolveFleetConfig() fills what the schema leaves to the fleet
// (the default id) and holds the rules the schema walk cannot see one value at a time; the loader
// reports its messages at their key paths (checkFleet), so compile only ever sees a valid block.
import { dirname, resolve as resolvePath } from 'node:path';
import { resolveFleetConfig, type FleetConfig, type FleetConfigInput } from '../fleet/config.js';
import type { RawConfig } from './schema.js';

type RawFleet = NonNullable<RawConfig['fleet']>;

function input(f: RawFleet, file: string): FleetConfigInput {
  const rel = (p: string): string => resolvePath(dirname(resolvePath(file)), p);
  const t = f.etcd.tls;
  return {
    etcd: {
      endpoints: f.etcd.endpoints,
      prefix: f.etcd.prefix,
      username: f.etcd.username,
      password: f.etcd.password,
      tls: t === null ? null : { ca: rel(t.ca), cert: t.cert === null ? null : rel(t.cert), key: t.key === null ? null : rel(t.key) },
    },
    ...(f.id !== null ? { id: f.id } : {}),
    site: f.site,
    leaseMs: f.lease,
    quorum: f.quorum,
    writesWithoutEtcd: f.writesWithoutEtcd,
  };
}

/** Errors as `[key path, message]`; empty when the block is usable. */
export function checkFleet(f: RawFleet, file: string): Array<[string, string]> {
  const r = resolveFleetConfig(input(f, file));
  if (r.ok) return [];
  return r.errors.map((e) => {
    const i = e.indexOf(': ');
    return [e.slice(0, i), e.slice(i + 2)];
  });
}

export function compileFleet(f: RawFleet | null, file: string): FleetConfig | null {
  if (f === null) return null;
  const r = resolveFleetConfig(input(f, file));
  if (!r.ok) throw new Error(`fleet config passed the checks but does not resolve: ${r.errors.join('; ')}`);
  return r.config;
}
