// The request path's front: for each request (or upgrade) the client's facts, one health view, and
// the decision; then an Exchange (exchange.ts) or the upgrade path (upgrade.ts) carries it out.
// Everything they share is built once by the wiring (wiring.ts) and handed over as ExchangeDeps.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import { buildFacts } from '../identity/facts.js';
import type { GeoLookup } from '../identity/geoip.js';
import { decide } from '../routing/decide.js';
import type { RequestFacts } from '../types.js';
import type { AgentPool } from './agents.js';
import { Exchange, type ExchangeDeps } from './exchange.js';
import type { Runtime } from './runtime.js';
import type { SharedGate } from './shared-gate.js';
import { Upgrades } from './upgrade.js';

export class Router {
  private readonly upgrades: Upgrades;
  private rt: Runtime;
  /** Told of every new runtime (the listener applies its limits). */
  onSwap: ((runtime: Runtime) => void) | null = null;

  constructor(
    runtime: Runtime,
    private readonly deps: ExchangeDeps,
    private readonly agents: AgentPool,
    private readonly geo: GeoLookup,
    private readonly clock: Clock,
    private readonly shared: SharedGate,
  ) {
    this.rt = runtime;
    agents.configure(runtime.snap.limits.upstreamMaxSockets);
    this.upgrades = new Upgrades(deps);
  }

  /** The runtime requests start with now (explain answers from it too). */
  get runtime(): Runtime {
    return this.rt;
  }

  swap(runtime: Runtime): void {
    this.rt = runtime;
    this.agents.retain(new Set(runtime.snap.regions.flatMap((r) => r.endpoints)));
    this.agents.configure(runtime.snap.limits.upstreamMaxSockets);
    this.onSwap?.(runtime);
  }

  close(): void {
    this.upgrades.closeAll();
    this.agents.destroy();
    this.deps.forwarder.close();
  }

  /** End every WebSocket (they never end on their own, and a server waits for them). */
  closeTunnels(): void {
    this.upgrades.closeAll();
  }

  private facts(rt: Runtime, req: IncomingMessage, now: number): RequestFacts {
    return buildFacts({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, peer: req.socket.remoteAddress }, rt.snap, {
      geo: this.geo,
      trusted: rt.trusted,
      ips: rt.ips,
      marks: rt.marks,
      now,
      rand: Math.random(),
    });
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.rt;
    const now = this.clock.now();
    const started = performance.now();
    const facts = this.facts(rt, req, now);
    const s = this.shared.snapshot();
    const base = this.deps.health.view();
    const decided = decide(rt.snap, facts, this.shared.healthView(base, s), now, this.shared.steering(s, rt.snap, now));
    const decision = this.shared.admit(decided, s, base);
    new Exchange(this.deps, rt, req, res, facts, decision, this.shared.ticket(decision, s), started).start();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const rt = this.rt;
    const now = this.clock.now();
    const facts = this.facts(rt, req, now);
    // A WebSocket handshake is a GET: it follows the route's read selector.
    const s = this.shared.snapshot();
    const view = this.deps.health.view();
    const decided = decide(
      rt.snap,
      { ...facts, method: 'GET' },
      this.shared.healthView(view, s),
      now,
      this.shared.steering(s, rt.snap, now),
    );
    const decision = this.shared.admit(decided, s, view);
    this.upgrades.handle(rt, req, socket, head, facts, decision, view, this.shared.ticket(decision, s)?.epoch ?? null);
  }
}
