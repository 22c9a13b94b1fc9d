import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort } from '../config.js';
import { ConfigError } from '../errors.js';
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

/** /metrics (Prometheus), /healthz (liveness) and /readyz (readiness) on the given address. */
export async function startHttp(address: string, metrics: Metrics, health: HealthSource): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const { host, port } = parseHostPort(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(200, text, metrics.registry.contentType),
        (err: Error) => send(500, `metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/healthz') return health.healthy() ? send(200, 'ok\n') : send(503, 'supervisor loop stalled\n');
    if (path === '/readyz') {
      const r = health.ready();
      return r.ok ? send(200, 'ready\n') : send(503, `${r.why ?? 'not ready'}\n`);
    }
    send(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
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
