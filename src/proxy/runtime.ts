import type { Clock } from '../clock.js';
import { ClientIpMemo, compileTrustedProxies, type TrustedProxies } from '../identity/client-ip.js';
import { createWriteMarkCodec, generateSecret, type WriteMarkCodec } from '../identity/write-mark.js';
import type { Logger } from '../observability/logger.js';
import type { Decision, HealthView, Snapshot } from '../types.js';
import { RetryBudget } from './retry-budget.js';

/** What the request path needs from the health layer (the store, or a cluster worker's copy). */
export interface HealthPort {
  view(): HealthView;
  reportResult(endpoint: string, ok: boolean, kind?: string): void;
}

/** Everything derived from one config snapshot; swapped whole on reload. */
export interface Runtime {
  readonly snap: Snapshot;
  readonly trusted: TrustedProxies;
  /** Client-IP walks and peer trust remembered for `trusted` (one per snapshot, so never stale). */
  readonly ips: ClientIpMemo;
  readonly budget: RetryBudget;
  readonly marks: WriteMarkCodec | null;
  /** Precomputed Set-Cookie attributes per route with read-your-writes. */
  readonly markCookieSuffix: ReadonlyMap<string, string>;
  /** What backends are told the client spoke (`x-forwarded-proto`). */
  readonly proto: 'http' | 'https';
}

/**
 * Builds the request path's Runtime for each config snapshot, keeping what must outlive a reload:
 * the retry budget's window (a reload must not reset the storm guard) and the read-your-writes key
 * made at start when the config names none. A cluster primary makes that key and hands it to every
 * worker (`sharedSecret`), so a cookie signed by one worker verifies in all of them.
 */
export class RuntimeBuilder {
  private generatedSecret: string | null;
  private budget: RetryBudget | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    sharedSecret: string | null = null,
  ) {
    this.generatedSecret = sharedSecret;
  }

  /** The key used when the config has no `readYourWrites.secret` (made on first need). */
  secretFor(snap: Snapshot): string | null {
    if (snap.readYourWrites.secret !== null) return snap.readYourWrites.secret;
    if (!snap.routes.some((r) => r.readYourWritesMs > 0)) return null;
    if (this.generatedSecret === null) {
      this.generatedSecret = generateSecret();
      this.logger.info(
        { event: 'ryw-secret-generated' },
        'readYourWrites.secret is not set: generated a random key for this process; set the same secret on every router or their read-your-writes cookies will not verify on each other',
      );
    }
    return this.generatedSecret;
  }

  /** Sign with `secret` from now on when the config names none (a fleet agreed on one key for all routers). */
  adoptSecret(secret: string): void {
    this.generatedSecret = secret;
  }

  build(snap: Snapshot): Runtime {
    const usesMarks = snap.routes.some((r) => r.readYourWritesMs > 0);
    const secret = this.secretFor(snap);
    const markCookieSuffix = new Map<string, string>();
    for (const r of snap.routes) {
      if (r.readYourWritesMs > 0)
        markCookieSuffix.set(r.name, `; Path=/; Max-Age=${Math.ceil(r.readYourWritesMs / 1000)}; HttpOnly; SameSite=Lax`);
    }
    if (this.budget) this.budget.configure(snap.retry);
    else this.budget = new RetryBudget(snap.retry, this.clock);
    const trusted = compileTrustedProxies(snap.trustedProxies);
    return {
      snap,
      trusted,
      ips: new ClientIpMemo(trusted),
      budget: this.budget,
      marks: usesMarks && secret !== null ? createWriteMarkCodec(secret) : null,
      markCookieSuffix,
      proto: snap.tls ? 'https' : 'http',
    };
  }
}

/** The read-your-writes Set-Cookie for a response: only a write that succeeded pins the client's reads (a refused one, 4xx, changed nothing). */
export function markCookie(rt: Runtime, d: Decision, region: string, status: number, clock: Clock): string | null {
  const route = d.route;
  if (route === null || d.kind !== 'write' || status >= 400 || rt.marks === null) return null;
  const suffix = rt.markCookieSuffix.get(route.name);
  if (!suffix) return null;
  return `${rt.snap.readYourWrites.cookie}=${rt.marks.sign(region, clock.now())}${suffix}`;
}
