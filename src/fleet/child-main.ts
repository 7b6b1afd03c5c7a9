// The child process that runs a single-process router's FleetMember (started by child.ts).
// Everything that talks to etcd — the gRPC client, its HTTP/2 connection, timers, protobuf
// decoding — lives in this process, so none of it shares a heap, JIT feedback or event loop with
// the request path.
//
// Snapshots: every one sent is held in the member's WorkerSync until the router says it applied it
// ('applied', with the regions it has primary requests in flight to), so a handover acknowledgement
// never runs ahead of the snapshot that began the handover nor of a request admitted under the one
// before (the same rule as for cluster workers, member-parts.ts; child.ts says more).
//
// Signals meant for the router's process group (Ctrl-C, SIGTERM to the group, SIGHUP) are the
// router's to act on: it tells this process to leave. When the router is gone (the IPC channel
// closed) this process exits without revoking its lease (child.ts says why).
import { FleetMember } from './member.js';
import type { SharedSnapshot } from './shared-state.js';
import type { CallName, FromMember, ToMember } from './child-protocol.js';

if (!process.send) throw new Error('child-main.ts runs as the fleet member process of a router (see child.ts)');
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);
process.on('disconnect', () => process.exit(0));
const post = (m: FromMember): void => void process.send?.(m);

let member: FleetMember | null = null;
let posted = 0;
let applied = 0;
/** Regions the router has primary requests in flight to, as it last said. */
let busy = new Set<string>();

function send(snap: SharedSnapshot): void {
  if (posted === applied) member?.workerSync(true);
  post({ t: 'snap', seq: ++posted, snap });
}

function call(m: FleetMember, name: CallName, a: readonly unknown[]): unknown {
  const region = a[0] as string;
  switch (name) {
    case 'start':
      return m.start();
    case 'status':
      return m.status();
    case 'close':
      return m.close();
    case 'drain':
      return m.drain(region);
    case 'undrain':
      return m.undrain(region);
    case 'setDial':
      return m.setDial(region, a[1] as number);
    case 'evacuate':
      return m.evacuate(region, a[1] as number, a[2] as number | undefined);
    case 'setWriteRegion':
      return m.setWriteRegion(region);
    case 'ensureReadYourWritesKey':
      return m.ensureReadYourWritesKey(region);
  }
}

process.on('message', (m: ToMember) => {
  if (m.t === 'init') {
    if (member !== null) return;
    member = new FleetMember({
      ...m.init,
      sink: {
        gauge: (name, value) => post({ t: 'gauge', name, value }),
        handoverSeconds: (seconds) => post({ t: 'handover', seconds }),
        event: (e) => post({ t: 'event', e }),
      },
      onFenced: () => post({ t: 'fenced' }),
    });
    member.onChange(send);
    send(member.snapshot());
    return;
  }
  const mm = member;
  if (mm === null) return; // 'init' is always the first message
  switch (m.t) {
    case 'call':
      Promise.resolve()
        .then(() => call(mm, m.name, m.args))
        .then(
          (value) => post({ t: 'result', id: m.id, ok: true, value }),
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            post({ t: 'result', id: m.id, ok: false, name: e.name, message: e.message });
          },
        );
      return;
    case 'view':
      mm.publishView(m.regions);
      return;
    case 'idle':
      if (busy.delete(m.region)) mm.endPrimary(m.region);
      return;
    case 'applied': {
      // the router's busy regions as of this snapshot: the member counts each as one request
      const now = new Set(m.busy);
      for (const r of now) if (!busy.has(r)) mm.beginPrimary(r);
      for (const r of busy) if (!now.has(r)) mm.endPrimary(r);
      busy = now;
      if (m.seq <= applied) return;
      applied = m.seq;
      if (applied === posted) mm.workerSync(false);
      return;
    }
  }
});
