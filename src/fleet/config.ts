// The `fleet:` block as the fleet module sees it, after the config loader has parsed durations and
// expanded `${VAR}`. The YAML key names are the public contract and are kept here one to one:
//   fleet: { etcd: { endpoints, prefix, username, password, tls: { ca, cert, key } },
//            id, site, lease, quorum, writesWithoutEtcd }
// The config loader owns positions and error messages; resolveFleetConfig() fills defaults and
// rejects values the protocol cannot work with, as plain messages naming the key.
import { hostname } from 'node:os';

export type Quorum = 'majority' | number;
export type WritesWithoutEtcd = 'stop' | 'continue';

interface FleetTls {
  /** PEM file with the CA that signed etcd's server certificate. */
  readonly ca: string;
  /** Client certificate and key (PEM files) for mutual TLS; both or neither. */
  readonly cert: string | null;
  readonly key: string | null;
}

export interface FleetEtcdConfig {
  /** `http://host:port` or `https://host:port`, one per etcd member. */
  readonly endpoints: readonly string[];
  /** Every key of this fleet lives under it; always ends with `/`. */
  readonly prefix: string;
  readonly username: string | null;
  readonly password: string | null;
  readonly tls: FleetTls | null;
}

export interface FleetConfig {
  readonly etcd: FleetEtcdConfig;
  /** Unique per router; default `<hostname>-<pid>`. */
  readonly id: string;
  /** Where this router runs (informational: shown in membership). */
  readonly site: string | null;
  /** Membership lease TTL in ms (etcd grants whole seconds: rounded up). */
  readonly leaseMs: number;
  readonly quorum: Quorum;
  readonly writesWithoutEtcd: WritesWithoutEtcd;
}

export interface FleetConfigInput {
  readonly etcd: {
    readonly endpoints: readonly string[];
    readonly prefix?: string;
    readonly username?: string | null;
    readonly password?: string | null;
    readonly tls?: { readonly ca: string; readonly cert?: string | null; readonly key?: string | null } | null;
  };
  readonly id?: string;
  readonly site?: string | null;
  readonly leaseMs?: number;
  readonly quorum?: Quorum;
  readonly writesWithoutEtcd?: WritesWithoutEtcd;
}

export const FLEET_DEFAULTS = {
  prefix: '/meridian/',
  leaseMs: 10_000,
  quorum: 'majority' as Quorum,
  writesWithoutEtcd: 'stop' as WritesWithoutEtcd,
};

/** Ids become etcd key segments (`members/<id>`): no slashes, nothing that needs escaping. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function defaultFleetId(host = hostname(), pid = process.pid): string {
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 'router';
  return `${safeHost}-${pid}`;
}

/** Defaults filled, or a list of `fleet.<key>: message` errors. */
export function resolveFleetConfig(input: FleetConfigInput): { ok: true; config: FleetConfig } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const e = input.etcd;
  if (e.endpoints.length === 0) errors.push('fleet.etcd.endpoints: at least one endpoint is required');
  const schemes = new Set<string>();
  for (const ep of e.endpoints) {
    let url: URL | null = null;
    try {
      url = new URL(ep);
    } catch {
      errors.push(`fleet.etcd.endpoints: "${ep}" is not a URL (expected http://host:port or https://host:port)`);
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') errors.push(`fleet.etcd.endpoints: "${ep}" must use http or https`);
    if (url) schemes.add(url.protocol);
  }
  // the etcd3 client refuses a mix, and a mix would mean some traffic to etcd is unencrypted
  if (schemes.size > 1) errors.push('fleet.etcd.endpoints: mixes http and https endpoints');
  const rawPrefix = e.prefix ?? FLEET_DEFAULTS.prefix;
  if (rawPrefix === '' || rawPrefix === '/') errors.push('fleet.etcd.prefix: must name a key prefix of its own, not the whole keyspace');
  const prefix = rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  if ((e.username == null) !== (e.password == null)) errors.push('fleet.etcd: username and password go together');
  const tls = e.tls ? { ca: e.tls.ca, cert: e.tls.cert ?? null, key: e.tls.key ?? null } : null;
  if (tls && (tls.cert === null) !== (tls.key === null)) errors.push('fleet.etcd.tls: cert and key go together');
  const id = input.id ?? defaultFleetId();
  if (!ID_RE.test(id)) errors.push(`fleet.id: "${id}" must be 1-128 characters of letters, digits, ".", "_", ":" or "-"`);
  const leaseMs = input.leaseMs ?? FLEET_DEFAULTS.leaseMs;
  if (!(leaseMs >= 1000)) errors.push('fleet.lease: must be at least 1s (etcd leases are whole seconds)');
  const quorum = input.quorum ?? FLEET_DEFAULTS.quorum;
  if (quorum !== 'majority' && !(Number.isInteger(quorum) && quorum >= 1))
    errors.push('fleet.quorum: must be "majority" or an integer >= 1');
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      etcd: { endpoints: [...e.endpoints], prefix, username: e.username ?? null, password: e.password ?? null, tls },
      id,
      site: input.site ?? null,
      leaseMs,
      quorum,
      writesWithoutEtcd: input.writesWithoutEtcd ?? FLEET_DEFAULTS.writesWithoutEtcd,
    },
  };
}
