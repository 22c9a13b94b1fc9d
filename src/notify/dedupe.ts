import type { Clock } from '../clock.js';
import type { BookdEvent } from '../daemon/events.js';

/** What an event is about, for the cool-down: its session, else its book, else its job, else nothing (queue.drained). */
export function subjectOf(e: Pick<BookdEvent, 'session' | 'book' | 'job'>): string {
  if (e.session !== undefined) return `session:${e.session}`;
  if (e.book !== undefined) return `book:${e.book.id}`;
  if (e.job !== undefined) return `job:${e.job}`;
  return '';
}

export interface Dedupe {
  /** True when this kind of event about this subject has not been sent within the cool-down (and records it as sent now). */
  admit(e: BookdEvent): boolean;
  /** Subjects remembered (bounded by `maxSubjects`). */
  size(): number;
}

/**
 * Each kind of event about each subject is let through once per `cooldownMs`: a session that
 * flaps between expired and renewed, or a disk that refuses every write, is one notification, not
 * one a minute. At most `maxSubjects` are remembered; past that the least recently sent are forgotten.
 */
export function createDedupe(o: { clock: Clock; cooldownMs: number; maxSubjects: number }): Dedupe {
  const sentAt = new Map<string, number>();
  return {
    admit(e) {
      const key = `${e.event}\u0000${subjectOf(e)}`;
      const now = o.clock.now();
      const last = sentAt.get(key);
      if (last !== undefined && now - last < o.cooldownMs) return false;
      // Delete first, so the Map's order stays "least recently sent first".
      sentAt.delete(key);
      sentAt.set(key, now);
      for (const k of sentAt.keys()) {
        if (sentAt.size <= o.maxSubjects) break;
        sentAt.delete(k);
      }
      return true;
    },
    size: () => sentAt.size,
  };
}
