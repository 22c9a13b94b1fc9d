import type { EventKind } from '../daemon/events.js';
import type { Notification, Target } from './payload.js';
import { post, type PostDeps } from './http-post.js';
import { receiver } from './url.js';

/**
 * How each event looks on a phone: ntfy's publish API takes the message as the body and the
 * title, priority (1 min … 5 max) and tags (emoji short codes) as headers.
 */
const STYLE: Readonly<Record<EventKind, { title: string; priority: number; tags: string }>> = {
  'session.expired': { title: 'session expired', priority: 4, tags: 'key,warning' },
  'session.failed': { title: 'session parked', priority: 4, tags: 'key,warning' },
  'session.expiring': { title: 'session expiring soon', priority: 3, tags: 'key,hourglass' },
  'book.failed': { title: 'book failed', priority: 3, tags: 'books,x' },
  'book.archived': { title: 'book archived', priority: 2, tags: 'books' },
  'job.changed': { title: 'job changed', priority: 1, tags: 'books' },
  'queue.drained': { title: 'queue empty', priority: 2, tags: 'books,white_check_mark' },
  'edge.blocked': { title: 'refused by the edge', priority: 4, tags: 'no_entry' },
  'storage.full': { title: 'library disk refused a write', priority: 5, tags: 'floppy_disk,rotating_light' },
  'daemon.stopped': { title: 'daemon stopped', priority: 5, tags: 'rotating_light' },
};

/** Header values are bytes: anything outside printable ASCII (a host name in another script) becomes "?". */
function headerText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

export function ntfyTitle(n: Pick<Notification, 'event' | 'host'>): string {
  return headerText(`bookd on ${n.host}: ${STYLE[n.event].title}`);
}

export function ntfyTarget(url: string, deps: PostDeps): Target {
  const to = receiver(url);
  return {
    label: `ntfy ${to.origin}`,
    send: (n: Notification) => {
      const style = STYLE[n.event];
      return post(
        to,
        n.message,
        { 'content-type': 'text/plain; charset=utf-8', title: ntfyTitle(n), priority: String(style.priority), tags: style.tags },
        deps,
      );
    },
  };
}
