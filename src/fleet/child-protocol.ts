// Messages between a FleetChild (the router process) and the FleetMember it runs in a child process
// (child-main.ts). Structured-cloned over the IPC channel (`serialization: 'advanced'`), which keeps
// their order: that order is what makes the snapshot acknowledgements safe (see child.ts).
import type { FleetMemberOptions, FleetStatus } from './member.js';
import type { RegionView } from './records.js';
import type { SharedSnapshot, SharedStateActions } from './shared-state.js';
import type { FleetEvent, FleetGauge } from './sink.js';

/** The member's options as data (the sink and the fence callback become messages). */
export type MemberInit = Omit<FleetMemberOptions, 'sink' | 'onFenced' | 'clock' | 'wallClock'>;

/** Member methods the router calls and awaits: the operator actions, and joining, status and leaving. */
export interface MemberCalls extends SharedStateActions {
  start(): Promise<{ synced: boolean }>;
  status(): FleetStatus;
  close(): Promise<void>;
}

export type CallName = keyof MemberCalls;

export type ToMember =
  /** The first message: the member's options. */
  | { readonly t: 'init'; readonly init: MemberInit }
  | { readonly t: 'call'; readonly id: number; readonly name: CallName; readonly args: readonly unknown[] }
  /** This router's probe view of every region. */
  | { readonly t: 'view'; readonly regions: Readonly<Record<string, RegionView>> }
  /** A region the router named busy in its last 'applied' has no primary request in flight now. */
  | { readonly t: 'idle'; readonly region: string }
  /** The router applied snapshot `seq`; `busy`: regions it has primary requests in flight to now. */
  | { readonly t: 'applied'; readonly seq: number; readonly busy: readonly string[] };

export type FromMember =
  | { readonly t: 'snap'; readonly seq: number; readonly snap: SharedSnapshot }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly name: string; readonly message: string }
  | { readonly t: 'gauge'; readonly name: FleetGauge; readonly value: number }
  | { readonly t: 'handover'; readonly seconds: number }
  | { readonly t: 'event'; readonly e: FleetEvent }
  /** The member fenced itself: the router cuts its open primary requests. */
  | { readonly t: 'fenced' };
