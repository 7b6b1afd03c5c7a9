// Integration harness for the fleet: a real etcd (test/helpers/etcd.ts) and FleetMembers in this
// process, each talking to etcd through its own TCP relay (test/helpers/tcp-relay.ts) so a test can
// cut one member off. Every member records the events and metric values it reports.
import { resolveFleetConfig, type FleetConfig, type FleetConfigInput } from '../../src/fleet/config.js';
import type { WritePolicy } from '../../src/fleet/decision.js';
import { FleetMember } from '../../src/fleet/member.js';
import type { FleetEvent, FleetGauge, FleetSink } from '../../src/fleet/sink.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';

export class RecordingSink implements FleetSink {
  readonly events: (FleetEvent & { at: number })[] = [];
  readonly gauges = new Map<FleetGauge, number>();
  readonly handovers: number[] = [];
  gauge(name: FleetGauge, value: number): void {
    this.gauges.set(name, value);
  }
  handoverSeconds(seconds: number): void {
    this.handovers.push(seconds);
  }
  event(e: FleetEvent): void {
    this.events.push({ ...e, at: Date.now() });
  }
  count(name: FleetEvent['event']): number {
    return this.events.filter((e) => e.event === name).length;
  }
}

export interface Member {
  readonly id: string;
  readonly member: FleetMember;
  readonly sink: RecordingSink;
  readonly config: FleetConfig;
  /** How often the member told the router to abort its in-flight primary requests. */
  fenced: number;
}

export interface Node extends Member {
  readonly relay: TcpRelay;
}

/** A FleetMember (not started) with a recording sink and a fence counter. */
export function newMember(input: FleetConfigInput, o: { policy?: WritePolicy; requestTimeoutMs?: number } = {}): Member {
  const r = resolveFleetConfig(input);
  if (!r.ok) throw new Error(r.errors.join('; '));
  const sink = new RecordingSink();
  const m: Member = {
    id: r.config.id,
    sink,
    config: r.config,
    fenced: 0,
    member: new FleetMember({
      config: r.config,
      policy: o.policy ?? POLICY,
      requestTimeoutMs: o.requestTimeoutMs ?? 2000,
      version: 'test',
      sink,
      onFenced: () => m.fenced++,
    }),
  };
  return m;
}

export const POLICY: WritePolicy = {
  regions: ['us-east', 'eu-west', 'ap-southeast'],
  failover: 'automatic',
  failback: 'manual',
  maxLagMs: 5000,
  allowUnknownLag: true,
  failbackDelayMs: 0,
};

export interface World {
  readonly etcd: EtcdServer;
  readonly nodes: Node[];
  readonly prefix: string;
  /** Start (and join) one more member through its own relay. */
  add(id: string, o?: { policy?: WritePolicy; quorum?: FleetConfigInput['quorum']; requestTimeoutMs?: number }): Promise<Node>;
  /** Stop everything: members (clean leave), relays, etcd, its data dir. */
  stop(): Promise<void>;
}

let worldCount = 0;

export async function startWorld(leaseMs = 3000): Promise<World> {
  const etcd = await startEtcd();
  const prefix = `/meridian/test-${process.pid}-${++worldCount}/`;
  const nodes: Node[] = [];
  const add: World['add'] = async (id, o = {}) => {
    const relay = await startTcpRelay(etcd.clientPort);
    // The same object as the member's: its onFenced callback counts on it (a spread copy would not see the count).
    const node: Node = Object.assign(
      newMember({ etcd: { endpoints: [relay.url], prefix }, id, site: 'test', leaseMs, quorum: o.quorum ?? 'majority' }, o),
      { relay },
    );
    nodes.push(node);
    const { synced } = await node.member.start();
    if (!synced) throw new Error(`${id} did not read the fleet state within one lease`);
    return node;
  };
  return {
    etcd,
    nodes,
    prefix,
    add,
    async stop() {
      for (const n of nodes) await n.member.close().catch(() => undefined);
      for (const n of nodes) await n.relay.close();
      await etcd.stop();
    },
  };
}

/** Poll until `fn` is truthy; returns how long it took. Throws naming `what` after `timeoutMs`. */
export async function waitFor(fn: () => unknown, what: string, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (fn()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Everyone up, with lags, as one router's view. */
export function allUp(lagMs: number | null = 100): Record<string, { up: boolean; lagMs: number | null }> {
  return Object.fromEntries(POLICY.regions.map((r) => [r, { up: true, lagMs }]));
}
