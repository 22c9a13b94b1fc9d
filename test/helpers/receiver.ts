import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification } from '../../src/notify/payload.js';

/** What a webhook receives (the wire shape is the one src/notify/payload.ts writes). */
export type Hook = Notification;

/**
 * A webhook receiver on 127.0.0.1 that records every body. `delayMs` makes it answer that late
 * (a slow receiver); its sockets are closed when the test ends.
 */
export async function startReceiver(delayMs = 0) {
  const bodies: string[] = [];
  const paths: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      bodies.push(body);
      paths.push(req.url ?? '');
      const t = setTimeout(() => {
        timers.delete(t);
        res.writeHead(204).end();
      }, delayMs);
      timers.add(t);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    paths,
    events: () => bodies.map((b) => JSON.parse(b) as Hook),
    close: () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on: a receiver that is down (connection refused). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/hook`;
}
