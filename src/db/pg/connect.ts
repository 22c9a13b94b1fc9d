import pg from 'pg';
import { ConfigError, errorMessage } from '../../errors.js';
import { describeStore, isPostgresUrl } from './url.js';

/** Anything in `text` that repeats the URL's password is masked, whatever the driver put there. */
function redact(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // An unparsable URL has no password to find.
  }
  return password.length > 0 ? text.split(password).join('***') : text;
}

const INT8_OID = 20;

/**
 * bigint columns (ids, epoch-ms times, counts) as numbers, as SQLite hands them over; node-postgres
 * gives strings by default. Every value bookd stores there is far below 2^53.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser(oid, format) as (v: string) => unknown)) as typeof pg.types.getTypeParser,
};

export interface ConnectOptions {
  /** Connections the pool may open (default 10). */
  max?: number;
  /** Give up on reaching the server after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** An idle pooled connection broke (the server restarted, the network dropped). */
  onError?: (err: Error) => void;
  /** Shown in pg_stat_activity, so an operator can tell bookd's connections apart. */
  applicationName?: string;
}

/** The pool's client options, also used for connections kept outside the pool (the LISTEN one). */
export function clientConfig(url: string, opts: ConnectOptions = {}): pg.ClientConfig {
  if (!isPostgresUrl(url)) throw new ConfigError(`the store URL must start with postgres:// or postgresql:// (got ${describeStore(url)})`);
  return {
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    application_name: opts.applicationName ?? 'bookd',
    types,
  };
}

/** A connection failure as the operator should read it: which server, and why, without the password. */
export function unreachableError(url: string, err: unknown): ConfigError {
  return new ConfigError(
    `cannot reach the PostgreSQL store at ${describeStore(url)}: ${redact(errorMessage(err), url)}; check --store and that the server runs`,
  );
}

/**
 * A pool of connections to the store at `url`, checked by one round trip before it is handed
 * out: a server that cannot be reached (or refuses the login) is a ConfigError (exit 78) naming
 * the host, never the password.
 */
export async function connectPool(url: string, opts: ConnectOptions = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({ ...clientConfig(url, opts), max: opts.max ?? 10 });
  // Without a listener an idle connection's error would crash the process; the next query on a
  // fresh connection tells the caller what is wrong.
  pool.on('error', (err) => opts.onError?.(new Error(redact(err.message, url))));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw unreachableError(url, err);
  }
  return pool;
}

/** The connection a transaction runs on. */
export type Queryable = pg.PoolClient | pg.Client;

/**
 * Runs `fn` in one transaction on a connection of its own: committed if it returns (rolled back
 * anyway with `{ commit: false }`, a dry run), rolled back if it throws.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, how: { commit: boolean } = { commit: true }): Promise<T> {
  const client = await pool.connect();
  // A connection that cannot even roll back is not given back to others.
  let broken: Error | undefined;
  // While checked out, a connection the server ends (a restart, an admin's terminate) reports it
  // as an 'error' event on the client, which the pool listens for only while the client is idle:
  // unheard, it would end the process. Heard here, it marks the connection broken, and the
  // statement that comes next fails on it and rolls the transaction back.
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query(how.commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(String(e));
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
