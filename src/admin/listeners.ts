// The admin listener and, with `admin.metricsListen`, the probe-only one beside it: started and
// stopped together, for the single process and the cluster primary alike.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../proxy/server.js';
import type { Snapshot } from '../types.js';
import { createAdminServer } from './admin.js';
import type { AdminTarget } from './target.js';

const url = (x: AddressInfo): string => `http://${x.family === 'IPv6' ? `[${x.address}]` : x.address}:${x.port}`;

export class AdminListeners {
  readonly admin: http.Server;
  readonly metrics: http.Server | null;

  constructor(target: AdminTarget, snap: Snapshot) {
    this.admin = createAdminServer(target);
    this.metrics = snap.admin.metrics === null ? null : createAdminServer(target, { probesOnly: true });
  }

  /** Listen on admin.listen (and admin.metricsListen); their URLs, for the start-up log line. */
  async listen(snap: Snapshot): Promise<{ admin: string; metrics?: string }> {
    await listenOn(this.admin, snap.admin.host, snap.admin.port);
    const m = snap.admin.metrics;
    if (this.metrics === null || m === null) return { admin: url(this.admin.address() as AddressInfo) };
    await listenOn(this.metrics, m.host, m.port);
    return { admin: url(this.admin.address() as AddressInfo), metrics: url(this.metrics.address() as AddressInfo) };
  }

  async close(): Promise<void> {
    const stop = (s: http.Server): Promise<void> =>
      new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    await Promise.all([stop(this.admin), ...(this.metrics ? [stop(this.metrics)] : [])]);
  }
}
