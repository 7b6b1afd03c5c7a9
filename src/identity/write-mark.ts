// Read-your-writes cookie: records the region that answered a write and when. It is
// signed (HMAC-SHA256) so a client cannot forge one to pin its reads on a region of its choice.
//
// Value: `v1.<region>.<at>.<sig>`
//   region  encodeURIComponent(region name) — identity for usual names; may contain dots, so the
//           value is parsed from the right
//   at      epoch ms in base 36
//   sig     base64url HMAC-SHA256 over `v1.<region>.<at>` (exactly as it appears in the value)
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { WriteMark } from '../types.js';

export interface WriteMarkCodec {
  /** Cookie value recording a write answered by `region` at `atMs`. */
  sign(region: string, atMs: number): string;
  /**
   * The mark in `value` if it is well-formed, correctly signed, not older than `windowMs` and not
   * dated in the future beyond a small clock skew; else null. Never throws.
   */
  verify(value: string | undefined, nowMs: number, windowMs: number): WriteMark | null;
}

const PREFIX = 'v1.';
/** Routers of one fleet can disagree on the time a little; more than this is a forged or broken clock. */
export const WRITE_MARK_MAX_SKEW_MS = 5_000;
/** Longer values are garbage; refuse before hashing. */
const MAX_VALUE_LENGTH = 512;
const SIG_BYTES = 32;
const AT_RE = /^[0-9a-z]{1,11}$/;
const SIG_RE = /^[A-Za-z0-9_-]{43}$/;

/** 32 random bytes, base64url: a fresh HMAC key when the config gives none. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function createWriteMarkCodec(secret: string | Buffer): WriteMarkCodec {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length === 0) throw new Error('read-your-writes secret must not be empty');

  const mac = (payload: string): Buffer => createHmac('sha256', key).update(payload).digest();

  return {
    sign(region: string, atMs: number): string {
      const at = Math.max(0, Math.floor(atMs));
      const payload = `${PREFIX}${encodeURIComponent(region)}.${at.toString(36)}`;
      return `${payload}.${mac(payload).toString('base64url')}`;
    },

    verify(value: string | undefined, nowMs: number, windowMs: number): WriteMark | null {
      if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH || !value.startsWith(PREFIX)) return null;
      const sigDot = value.lastIndexOf('.');
      if (sigDot <= PREFIX.length) return null;
      const atDot = value.lastIndexOf('.', sigDot - 1);
      if (atDot <= PREFIX.length) return null; // also requires a non-empty region
      const sigText = value.slice(sigDot + 1);
      const atText = value.slice(atDot + 1, sigDot);
      if (!SIG_RE.test(sigText) || !AT_RE.test(atText)) return null;
      const given = Buffer.from(sigText, 'base64url');
      const expected = mac(value.slice(0, sigDot));
      if (given.length !== SIG_BYTES || !timingSafeEqual(given, expected)) return null;
      const at = parseInt(atText, 36);
      if (!Number.isSafeInteger(at)) return null;
      if (nowMs - at > windowMs) return null;
      if (at - nowMs > WRITE_MARK_MAX_SKEW_MS) return null;
      let region: string;
      try {
        region = decodeURIComponent(value.slice(PREFIX.length, atDot));
      } catch {
        return null;
      }
      if (region.length === 0) return null;
      return { region, at };
    },
  };
}
