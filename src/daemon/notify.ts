import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * sd_notify without libsystemd (DESIGN.md "systemd"). Node has no unix datagram sockets, so a
 * path socket is reached through the unix-dgram addon (works with NotifyAccess=main); an abstract
 * socket (`@…`), or a machine where the addon will not load, falls back to the systemd-notify tool.
 * Without NOTIFY_SOCKET every call does nothing.
 */
export interface Notifier {
  readonly enabled: boolean;
  /** Microseconds between the pings systemd expects, if it runs a watchdog for us. */
  readonly watchdogUsec: number | undefined;
  send(fields: Record<string, string | number>): void;
  close(): void;
}

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

function loadDgram(): { createSocket(type: 'unix_dgram'): DgramSocket } | undefined {
  try {
    return createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
  } catch {
    return undefined;
  }
}

export function createNotifier(env: NodeJS.ProcessEnv = process.env, onError: (err: Error) => void = () => {}): Notifier {
  const path = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const pidOk = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  const watchdogUsec = Number.isFinite(usec) && usec > 0 && pidOk ? usec : undefined;
  if (!path) return { enabled: false, watchdogUsec: undefined, send: () => {}, close: () => {} };

  const dgram = path.startsWith('@') ? undefined : loadDgram();
  let socket: DgramSocket | undefined;
  if (dgram) {
    socket = dgram.createSocket('unix_dgram');
    socket.on('error', onError);
  }
  return {
    enabled: true,
    watchdogUsec,
    send(fields) {
      const text = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`).join('\n');
      if (socket) {
        const buf = Buffer.from(text);
        socket.send(buf, 0, buf.length, path, (err) => err && onError(err));
        return;
      }
      execFile('systemd-notify', [...text.split('\n')], { env: { ...process.env, NOTIFY_SOCKET: path } }, (err) => err && onError(err));
    },
    close() {
      socket?.close();
      socket = undefined;
    },
  };
}
