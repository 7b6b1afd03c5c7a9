// The fleet's metrics and log events (src/fleet/sink.ts) bound to prom-client and pino. The metric
// families are registered only when a fleet is configured, so a router on its own exports none of
// them (an alert on `meridian_fleet_connected == 0` cannot fire for it).
import client from 'prom-client';
import type { FleetEvent, FleetGauge, FleetSink } from '../fleet/sink.js';
import type { Logger } from './logger.js';

const HELP: Readonly<Record<FleetGauge, string>> = {
  meridian_fleet_connected: '1 while this router holds its fleet lease and has read the fleet state, else 0',
  meridian_fleet_members: 'Live fleet members (routers) this router sees',
  meridian_fleet_leader: '1 on the fleet leader, else 0',
  meridian_write_epoch: 'Epoch of the write region this router knows (the x-meridian-write-epoch fencing token)',
};

const MESSAGES: Readonly<Record<FleetEvent['event'], string>> = {
  'fleet-connected': 'connected to the fleet',
  'fleet-disconnected': 'cut off from the fleet',
  'fleet-member-joined': 'a router joined the fleet',
  'fleet-member-left': 'a router left the fleet',
  'fleet-leader': 'the fleet has a new leader',
  'write-handover-start': 'write handover started',
  'write-handover-done': 'write handover done: the new write region takes writes',
};

export function fleetSink(registry: client.Registry, logger: Logger): FleetSink {
  const gauges = new Map<FleetGauge, client.Gauge>();
  for (const [name, help] of Object.entries(HELP) as [FleetGauge, string][]) {
    const g = new client.Gauge({ name, help, registers: [registry] });
    g.set(0);
    gauges.set(name, g);
  }
  const handover = new client.Histogram({
    name: 'meridian_write_handover_seconds',
    help: 'Write handovers observed by the leader, from start to the new region active',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  return {
    gauge: (name, value) => gauges.get(name)?.set(value),
    handoverSeconds: (s) => handover.observe(s),
    event: (e) => {
      const warn = e.event === 'fleet-disconnected' || e.event === 'write-handover-start';
      (warn ? logger.warn : logger.info).call(logger, { ...e }, MESSAGES[e.event]);
    },
  };
}
