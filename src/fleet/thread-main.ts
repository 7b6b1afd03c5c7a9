// The worker thread that runs this router's FleetMember (started by thread.ts). Everything that
// talks to etcd — the gRPC client, its HTTP/2 connection, timers, protobuf decoding — lives in this
// thread's own V8 isolate and event loop, so none of it shares a heap, JIT feedback or event-loop
// turn with the request path.
//
// Snapshots: every one posted is held in the member's WorkerSync until the router's thread says it
// applied it ('applied', with the regions it has primary requests in flight to), so a handover
// acknowledgement never runs ahead of the snapshot that began the handover nor of a request admitted
// under the one before (the same rule as for cluster workers, member-parts.ts; thread.ts says more).
import { parentPort, workerData } from 'node:worker_threads';
import { FleetMember } from './member.js';
import type { SharedSnapshot } from './shared-state.js';
import type { CallName, FromMember, MemberCalls, MemberInit, ToMember } from './thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('thread-main.ts runs as a worker thread (see thread.ts)');
const post = (m: FromMember): void => port.postMessage(m);

const member = new FleetMember({
  ...(workerData as MemberInit),
  sink: {
    gauge: (name, value) => post({ t: 'gauge', name, value }),
    handoverSeconds: (seconds) => post({ t: 'handover', seconds }),
    event: (e) => post({ t: 'event', e }),
  },
  onFenced: () => post({ t: 'fenced' }),
});

let posted = 0;
let applied = 0;
/** Regions the router's thread has primary requests in flight to, as it last said. */
let busy = new Set<string>();
function send(snap: SharedSnapshot): void {
  if (posted === applied) member.workerSync(true);
  post({ t: 'snap', seq: ++posted, snap });
}
member.onChange(send);
send(member.snapshot());

function call(name: CallName, a: readonly unknown[]): unknown {
  const region = a[0] as string;
  switch (name) {
    case 'start':
      return member.start();
    case 'status':
      return member.status();
    case 'close':
      return member.close();
    case 'drain':
      return member.drain(region);
    case 'undrain':
      return member.undrain(region);
    case 'setDial':
      return member.setDial(region, a[1] as number);
    case 'evacuate':
      return member.evacuate(region, a[1] as number, a[2] as number | undefined);
    case 'setWriteRegion':
      return member.setWriteRegion(region);
    case 'ensureReadYourWritesKey':
      return member.ensureReadYourWritesKey(region);
  }
}

port.on('message', (m: ToMember) => {
  switch (m.t) {
    case 'call':
      Promise.resolve()
        .then(() => call(m.name, m.args))
        .then(
          (value) => post({ t: 'result', id: m.id, ok: true, value }),
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            post({ t: 'result', id: m.id, ok: false, name: e.name, message: e.message });
          },
        );
      return;
    case 'view':
      member.publishView(m.regions);
      return;
    case 'primary':
      if (m.busy) member.beginPrimary(m.region);
      else member.endPrimary(m.region);
      return;
    case 'sync':
      member.workerSync(m.hold);
      return;
    case 'idle':
      if (busy.delete(m.region)) member.endPrimary(m.region);
      return;
    case 'applied': {
      // the router thread's busy regions as of this snapshot: the member counts each as one request
      const now = new Set(m.busy);
      for (const r of now) if (!busy.has(r)) member.beginPrimary(r);
      for (const r of busy) if (!now.has(r)) member.endPrimary(r);
      busy = now;
      if (m.seq <= applied) return;
      applied = m.seq;
      if (applied === posted) member.workerSync(false);
      return;
    }
  }
});

// keeps MemberCalls honest: every name it lists is a method of FleetMember
const _calls: MemberCalls = member;
void _calls;
