// A cluster worker: serves traffic with the same Router as the single process, but its health view
// comes from the primary (which probes once for the whole group) and its passive signals go back
// to the primary, which alone decides ejections. Config arrives as text the primary has validated.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { explainQuery } from '../admin/explain.js';
import { systemClock } from '../clock.js';
import { formatConfigError, loadConfigText } from '../config/load.js';
import { openGeo } from '../identity/geo-open.js';
import type { GeoLookup } from '../identity/geoip.js';
import { registerGeoDataAge } from '../observability/geo-metrics.js';
import { flushLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Router, type HealthPort } from '../proxy/router.js';
import { RuntimeBuilder } from '../proxy/runtime.js';
import { closePublicServer, createPublicServer, listenOn } from '../proxy/server.js';
import type { HealthView, Snapshot } from '../types.js';
import { EMPTY_VIEW, viewFromData, type ToPrimary, type ToWorker } from './protocol.js';

/** How often a worker tells the primary its memory use (shown in /admin/state). */
const STATS_INTERVAL_MS = 5_000;

/**
 * The health port of a worker. Success on an endpoint with no failure streak here costs one Set
 * lookup and no message: only failures, and the first success after this worker saw a failure
 * (which ends the streak at the primary), cross the IPC channel.
 */
export class RemoteHealth implements HealthPort {
  private current: HealthView = EMPTY_VIEW;
  private version = 0;
  private readonly failing = new Set<string>();

  constructor(private readonly send: (m: ToPrimary) => void) {}

  view(): HealthView {
    return this.current;
  }

  get viewVersion(): number {
    return this.version;
  }

  /** Apply a view unless it is older than the one in effect (messages may race a restart). */
  apply(version: number, view: HealthView): boolean {
    if (version <= this.version) return false;
    this.version = version;
    this.current = view;
    return true;
  }

  reportResult(endpoint: string, ok: boolean, kind?: string): void {
    if (ok) {
      if (this.failing.size === 0 || !this.failing.delete(endpoint)) return;
      this.send({ t: 'passive', endpoint, ok: true });
      return;
    }
    this.failing.add(endpoint);
    this.send(kind === undefined ? { t: 'passive', endpoint, ok: false } : { t: 'passive', endpoint, ok: false, kind });
  }
}

export function runWorker(logger: Logger): void {
  const send = (m: ToPrimary): void => {
    if (process.connected) process.send?.(m);
  };
  const clock = systemClock;
  const health = new RemoteHealth(send);
  const metrics = new Metrics();
  let geo: GeoLookup | null = null;
  registerGeoDataAge(metrics.registry, () => geo);
  let snap: Snapshot | null = null;
  let configVersion = 0;
  let router: Router | null = null;
  let server: http.Server | null = null;
  let runtimes: RuntimeBuilder | null = null;
  let closing = false;

  const sendStats = (): void => {
    const mem = process.memoryUsage();
    send({ t: 'stats', rss: mem.rss, heapUsed: mem.heapUsed });
  };
  const ack = (): void => send({ t: 'ack', config: configVersion, view: health.viewVersion });

  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    if (server && router && snap) await closePublicServer(server, router, snap.shutdownGraceMs);
    logger.info({ event: 'worker-stopped' }, 'worker stopped');
    flushLogger(logger);
    process.exit(0);
  };

  const applyConfig = async (m: Extract<ToWorker, { t: 'config' }>): Promise<void> => {
    if (m.version <= configVersion) return;
    const loaded = loadConfigText(m.text, m.file);
    if (!loaded.ok) {
      // The primary validated the same text: this can only mean a different environment.
      send({ t: 'config-error', version: m.version, errors: loaded.errors.map(formatConfigError) });
      return;
    }
    const next = loaded.snapshot;
    runtimes ??= new RuntimeBuilder(clock, logger, m.secret);
    const runtime = runtimes.build(next);
    if (router === null) {
      // GeoIP data is opened once, with the first config (a changed path takes a restart).
      geo = (await openGeo(next, logger)).geo;
      router = new Router(runtime, health, geo, metrics, logger, clock);
      server = createPublicServer(router, () => closing);
      snap = next;
      configVersion = m.version;
      // node:cluster hands the listen to the primary, which shares one socket with every worker.
      await listenOn(server, next.listen.host, next.listen.port);
      const a = server.address() as AddressInfo;
      // Versions first: once the primary counts this worker as serving, it knows what it runs.
      ack();
      send({ t: 'listening', url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` });
      sendStats();
      return;
    }
    snap = next;
    configVersion = m.version;
    router.swap(runtime);
    ack();
  };

  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'config':
        applyConfig(m).catch((err: unknown) => {
          logger.fatal({ event: 'worker-start-failed', err }, 'worker could not apply its config');
          flushLogger(logger);
          process.exit(1);
        });
        return;
      case 'view':
        if (health.apply(m.version, viewFromData(m.view))) ack();
        return;
      case 'metrics':
        metrics.registry.getMetricsAsJSON().then(
          (data) => send({ t: 'metrics', id: m.id, data }),
          () => send({ t: 'metrics', id: m.id, data: [] }),
        );
        return;
      case 'explain': {
        let data: unknown;
        try {
          data =
            router && geo
              ? explainQuery(new URLSearchParams(m.params), router.runtime, geo, health.view(), clock.now())
              : { error: 'not_ready' };
        } catch (err) {
          data = { error: 'internal', message: (err as Error).message };
        }
        send({ t: 'explain', id: m.id, data });
        return;
      }
      case 'shutdown':
        void shutdown();
        return;
    }
  });
  send({ t: 'hello' });
  // The primary is gone (killed hard): no one probes or supervises, so stop serving rather than
  // route on a frozen view.
  process.on('disconnect', () => void shutdown());
  // A signal to the whole process group (Ctrl-C, a supervisor's TERM) reaches workers too: they
  // drain like on the primary's request.
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.on('SIGHUP', () => undefined); // reload is the primary's job
  setInterval(sendStats, STATS_INTERVAL_MS).unref();
}
