import http from 'node:http';
import https from 'node:https';

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
 * Idle keep-alive sockets are closed after this long: below the 5 s keepAliveTimeout of a default
 * Node backend (and nginx's 75 s), so the router does not write a request onto a socket the
 * backend is closing at the same moment.
 */
export const UPSTREAM_IDLE_MS = 4_000;

/**
 * One keep-alive agent per endpoint URL (PITFALLS: without one http-proxy opens a connection
 * per request). Agents survive reloads for endpoints that did not change.
 */
export class AgentPool {
  private readonly agents = new Map<string, { target: EndpointTarget; agent: http.Agent }>();

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
      const opts: http.AgentOptions = { keepAlive: true, maxFreeSockets: 256, timeout: UPSTREAM_IDLE_MS };
      const agent = protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
      entry = { target, agent };
      this.agents.set(url, entry);
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
    for (const entry of this.agents.values()) entry.agent.destroy();
    this.agents.clear();
  }
}
