// The TLS side of the public listener: certificate files read into secure contexts (TLS 1.2 or
// later, HTTP/1.1 by ALPN), one chosen per connection by the client's SNI name, the first when no
// name matches or the client sends none. Re-read on every reload, so a renewed certificate is
// served to new connections without a restart.
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

/** The certificates of one snapshot, and the SNI choice among them. */
export class Certificates {
  private certs: readonly Cert[];

  /** Reads every file now: throws (with the file's error) when one cannot be read or parsed. */
  constructor(pairs: NonNullable<Snapshot['tls']>) {
    this.certs = Certificates.read(pairs);
  }

  private static read(pairs: NonNullable<Snapshot['tls']>): Cert[] {
    return pairs.map((p) => {
      try {
        const cert = readFileSync(p.cert);
        const key = readFileSync(p.key);
        return { names: namesOf(cert), context: tls.createSecureContext({ cert, key, minVersion: MIN_VERSION }), cert, key };
      } catch (err) {
        throw new Error(`tls: certificate ${p.cert} / key ${p.key}: ${(err as Error).message}`, { cause: err });
      }
    });
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
