// Passing an upstream response on to the client: its status and header block (hop-by-hop fields
// dropped, Meridian's own fields added), then its body with backpressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isHopByHop } from './headers.js';

/**
 * Write the status line and header block, with x-meridian-region/-reason unless `region` is null
 * (the config turns them off) and `cookie` (the read-your-writes mark) as a Set-Cookie. Throws what Node throws for a header it refuses to send
 * (invalid characters that slipped past the parser); the response is then left without headers so
 * an error answer can still be written.
 *
 * The block is built once as [name, value, ...] and handed to writeHead, which validates and
 * serialises it in one go; appendHeader per field first built Node's header map and then
 * serialised that (docs/profile.md). Repeated fields (Set-Cookie) stay separate lines.
 */
export function writeHead(
  res: ServerResponse,
  proxyRes: IncomingMessage,
  status: number,
  region: string | null,
  reason: string,
  cookie: string | null,
): void {
  try {
    const raw = proxyRes.rawHeaders;
    const ours = region !== null;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (isHopByHop(name)) continue;
      // Our own x-meridian-* replace a backend's.
      if (ours && (name === 'x-meridian-region' || name === 'x-meridian-reason')) continue;
      out.push(raw[i]!, raw[i + 1]!);
    }
    if (ours) out.push('x-meridian-region', region, 'x-meridian-reason', reason);
    if (cookie !== null) out.push('set-cookie', cookie);
    if (res.getHeaderNames().length === 0) {
      res.writeHead(status, out);
    } else {
      // Something already set a header (`connection: close` while shutting down); writeHead would
      // setHeader() each pair, and repeated fields would replace each other.
      for (let i = 0; i < out.length; i += 2) res.appendHeader(out[i]!, out[i + 1]!);
      res.writeHead(status);
    }
  } catch (err) {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusMessage = ''; // writeHead set it for `status`; the error answer picks its own
    throw err;
  }
}

/**
 * Relay the body: write each chunk, pause the upstream while the client's buffer is full, end with
 * it; an upstream that fails or dies mid-body cuts the client off, so it sees a truncated response.
 * Four listeners rather than pipe(), which adds and removes seven per response (docs/profile.md).
 */
export function relayBody(proxyRes: IncomingMessage, res: ServerResponse): void {
  const resume = (): void => {
    proxyRes.resume();
  };
  proxyRes.on('data', (chunk: Buffer) => {
    // A client that went away: its close handler destroys the upstream; drop what is still in flight.
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      proxyRes.pause();
      res.once('drain', resume);
    }
  });
  proxyRes.on('end', () => {
    if (!res.destroyed) res.end();
  });
  proxyRes.on('error', () => res.destroy());
  proxyRes.on('close', () => {
    if (!proxyRes.complete) res.destroy();
  });
}
