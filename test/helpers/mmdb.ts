// A minimal MaxMind DB (.mmdb) writer for tests, so a test can make exactly the database it needs:
// a City or Country database, a chosen build date, a replacement with other answers. No npm package
// writes this format (MaxMind's own writers are Go and, deprecated, Perl), and the format is small:
// https://maxmind.github.io/MaxMind-DB/ — a binary search tree over the address bits whose leaves
// point into a data section of typed values, then a metadata map after a marker.
// Scope: IPv4 databases, 24-bit records, the value types GeoIP records use.
import { writeFileSync } from 'node:fs';

/** Numbers encode as uint32; `{ double: x }`, `{ uint16: n }`, `{ uint32: n }`, `{ uint64: n }` pick a type. */
export type MmdbValue = string | number | boolean | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** `a.b.c.d/len` */
  readonly cidr: string;
  readonly data: { [key: string]: MmdbValue };
}

export interface MmdbOptions {
  readonly databaseType: string; // e.g. GeoLite2-City, GeoLite2-Country
  readonly buildEpoch: Date;
  readonly networks: readonly MmdbNetwork[];
}

const RECORD_BYTES = 3; // 24-bit records

/** The bytes of an .mmdb file holding `networks`. */
export function buildMmdb(opts: MmdbOptions): Buffer {
  // The tree: node i has two records (0 and 1 bits). A record is a node index, `nodeCount` for "no
  // data", or nodeCount + 16 + offset into the data section.
  const nodes: [number | Leaf, number | Leaf][] = [[EMPTY, EMPTY]];
  const data: Buffer[] = [];
  let dataSize = 0;
  for (const net of opts.networks) {
    const [addr, lenText] = net.cidr.split('/');
    const bits = ipv4Bits(addr ?? '');
    const len = Number(lenText ?? 32);
    const encoded = encode(net.data);
    const leaf: Leaf = { offset: dataSize };
    data.push(encoded);
    dataSize += encoded.length;
    let node = 0;
    for (let depth = 0; depth < len; depth++) {
      const bit = bits[depth]!;
      if (depth === len - 1) {
        nodes[node]![bit] = leaf;
        break;
      }
      const next = nodes[node]![bit];
      if (typeof next === 'number' && next !== EMPTY_INDEX) {
        node = next;
      } else {
        nodes.push([EMPTY, EMPTY]);
        nodes[node]![bit] = nodes.length - 1;
        node = nodes.length - 1;
      }
    }
  }
  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * RECORD_BYTES * 2);
  nodes.forEach(([left, right], i) => {
    writeRecord(tree, i * 6, recordValue(left, nodeCount));
    writeRecord(tree, i * 6 + 3, recordValue(right, nodeCount));
  });
  const metadata = encode({
    node_count: { uint32: nodeCount },
    record_size: { uint16: 24 },
    ip_version: { uint16: 4 },
    database_type: opts.databaseType,
    languages: ['en'],
    binary_format_major_version: { uint16: 2 },
    binary_format_minor_version: { uint16: 0 },
    build_epoch: { uint64: Math.floor(opts.buildEpoch.getTime() / 1000) },
    description: { en: 'Meridian test database' },
  });
  const marker = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);
  return Buffer.concat([tree, Buffer.alloc(16), ...data, marker, metadata]);
}

/** Write an .mmdb to `file` (replacing it in place). */
export function writeMmdb(file: string, opts: MmdbOptions): void {
  writeFileSync(file, buildMmdb(opts));
}

/** A City database record as GeoIP2 readers expect it. */
export function cityRecord(country: string, lat: number, lon: number, eu = false): { [key: string]: MmdbValue } {
  return {
    country: { iso_code: country, ...(eu ? { is_in_european_union: true } : {}) },
    location: { latitude: { double: lat }, longitude: { double: lon }, accuracy_radius: { uint16: 50 } },
  };
}

/** A Country database record: no location at all. */
export function countryRecord(country: string, eu = false): { [key: string]: MmdbValue } {
  return { country: { iso_code: country, ...(eu ? { is_in_european_union: true } : {}) } };
}

interface Leaf {
  readonly offset: number;
}
const EMPTY_INDEX = -1;
const EMPTY = EMPTY_INDEX;

function recordValue(r: number | Leaf, nodeCount: number): number {
  if (typeof r !== 'number') return nodeCount + 16 + r.offset;
  return r === EMPTY_INDEX ? nodeCount : r;
}

function writeRecord(buf: Buffer, at: number, value: number): void {
  buf[at] = (value >> 16) & 0xff;
  buf[at + 1] = (value >> 8) & 0xff;
  buf[at + 2] = value & 0xff;
}

function ipv4Bits(addr: string): number[] {
  const bits: number[] = [];
  for (const part of addr.split('.')) {
    const n = Number(part);
    for (let i = 7; i >= 0; i--) bits.push((n >> i) & 1);
  }
  return bits;
}

// ---- the data section's encoding

const TYPE = { utf8: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 } as const;

function control(type: number, size: number): Buffer {
  const head: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    extra.push(size - 29);
  } else {
    sizeBits = 30;
    const s = size - 285;
    extra.push((s >> 8) & 0xff, s & 0xff);
  }
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...extra]);
}

function uintBytes(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return Buffer.from(out);
}

function encode(v: unknown): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([control(TYPE.utf8, b.length), b]);
  }
  if (typeof v === 'boolean') return control(TYPE.boolean, v ? 1 : 0);
  if (typeof v === 'number') return encode({ uint32: v });
  if (Array.isArray(v)) return Buffer.concat([control(TYPE.array, v.length), ...v.map(encode)]);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === 'double') {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(Number(o['double']));
      return Buffer.concat([control(TYPE.double, 8), b]);
    }
    if (keys.length === 1 && (keys[0] === 'uint16' || keys[0] === 'uint32' || keys[0] === 'uint64')) {
      const b = uintBytes(o[keys[0]] as number);
      return Buffer.concat([control(TYPE[keys[0]], b.length), b]);
    }
    return Buffer.concat([control(TYPE.map, keys.length), ...keys.flatMap((k) => [encode(k), encode(o[k])])]);
  }
  throw new Error(`cannot encode ${String(v)}`);
}
