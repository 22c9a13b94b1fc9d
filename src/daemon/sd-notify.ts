import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';

/**
 * sd_notify without libsystemd. Node has no unix datagram sockets, so the socket is reached
 * through the unix-dgram addon, from the main process itself, which is what NotifyAccess=main in
 * systemd/bookd.service accepts. There is deliberately no fallback to the systemd-notify tool: its
 * messages come from the tool's own pid, which NotifyAccess=main drops, so READY=1 would never
 * arrive and systemd would kill the daemon at TimeoutStartSec. An abstract socket (`@…`, which the
 * addon cannot address) or an addon that will not load is refused at start instead, in one line.
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

  if (path.startsWith('@')) {
    throw new ConfigError(
      `NOTIFY_SOCKET=${path} is an abstract socket, which the unix-dgram addon cannot reach, and the systemd-notify tool would send from another pid, which NotifyAccess=main ignores; give the service a socket path (systemd's own is /run/systemd/notify)`,
    );
  }
  const dgram = loadDgram();
  if (!dgram) {
    throw new ConfigError(
      "cannot answer NOTIFY_SOCKET: the unix-dgram addon does not load, and the systemd-notify tool would send from another pid, which NotifyAccess=main ignores; rebuild the addon (npm rebuild unix-dgram in bookd's install folder)",
    );
  }
  let socket: DgramSocket | undefined = dgram.createSocket('unix_dgram');
  socket.on('error', onError);
  return {
    enabled: true,
    watchdogUsec,
    send(fields) {
      const text = Object.entries(fields)
        .map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`)
        .join('\n');
      if (!socket) return;
      const buf = Buffer.from(text);
      socket.send(buf, 0, buf.length, path, (err) => err && onError(err));
    },
    close() {
      socket?.close();
      socket = undefined;
    },
  };
}

/**
 * CLOCK_MONOTONIC in microseconds, for `MONOTONIC_USEC=` beside `RELOADING=1`: it dates the reload,
 * so systemd can tell it from an earlier one. Node's hrtime is CLOCK_MONOTONIC on Linux.
 */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}
