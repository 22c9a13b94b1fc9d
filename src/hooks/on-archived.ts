import type { Clock } from '../clock.js';
import type { Tuning } from '../config.js';
import type { Logger } from '../log.js';
import { createDeliveryQueue } from '../notify/queue.js';
import { childEnvironment, expandWords, runCommand } from './command.js';

/** A book just placed in the library, as the hook hears of it. */
export interface ArchivedBook {
  id: string;
  title: string;
  /** Absolute. */
  path: string;
  skills: string[];
  format: string;
  bytes: number;
}

export function archivedEnv(b: ArchivedBook): Record<string, string> {
  return {
    BOOKD_BOOK_PATH: b.path,
    BOOKD_BOOK_ID: b.id,
    BOOKD_BOOK_TITLE: b.title,
    BOOKD_BOOK_SKILLS: b.skills.join(','),
    BOOKD_BOOK_FORMAT: b.format,
  };
}

export interface OnArchivedHook {
  /** Queues the command for this book and returns at once. */
  run(book: ArchivedBook): void;
  /** Lets the hooks still queued run for `flushMs`, then drops the rest (each logged). */
  close(): Promise<void>;
}

/**
 * The `onArchived` command (README.md, "After a book is archived"), one book at a time in the
 * background: the job that placed the book has long moved on, so a failing or hanging hook is a
 * log line and never the book's failure. Waiting hooks are bounded (`hooks.maxQueued`).
 */
export function onArchivedHook(d: { argv: readonly string[]; tuning: Tuning['hooks']; clock: Clock; logger: Logger; env?: NodeJS.ProcessEnv }): OnArchivedHook {
  const t = d.tuning;
  const queue = createDeliveryQueue({
    clock: d.clock,
    attempts: 1,
    retryBaseMs: 1,
    retryCapMs: 1,
    maxQueued: t.maxQueued,
    concurrency: 1,
    onGiveUp: (label, why) => d.logger.warn(`onArchived hook for ${label} failed (${why}); the book is archived all the same`),
    onDrop: (label, why) =>
      d.logger.warn(`onArchived hook for ${label} not run: ${why === 'full' ? `${t.maxQueued} are already waiting` : 'bookd is stopping'}`),
  });
  return {
    run(book) {
      const vars = archivedEnv(book);
      queue.push({
        label: `book ${book.id} (${book.format})`,
        attempt: async () => {
          const outcome = await runCommand(expandWords(d.argv, vars), { env: childEnvironment(d.env ?? process.env, vars), timeoutMs: t.timeoutMs });
          if (outcome.ok) d.logger.debug({ book: book.id }, 'onArchived hook done');
          return outcome.ok ? { ok: true } : { ok: false, retry: false, why: outcome.why };
        },
      });
    },
    async close() {
      await queue.flush(t.flushMs);
      queue.close();
    },
  };
}
