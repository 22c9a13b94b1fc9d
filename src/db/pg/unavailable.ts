import pg from 'pg';
import { BookdError, StoreUnavailableError } from '../../errors.js';

/**
 * SQLSTATE classes and codes that mean "the connection, not the statement": 08 (connection
 * exception), 57P01–57P03 (the server is shutting down, crashed or starting), 53300 (too many
 * connections).
 */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * Whether node-postgres failed for want of a server, decided by what the error is: the server's
 * own errors are `DatabaseError`s with a SQLSTATE; everything else the driver throws while a
 * statement is on its way (a refused or reset socket, a connection ended under it, a connect
 * timeout) is a plain `Error`, possibly with an errno code. A TypeError or the like is a bug and
 * is left alone.
 */
export function isConnectionLoss(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return err.code !== undefined && (err.code.startsWith('08') || UNAVAILABLE_CODES.has(err.code));
  return err instanceof Error && err.constructor === Error && !(err instanceof BookdError);
}

/**
 * `impl` with every operation's connection loss turned into a StoreUnavailableError, at the one
 * edge where the store's answers are read; every other failure passes through as it is.
 */
export function guarded<T extends object>(impl: T, where: string): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(impl)) {
    const fn = (impl as Record<string, unknown>)[key];
    if (typeof fn !== 'function') {
      out[key] = fn;
      continue;
    }
    out[key] = (...args: unknown[]) =>
      (fn as (...a: unknown[]) => Promise<unknown>).apply(impl, args).catch((err: unknown) => {
        throw isConnectionLoss(err) ? new StoreUnavailableError(where, err) : err;
      });
  }
  return out as T;
}
