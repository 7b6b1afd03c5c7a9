// The retry loop's decisions, apart from the I/O that drives them: select a target, forward, and on
// a failure classify it (src/failure.ts) and ask `mayRetry` whether to select again — bounded by
// `retry.attempts` tries and, in the exchange, by the retry budget. Pure except for RoundRobin's
// position, which is what it is for.
import type { UpstreamFailureKind } from '../failure.js';
import type { Decision, HealthView, RetryConfig, Snapshot } from '../types.js';

/** Where one attempt goes. */
export interface Target {
  readonly region: string;
  readonly endpoint: string;
}

/** Picks an endpoint of a region from a list, skipping the ones a request already tried. */
export interface EndpointPicker {
  pick(region: string, list: readonly string[], tried: ReadonlySet<string>): string | null;
}

/** Round robin per region: each pick starts one further along than the region's previous pick. */
export class RoundRobin implements EndpointPicker {
  private readonly next = new Map<string, number>();

  pick(region: string, list: readonly string[], tried: ReadonlySet<string>): string | null {
    const n = list.length;
    if (n === 0) return null;
    const start = this.next.get(region) ?? 0;
    this.next.set(region, start + 1);
    for (let i = 0; i < n; i++) {
      const ep = list[(start + i) % n]!;
      if (!tried.has(ep)) return ep;
    }
    return null;
  }
}

/**
 * An untried endpoint of `region` the health view allows; under `allDown: try` (`anyState`), when
 * it allows none, any configured endpoint of the region.
 */
export function pickEndpoint(
  picker: EndpointPicker,
  snap: Snapshot,
  view: HealthView,
  region: string,
  tried: ReadonlySet<string>,
  anyState: boolean,
): string | null {
  let list = view.availableEndpoints(region);
  if (list.length === 0 && anyState) list = snap.regionByName.get(region)?.endpoints ?? [];
  return picker.pick(region, list, tried);
}

/**
 * Where to send the request next: an untried endpoint of `from`'s region, else of the next
 * candidate region in decision order — only regions available now (health can change while a body
 * is buffered or an attempt runs), except under `allDown: try`.
 */
export function selectTarget(
  picker: EndpointPicker,
  snap: Snapshot,
  view: HealthView,
  d: Decision,
  from: string,
  tried: ReadonlySet<string>,
): Target | null {
  const anyState = d.reason === 'all-down';
  const list = d.candidates;
  for (let i = Math.max(0, list.indexOf(from)); i < list.length; i++) {
    const region = list[i]!;
    if (!anyState && !view.isAvailable(region)) continue;
    const endpoint = pickEndpoint(picker, snap, view, region, tried, anyState);
    if (endpoint) return { region, endpoint };
  }
  return null;
}

/** What the exchange knows when an attempt has failed. */
export interface RetryState {
  /** Tries made so far, the failed one included. */
  readonly attempts: number;
  /** GET, HEAD, OPTIONS, PUT, DELETE, TRACE: safe to send twice. */
  readonly idempotent: boolean;
  /** The body can be sent again (it was buffered, or there is none). */
  readonly replayable: boolean;
  /** Something went to the client already, or the client went away. */
  readonly answered: boolean;
}

/**
 * Whether to select again after a failed attempt (`kind` as counted against the endpoint):
 * - never once something went to the client, when the body cannot be resent, or with no tries left;
 * - a retryable status (the caller checked `retry.on` lists it): the upstream processed the
 *   request, so only an idempotent one goes again;
 * - a failure: when `retry.on` retries its kind (`connect` covers resets and bad responses too),
 *   and the request is idempotent or nothing of it left this host (`notSent`) — a POST is replayed
 *   only then, since otherwise the upstream may have applied it.
 */
export function mayRetry(policy: RetryConfig, kind: UpstreamFailureKind, notSent: boolean, s: RetryState): boolean {
  if (s.answered || !s.replayable || s.attempts >= policy.attempts) return false;
  if (kind === 'status') return s.idempotent;
  const allowed = kind === 'timeout' ? policy.onTimeout : policy.onConnect;
  return allowed && (s.idempotent || notSent);
}

/** Whether this upstream status is one `retry.on` lists. */
export function isRetryableStatus(policy: RetryConfig, status: number): boolean {
  return policy.onStatuses.has(status);
}
