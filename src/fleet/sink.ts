// How the fleet reports: metric values and log events go through this interface, so the protocol code
// knows nothing of prom-client or pino. The router binds it to its metrics registry and logger; the
// names here are the exported metric names and the `event` field of the log lines.

export type FleetGauge =
  /** 1 while this router holds a live lease and has read the fleet state. */
  | 'meridian_fleet_connected'
  /** Live members (membership keys) this router sees. */
  | 'meridian_fleet_members'
  /** 1 on the leader. */
  | 'meridian_fleet_leader'
  /** The epoch of the write region this router knows. */
  | 'meridian_write_epoch';

export type FleetEvent =
  | { readonly event: 'fleet-connected'; readonly revision: number }
  | { readonly event: 'fleet-disconnected'; readonly reason: string }
  | { readonly event: 'fleet-member-joined'; readonly member: string; readonly site: string | null }
  | { readonly event: 'fleet-member-left'; readonly member: string }
  | { readonly event: 'fleet-leader'; readonly leader: string | null; readonly self: boolean }
  | {
      readonly event: 'write-handover-start';
      readonly from: string | null;
      readonly to: string;
      readonly epoch: number;
      readonly why: string | null;
    }
  | { readonly event: 'write-handover-done'; readonly region: string; readonly epoch: number };

export interface FleetSink {
  gauge(name: FleetGauge, value: number): void;
  /** meridian_write_handover_seconds (histogram): observed by the leader, handover start to active. */
  handoverSeconds(seconds: number): void;
  event(e: FleetEvent): void;
}
