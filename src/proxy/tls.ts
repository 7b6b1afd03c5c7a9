// The TLS side of the public listener: certificate files read into secure contexts (TLS 1.2 or
// later, HTTP/1.1 by ALPN), one chosen per connection by the client's SNI name, the first when no
// name matches or the client sends none. Re-read on every reload, so a renewed certificate is
// served to new connections without a restart; a reload that finds one it cannot use fails whole
// (reload.ts) and the ones in use stay.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import tls from 'node:tls';
import type { Snapshot } from '../types.js';

const MIN_VERSION = 'TLSv1.2';

interface Cert {
  readonly names: readonly string[];
  readonly context: tls.SecureContext;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** DNS names a certificate is for: its subjectAltName DNS entries, else its subject CN, lower-cased. */
function namesOf(pem: Buffer): string[] {
  const x = new X509Certificate(pem);
  const alt = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (alt.length > 0) return alt;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject);
  return cn ? [cn[1]!.toLowerCase()] : [];
}

function matches(name: string, pattern: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/** Reads one pair, or throws saying which file is wrong and why. */
function readPair(p: { readonly cert: string; readonly key: string }): Cert {
  const cert = readOrThrow(p.cert, 'certificate');
  const key = readOrThrow(p.key, 'key');
  let names: string[];
  try {
    names = namesOf(cert);
  } catch (err) {
    throw new Error(`tls: certificate ${p.cert}: not a PEM certificate (${(err as Error).message})`, { cause: err });
  }
  try {
    return { names, context: tls.createSecureContext({ cert, key, minVersion: MIN_VERSION }), cert, key };
  } catch (err) {
    // OpenSSL's reason: a key that is not PEM, or one that does not belong to the certificate
    throw new Error(`tls: key ${p.key} (for certificate ${p.cert}): ${(err as Error).message}`, { cause: err });
  }
}

function readOrThrow(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`tls: cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Why the certificate files of a snapshot cannot be served, one line per pair that fails; empty
 * when they all can. A reload checks them before it changes anything, so it fails whole rather
 * than leaving the listener on certificates its config no longer names.
 */
export function certificateProblems(pairs: Snapshot['tls']): string[] {
  const problems: string[] = [];
  for (const p of pairs ?? []) {
    try {
      readPair(p);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

/** The certificates of one snapshot, and the SNI choice among them. */
export class Certificates {
  private certs: readonly Cert[];

  /** Reads every file now: throws (with the file's error) when one cannot be read or parsed. */
  constructor(pairs: NonNullable<Snapshot['tls']>) {
    this.certs = Certificates.read(pairs);
  }

  private static read(pairs: NonNullable<Snapshot['tls']>): Cert[] {
    return pairs.map(readPair);
  }

  /** Options for https.createServer: the first certificate by default, SNI for the others. */
  serverOptions(): https.ServerOptions {
    const first = this.certs[0]!;
    return {
      cert: first.cert,
      key: first.key,
      minVersion: MIN_VERSION,
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, cb) => cb(null, this.pick(servername)),
    };
  }

  pick(servername: string): tls.SecureContext {
    const name = servername.toLowerCase();
    const hit = this.certs.find((c) => c.names.some((n) => matches(name, n)));
    return (hit ?? this.certs[0]!).context;
  }

  /** Re-read the files of a new snapshot; the server's default context follows the first certificate. */
  reload(server: https.Server, pairs: NonNullable<Snapshot['tls']>): void {
    this.certs = Certificates.read(pairs);
    const first = this.certs[0]!;
    server.setSecureContext({ cert: first.cert, key: first.key, minVersion: MIN_VERSION });
  }
}
