import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

/** Where a request goes: a pre-parsed endpoint, so nothing is parsed per request. */
export interface EndpointTarget {
  readonly url: string;
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly host: string;
  readonly port: number;
  /** Base path of the endpoint ('' for none). */
  readonly path: string;
}

/**
 * Idle keep-alive sockets are closed once they have gone unused for IDLE_SWEEPS sweeps IDLE_SWEEP_MS
 * apart: 3–4 s after their last request, below the 5 s keepAliveTimeout of a default Node backend
 * (and nginx's 75 s), so the router does not write a request onto a socket the backend is closing
 * at the same moment.
 *
 * Why a sweep rather than the agent's `timeout` option: that option keeps a timer on every upstream
 * socket, in use or not, which Node re-arms on every read and write and pairs with a per-request
 * 'timeout' listener — about 1 µs of CPU per request (docs/profile.md). The sweep reads only the
 * idle sockets, once a second.
 */
const IDLE_SWEEP_MS = 1_000;
export const IDLE_SWEEPS = 3;

const kLastBytes = Symbol('meridian.lastBytes');
const kIdleSweeps = Symbol('meridian.idleSweeps');
type Swept = Socket & { [kLastBytes]?: number; [kIdleSweeps]?: number };

/**
 * Close the free sockets of `agent` that carried no request since the last IDLE_SWEEPS calls: a
 * socket's bytesWritten grows with every request written to it, so an unchanged count across a
 * sweep means it sat in the free list all along.
 */
export function sweepIdleSockets(agent: http.Agent): number {
  let closed = 0;
  const free = agent.freeSockets;
  for (const name in free) {
    for (const socket of free[name] ?? []) {
      const s = socket as Swept;
      const written = s.bytesWritten;
      if (s[kLastBytes] === written) {
        s[kIdleSweeps] = (s[kIdleSweeps] ?? 0) + 1;
        if (s[kIdleSweeps] >= IDLE_SWEEPS) {
          s.destroy(); // the agent drops a destroyed socket from its free list
          closed++;
        }
      } else {
        s[kLastBytes] = written;
        s[kIdleSweeps] = 0;
      }
    }
  }
  return closed;
}

/**
 * One keep-alive agent per endpoint URL: without an agent http-proxy sends `connection: close` and
 * opens a connection per request. Agents survive reloads for endpoints that did not change.
 */
export class AgentPool {
  private readonly agents = new Map<string, { target: EndpointTarget; agent: http.Agent }>();
  private sweeper: NodeJS.Timeout | null = null;
  private maxSockets = Infinity;

  /** limits.upstreamMaxSockets: connections open at once to one endpoint (existing agents too). */
  configure(maxSockets: number): void {
    this.maxSockets = maxSockets;
    for (const e of this.agents.values()) e.agent.maxSockets = maxSockets;
  }

  get(url: string): { target: EndpointTarget; agent: http.Agent } {
    let entry = this.agents.get(url);
    if (!entry) {
      const u = new URL(url);
      const protocol = u.protocol === 'https:' ? 'https:' : 'http:';
      const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      const port = u.port ? Number(u.port) : protocol === 'https:' ? 443 : 80;
      const target: EndpointTarget = {
        url,
        protocol,
        hostname,
        host: hostname,
        port,
        path: u.pathname === '/' ? '' : u.pathname.replace(/\/$/, ''),
      };
      const opts: http.AgentOptions = { keepAlive: true, maxFreeSockets: 256, maxSockets: this.maxSockets };
      const agent = protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
      entry = { target, agent };
      this.agents.set(url, entry);
      if (this.sweeper === null) {
        this.sweeper = setInterval(() => {
          for (const e of this.agents.values()) sweepIdleSockets(e.agent);
        }, IDLE_SWEEP_MS);
        this.sweeper.unref();
      }
    }
    return entry;
  }

  /** Drop agents of endpoints no longer configured. */
  retain(urls: ReadonlySet<string>): void {
    for (const [url, entry] of this.agents) {
      if (!urls.has(url)) {
        entry.agent.destroy();
        this.agents.delete(url);
      }
    }
  }

  destroy(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const entry of this.agents.values()) entry.agent.destroy();
    this.agents.clear();
  }
}
