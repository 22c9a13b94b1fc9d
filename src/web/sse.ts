import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BookdEvent, EventBus } from '../daemon/events.js';
import { sendJson } from './respond.js';

/** One viewer's stream and what it renders with (its CSRF token goes into the forms it is sent). */
interface Stream<C> {
  res: ServerResponse;
  ctx: C;
}

export interface LiveHub<C> {
  /** GET /api/events: a text/event-stream of `snapshot` events and the daemon's own events. */
  open(req: IncomingMessage, res: ServerResponse, ctx: C): void;
  /** Something changed: every stream gets a snapshot soon, without waiting for the next tick. */
  changed(): void;
  streams(): number;
  close(): void;
}

/** A stream whose reader does not keep up is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 1_048_576;
/** Changes that come in a burst (a claim, its heartbeat, a retry of all failed) make one snapshot. */
const DEBOUNCE_MS = 200;

/**
 * Server-Sent Events for the page: a snapshot every `everyMs` while anyone listens (so the page is
 * live with or without events), one soon after each change, and each event of the bus as it comes.
 * The snapshot is read once per round and rendered per stream.
 */
export function liveHub<D, C>(deps: {
  events: EventBus;
  everyMs: number;
  maxStreams: number;
  read: () => D | Promise<D>;
  render: (data: D, ctx: C) => unknown;
  onError: (err: unknown) => void;
}): LiveHub<C> {
  const streams = new Set<Stream<C>>();
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;

  const write = (s: Stream<C>, event: string, data: unknown) => {
    if (s.res.destroyed || s.res.writableEnded) {
      streams.delete(s);
      return;
    }
    if (s.res.writableLength > MAX_BUFFERED_BYTES) {
      streams.delete(s);
      s.res.destroy();
      return;
    }
    s.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  // A timer or an event calls this: it never throws, and a failed read only skips this round.
  const snapshot = async (only?: Stream<C>) => {
    if (streams.size === 0) return;
    let data: D;
    try {
      data = await deps.read();
    } catch (err) {
      deps.onError(err);
      return;
    }
    for (const s of only ? [only] : streams) {
      try {
        write(s, 'snapshot', deps.render(data, s.ctx));
      } catch (err) {
        // A timer calls this: a throw here would end the daemon, not just this snapshot.
        deps.onError(err);
      }
    }
  };

  const changed = () => {
    if (soon || streams.size === 0) return;
    soon = setTimeout(() => {
      soon = undefined;
      void snapshot();
    }, DEBOUNCE_MS);
    soon.unref();
  };

  const unsubscribe = deps.events.on((event: BookdEvent) => {
    for (const s of streams) write(s, event.event, event);
    changed();
  });

  return {
    open(req, res, ctx) {
      if (streams.size >= deps.maxStreams) return sendJson(res, 503, { error: `already ${streams.size} live streams open; close a tab and reload` });
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 3000\n\n');
      const stream: Stream<C> = { res, ctx };
      streams.add(stream);
      req.on('close', () => streams.delete(stream));
      if (!timer) {
        timer = setInterval(() => void snapshot(), deps.everyMs);
        timer.unref();
      }
      void snapshot(stream);
    },
    changed,
    streams: () => streams.size,
    close() {
      unsubscribe();
      clearInterval(timer);
      clearTimeout(soon);
      for (const s of streams) s.res.end();
      streams.clear();
    },
  };
}
