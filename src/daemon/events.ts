import type { Clock } from '../clock.js';

/**
 * What happened in a running daemon that someone outside it may want to hear about: the
 * operator's notifications (issue 12) and the web page's live updates read the same stream.
 * Emitting never waits and never throws: a listener is called synchronously, must only queue
 * what it needs, and a listener that throws is dropped from that one delivery, not from the bus.
 */
export type EventKind =
  /** The session needs a person: its login is gone (revoked, logged out, refresh refused). */
  | 'session.expired'
  /** The session was parked for failing in a way that is not expiry (partial cookies, subscription, repeated errors). */
  | 'session.failed'
  /** Its tokens run out soon and it cannot refresh by itself. */
  | 'session.expiring'
  /** A book job ended for good. */
  | 'book.failed'
  /** A book was placed in the library. */
  | 'book.archived'
  /** A job changed state (claimed, retried, snoozed, cancelled, succeeded): the page refreshes its counts. */
  | 'job.changed'
  /** Nothing queued or running is left. */
  | 'queue.drained'
  /** Every session has been paused by the edge for longer than the alert threshold. */
  | 'edge.blocked'
  /** The library's disk refused a write (ENOSPC, EDQUOT, EIO…). */
  | 'storage.full'
  /** The daemon is stopping without having been asked to. */
  | 'daemon.stopped';

export interface BookdEvent {
  event: EventKind;
  /** Epoch milliseconds, from the daemon's clock. */
  at: number;
  /** One sentence for a person: what happened and, where one is needed, what to do. Never a secret. */
  message: string;
  session?: string;
  book?: { id: string; title?: string };
  job?: number;
}

export type EventListener = (event: BookdEvent) => void;

export interface EventBus {
  emit(event: Omit<BookdEvent, 'at'> & { at?: number }): void;
  /** Returns the function that unsubscribes. */
  on(listener: EventListener): () => void;
}

export function createEventBus(clock: Clock, onListenerError: (err: unknown) => void = () => {}): EventBus {
  const listeners = new Set<EventListener>();
  return {
    emit(partial) {
      const event: BookdEvent = { ...partial, at: partial.at ?? clock.now() };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A bus nobody listens to, for code paths (one-shot CLI commands, tests) without a daemon. */
export const silentBus: EventBus = { emit: () => {}, on: () => () => {} };
