// What the admin API operates on, implemented by App (one process) and ClusterPrimary (workers: N).
import type { RegionActions } from './steering-routes.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * What the admin API operates on; implemented by App (one process) and ClusterPrimary (workers:
 * N), whose actions resolve once every worker has applied them.
 */
export interface AdminTarget extends RegionActions {
  ready(): { ready: boolean; detail: unknown };
  metricsText(): Promise<{ contentType: string; body: string }>;
  state(): unknown;
  explain(params: URLSearchParams): MaybePromise<unknown>;
  drain(region: string): MaybePromise<boolean>;
  undrain(region: string): MaybePromise<boolean>;
  setWriteRegion(region: string): MaybePromise<{ ok: true } | { ok: false; status: number; reason: string }>;
  reload(): MaybePromise<{ ok: true } | { ok: false; errors: string[] }>;
  /** GET /admin/fleet: `{"enabled": false}` without a fleet. */
  fleet(): MaybePromise<unknown>;
  token(): string | null;
}
