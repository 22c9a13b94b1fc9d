import type { JobStore } from './jobs.js';

/**
 * The job store as both backends can offer it: every method of JobStore, answering with a
 * promise. SQLite answers at once (asyncSqliteJobs); PostgreSQL over the network
 * (src/db/pg/jobs.ts). The callers move to this one as the store becomes asynchronous (issue 14).
 */
export type AsyncJobStore = {
  [K in keyof JobStore]: JobStore[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

/** The synchronous SQLite store behind the asynchronous interface: the same calls, the same transactions. */
export function asyncSqliteJobs(store: JobStore): AsyncJobStore {
  const wrapped = {} as Record<keyof JobStore, (...args: unknown[]) => Promise<unknown>>;
  for (const key of Object.keys(store) as (keyof JobStore)[]) {
    const fn = (store[key] as (...args: unknown[]) => unknown).bind(store);
    // An exception becomes a rejection, as it would be from the PostgreSQL store.
    wrapped[key] = (...args) => {
      try {
        return Promise.resolve(fn(...args));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
  }
  return wrapped as unknown as AsyncJobStore;
}
