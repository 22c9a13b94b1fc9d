import type { BookdEvent, EventKind } from '../daemon/events.js';
import type { DeliveryResult } from './queue.js';

/** One notification as every target sends it: the webhook body, the command's environment, ntfy's text. */
export interface Notification {
  event: EventKind;
  /** ISO-8601. */
  at: string;
  /** One sentence for a person. */
  message: string;
  session?: string;
  book?: { id: string; title?: string };
  job?: number;
  /** The machine the daemon runs on, for an operator with more than one. */
  host: string;
}

export function notificationOf(e: BookdEvent, host: string): Notification {
  return {
    event: e.event,
    at: new Date(e.at).toISOString(),
    message: e.message,
    ...(e.session !== undefined ? { session: e.session } : {}),
    ...(e.book !== undefined ? { book: { id: e.book.id, ...(e.book.title !== undefined ? { title: e.book.title } : {}) } } : {}),
    ...(e.job !== undefined ? { job: e.job } : {}),
    host,
  };
}

/** A place notifications go: a webhook, an ntfy topic, the operator's command. */
export interface Target {
  /** For log lines: the kind and origin (`webhook https://hooks.example`), never the whole URL. */
  label: string;
  send(n: Notification): Promise<DeliveryResult>;
}
