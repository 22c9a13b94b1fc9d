import type pg from 'pg';
import type { Queryable } from './connect.js';

/** A named statement: each connection prepares it once, on first use. */
export type Statement = { readonly name: string; readonly text: string };

/** Runs a named statement on a pooled connection (its own transaction) or a transaction's connection. */
export function run<R extends pg.QueryResultRow>(c: Queryable | pg.Pool, stmt: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
  return c.query<R>({ name: stmt.name, text: stmt.text, values });
}
