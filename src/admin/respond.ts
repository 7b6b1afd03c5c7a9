// How the admin listener answers: JSON bodies, the catalogue's error answers, and request bodies
// read with a size cap.
import type http from 'node:http';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';

const MAX_BODY = 16 * 1024;

export function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Every admin error answer: the catalogue's status and body (errors.ts). */
export function fail(res: http.ServerResponse, code: ErrorCode, message?: string, extra?: Record<string, unknown>): void {
  const body = errorBody(code, message, extra);
  res.writeHead(ERRORS[code].status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

export function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // Stop reading; the caller answers 413 and closes the connection.
        req.pause();
        req.removeAllListeners('data');
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}
