// Where the request path is put together, for the single process and every cluster worker alike:
// the forwarder, the keep-alive pool, the endpoint picker and the recorder are built once here and
// handed to the Router, which hands them to each exchange; the Router goes to the public listener.
import type http from 'node:http';
import type { Clock } from '../clock.js';
import type { GeoLookup } from '../identity/geoip.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { AgentPool } from './agents.js';
import { Forwarder } from './http-proxy.js';
import { Recorder } from './recorder.js';
import { RoundRobin } from './retry.js';
import { Router } from './router.js';
import type { HealthPort, Runtime } from './runtime.js';
import type { SharedGate } from './shared-gate.js';
import { createPublicServer } from './server.js';

export interface RequestPathEnv {
  readonly health: HealthPort;
  readonly geo: GeoLookup;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** True while shutting down: answers then carry `connection: close`. */
  readonly closing: () => boolean;
  /** Operator and fleet state (dials, the fleet's write region) as the request path reads it. */
  readonly shared: SharedGate;
}

export function buildRequestPath(runtime: Runtime, env: RequestPathEnv): { router: Router; server: http.Server } {
  const pool = new AgentPool();
  const recorder = new Recorder(env.metrics, env.logger);
  const deps = {
    forwarder: new Forwarder(),
    picker: new RoundRobin(),
    pool,
    health: env.health,
    recorder,
    clock: env.clock,
    steering: env.shared.source,
    fence: env.shared,
  };
  const router = new Router(runtime, deps, pool, env.geo, env.clock, env.shared);
  return { router, server: createPublicServer(router, recorder, env.closing) };
}
