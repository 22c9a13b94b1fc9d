import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Route } from '../web/route.js';
import type { Metrics } from './metrics.js';

export interface HealthSource {
  /** The daemon's supervisor completed a tick recently: every duty it found due ran (the store answered). */
  healthy(): boolean;
  /** Ready to take work: started, not draining, at least one usable session. */
  ready(): { ok: boolean; why?: string };
}

/** The address was validated with the settings (src/config.ts); this only takes it apart. */
export function parseHostPort(text: string): { host: string; port: number } {
  const parsed = hostPort(text);
  if (!parsed) throw new ConfigError(`http: "${text}" is not HOST:PORT (for example 127.0.0.1:9469)`);
  return parsed;
}

const text = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
};

/** /metrics (Prometheus). Who may read it is the web server's decision (src/web/server.ts). */
export function metricsRoute(metrics: Metrics): Route {
  return async (_req, res, url) => {
    if (url.pathname !== '/metrics') return false;
    try {
      text(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
    } catch (err) {
      text(res, 500, `metrics failed: ${(err as Error).message}\n`);
    }
    return true;
  };
}

/** /healthz (liveness) and /readyz (readiness): open to anyone, they reveal nothing. */
export function healthRoute(health: HealthSource): Route {
  return (_req, res, url) => {
    if (url.pathname === '/healthz') {
      if (health.healthy()) text(res, 200, 'ok\n');
      else text(res, 503, 'supervisor loop stalled\n');
      return true;
    }
    if (url.pathname === '/readyz') {
      const r = health.ready();
      text(res, r.ok ? 200 : 503, r.ok ? 'ready\n' : `${r.why ?? 'not ready'}\n`);
      return true;
    }
    return false;
  };
}

/** Listens on `address` and hands every request to `handle` (the web server: src/web/server.ts). */
export async function startHttp(
  address: string,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const { host, port } = parseHostPort(address);
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ConfigError(`http: cannot listen on ${address} (${err.code ?? err.message})`)));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    server,
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
