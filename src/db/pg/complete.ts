import type pg from 'pg';
import type { BookRecord } from '../books.js';
import type { CompleteOutcome } from '../jobs.js';
import type { PgBookCatalogue } from './books.js';
import { inTransaction } from './connect.js';
import type { PgJobStore } from './jobs.js';

/**
 * A job's success and the catalogue rows it produced in one PostgreSQL transaction, the twin of
 * SqliteStore.completeJob: false, and nothing written, when `token` no longer holds the lease; a
 * row that cannot be written rolls the success back with it (the job's run then ends as an error).
 */
export function pgCompleteJob(
  pool: pg.Pool,
  jobs: PgJobStore,
  books: PgBookCatalogue,
): (id: number, token: string, outcome: CompleteOutcome, catalogue: readonly BookRecord[]) => Promise<boolean> {
  return (id, token, outcome, catalogue) =>
    inTransaction(pool, async (c) => {
      if (!(await jobs.completeOn(c, id, token, outcome))) return false;
      for (const row of catalogue) await books.recordOn(c, row);
      return true;
    });
}
