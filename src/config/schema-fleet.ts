// The `fleet:` block: several routers sharing drains, dials and the write region through etcd.
// Absent, a router works alone exactly as before. Every key here takes a restart to change: the
// fleet member is built once at start (its lease, watch and election cannot be re-pointed live).
import { dur, list, obj } from './schema-types.js';

const tlsFields = {
  ca: {
    type: { kind: 'string', minLength: 1 },
    required: true,
    doc: "PEM file with the CA that signed etcd's server certificate; a relative path is relative to this config file.",
  },
  cert: {
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: 'none',
    doc: 'PEM client certificate for mutual TLS (with `fleet.etcd.tls.key`).',
  },
  key: {
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: 'none',
    doc: 'PEM private key of the client certificate (with `fleet.etcd.tls.cert`).',
  },
} as const;

const etcdFields = {
  endpoints: {
    type: list({ kind: 'url' }, { minItems: 1, unique: true }),
    required: true,
    doc: 'etcd client URLs (`http://host:2379` or `https://…`, not mixed), one per etcd member.',
    see: 'Run 3 or 5 etcd members in production (docs/fleet.md).',
  },
  prefix: {
    type: { kind: 'string', minLength: 2 },
    default: '/meridian/',
    doc: 'Every key of this fleet lives under this prefix (a `/` is appended when missing); routers with the same prefix form one fleet.',
  },
  username: {
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: 'none',
    doc: 'etcd user (with `fleet.etcd.password`), usually `${ETCD_USER}`.',
  },
  password: {
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: 'none',
    doc: 'Password of `fleet.etcd.username`, usually `${ETCD_PASSWORD}`.',
  },
  tls: {
    type: obj(tlsFields),
    nullable: true,
    defaultText: 'none (plain http)',
    doc: 'TLS to etcd (use `https://` endpoints).',
  },
} as const;

export const fleetFields = {
  etcd: { type: obj(etcdFields), required: true, doc: 'Where the fleet keeps its shared state: the etcd cluster.' },
  id: {
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: '`<hostname>-<pid>`',
    doc: 'Unique name of this router in the fleet (letters, digits, `.`, `_`, `:`, `-`).',
    see: 'Two routers with the same id would share one membership key: give each its own.',
  },
  site: {
    type: { kind: 'string', minLength: 1 },
    nullable: true,
    defaultText: 'none',
    doc: 'Where this router runs (shown in `GET /admin/fleet` and `meridian fleet status`).',
  },
  lease: {
    type: dur(1),
    default: '10s',
    doc: 'Membership lease TTL: a router that dies leaves the fleet after this, and a cut-off router stops writes after 2/3 of it.',
    see: 'At least 1s (etcd leases are whole seconds). Shorter means faster takeover and more keep-alive traffic.',
  },
  quorum: {
    type: { kind: 'quorum' },
    default: 'majority',
    doc: 'How many live routers must see the write region down before the leader fails writes over: `majority` or an integer.',
    see: 'With an integer above the number of live routers, writes never fail over automatically.',
  },
  writesWithoutEtcd: {
    type: { kind: 'enum', values: ['stop', 'continue'] },
    default: 'stop',
    doc: '`stop`: a router cut off from etcd stops sending `primary` requests before its lease could expire (503 `fleet-unavailable`); `continue`: it keeps writing to the last write region it knew.',
    see: '`continue` is available rather than safe: two regions may take writes while the fleet moves them.',
  },
} as const;
