import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type pg from 'pg';
import { ConfigError, errorMessage } from '../../errors.js';
import { openDb, type Database } from '../open.js';
import { connectPool, inTransaction, type Queryable } from './connect.js';
import { describeStore, isPostgresUrl } from './url.js';
import { COPIED_TABLES, LEFT_OUT, tableChecksum, type CopiedTable } from './copy-tables.js';
import { migratePgIn } from './migrate.js';
import { run, type Statement } from './statement.js';

export interface CopyOptions {
  /** The SQLite store to copy (`<data-dir>/bookd.db`); opened read-only. */
  sqlitePath: string;
  /** The PostgreSQL database to fill: empty, or holding only an empty bookd schema. */
  url: string;
  /** Copy and verify, then roll back: the target is left exactly as it was. */
  dryRun?: boolean;
  /** What the copy is doing, a line at a time (never a cookie, token or password). */
  log?: (line: string) => void;
}

export interface CopiedTableReport {
  name: string;
  rows: number;
  /** sha256 (hex) of the table's rows in canonical form (copy-tables.ts), equal on both sides. */
  checksum: string;
}

export interface CopyReport {
  tables: CopiedTableReport[];
  /** False for a dry run: everything was rolled back. */
  committed: boolean;
}

/** What was read back from PostgreSQL is not what was read from SQLite: the copy was rolled back. */
export class CopyMismatchError extends Error {
  constructor(
    readonly table: string,
    readonly source: { rows: number; checksum: string },
    readonly target: { rows: number; checksum: string },
  ) {
    super(
      `the copy of ${table} does not match the original (${source.rows} rows, checksum ${source.checksum.slice(0, 12)} in SQLite; ` +
        `${target.rows} rows, checksum ${target.checksum.slice(0, 12)} read back from PostgreSQL); everything was rolled back: report this as a bug`,
    );
    this.name = 'CopyMismatchError';
  }
}

/** Rows per INSERT: a few hundred keeps a statement's arrays small and round trips few. */
const BATCH_ROWS = 500;
/** Rows per FETCH when reading the copy back. */
const FETCH_ROWS = 2000;
/** How long to wait for another session's lock on the target's tables before giving up. */
const LOCK_TIMEOUT = '10s';

const quote = (name: string) => `"${name}"`;

/** Each table's statements, written once from its column list. */
interface TableStatements {
  /** SQLite: every row, in key order (text keys bytewise: SQLite's BINARY collation). */
  source: string;
  /** PostgreSQL: one batch as one array per column; jsonb arrives as text and is cast here. */
  insert: Statement;
  /** PostgreSQL: every row back in the same order and form (jsonb as text, text keys in "C" order). */
  readBack: string;
  /** PostgreSQL: the sequence past the highest copied value. */
  setval?: Statement;
}

function statementsFor(t: CopiedTable): TableStatements {
  const cols = t.columns.map(([n]) => quote(n));
  const typeOf = (col: string) => t.columns.find(([n]) => n === col)![1];
  const pgOrder = t.key.map((k) => (typeOf(k) === 'text' ? `${quote(k)} COLLATE "C"` : quote(k))).join(', ');
  const params = t.columns.map(([, type], i) => `$${i + 1}::${type === 'jsonb' ? 'text' : type}[]`).join(', ');
  const selected = t.columns.map(([n, type]) => (type === 'jsonb' ? `u.${quote(n)}::jsonb` : `u.${quote(n)}`)).join(', ');
  const readCols = t.columns.map(([n, type]) => (type === 'jsonb' ? `${quote(n)}::text` : quote(n))).join(', ');
  return {
    source: `SELECT ${cols.join(', ')} FROM ${quote(t.name)} ORDER BY ${t.key.map(quote).join(', ')}`,
    insert: {
      name: `copy-insert-${t.name}`,
      text: `INSERT INTO ${quote(t.name)} (${cols.join(', ')}) SELECT ${selected} FROM unnest(${params}) AS u(${cols.join(', ')})`,
    },
    readBack: `SELECT ${readCols} FROM ${quote(t.name)} ORDER BY ${pgOrder}`,
    ...(t.serial !== undefined && {
      setval: {
        name: `copy-setval-${t.name}`,
        text: `SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), coalesce(max(${quote(t.serial)}), 0) + 1, false) FROM ${quote(t.name)}`,
      },
    }),
  };
}

const STATEMENTS = new Map(COPIED_TABLES.map((t) => [t.name, statementsFor(t)]));

/** The tables a bookd store may hold rows in; `daemons` too, though the copy leaves it out. */
const STORE_TABLES = [...COPIED_TABLES.map((t) => t.name), ...Object.keys(LEFT_OUT)];

const SQL = {
  lockTimeout: { name: 'copy-lock-timeout', text: `SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'` },
  // No host may write while the target is checked and filled (reads go on).
  lock: { name: 'copy-lock', text: `LOCK TABLE ${STORE_TABLES.map(quote).join(', ')} IN EXCLUSIVE MODE` },
  // What the target holds besides a fresh schema: any row, or a queue control moved from its default.
  occupied: {
    name: 'copy-occupied',
    text: `SELECT ${STORE_TABLES.filter((n) => n !== 'queue_control')
      .map((n) => `(SELECT count(*) FROM ${quote(n)}) AS ${quote(n)}`)
      .join(', ')},
           (SELECT count(*) FROM queue_control WHERE NOT (id = 1 AND NOT paused AND reason IS NULL AND since IS NULL)) AS queue_control`,
  },
  dropDefaultControl: { name: 'copy-drop-default-control', text: 'DELETE FROM queue_control' },
} as const;

const LOCK_NOT_AVAILABLE = '55P03';

/** The source, read-only: it must exist and have this bookd's latest schema (openDb refuses older and newer ones). */
function openSource(path: string): Database {
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(`there is no bookd store at ${file} to copy; check --data-dir`);
  return openDb(file, { readonly: true });
}

/** Every table of the source is copied or deliberately left out, with the columns this copy knows. */
function checkSourceSchema(db: Database): void {
  const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
  for (const { name } of tables) {
    if (!STORE_TABLES.includes(name)) throw new Error(`the store has a table ${name} that bookd store copy does not know; report this as a bug`);
  }
  for (const t of COPIED_TABLES) {
    const have = db
      .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('${t.name}')`)
      .all()
      .map((c) => c.name)
      .sort();
    const know = t.columns.map(([n]) => n).sort();
    if (have.join() !== know.join()) throw new Error(`the columns of ${t.name} are not those bookd store copy knows; report this as a bug`);
  }
}

function describeOccupied(found: Record<string, number>): string | undefined {
  const parts = Object.entries(found)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => (table === 'queue_control' ? 'a queue control changed from its default' : `${table} (${n} ${n === 1 ? 'row' : 'rows'})`));
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** The operator's words for a failure of PostgreSQL mid-copy: its message only (a DETAIL can quote a row). */
function copyFailed(table: string, label: string, err: unknown): Error {
  return new Error(`copying ${table} into ${label} failed (PostgreSQL: ${errorMessage(err)}); nothing was committed`);
}

interface Copied {
  table: CopiedTable;
  rows: number;
  checksum: string;
}

/** Streams one table from SQLite into PostgreSQL in batches; returns what it read, checksummed. */
async function copyTable(db: Database, c: Queryable, t: CopiedTable, label: string): Promise<Copied & { cleared: number }> {
  const stmts = STATEMENTS.get(t.name)!;
  const sum = tableChecksum(t);
  const clearedAt = (t.cleared ?? []).map((n) => t.columns.findIndex(([col]) => col === n));
  let cleared = 0;
  let batch: unknown[][] = t.columns.map(() => []);
  const flush = async () => {
    if (batch[0]!.length === 0) return;
    try {
      await run(c, stmts.insert, batch);
    } catch (err) {
      throw copyFailed(t.name, label, err);
    }
    batch = t.columns.map(() => []);
  };
  const rows = db.prepare(stmts.source).raw(true).iterate() as IterableIterator<unknown[]>;
  for (const row of rows) {
    if (clearedAt.some((i) => row[i] !== null)) cleared++;
    for (const i of clearedAt) row[i] = null;
    try {
      sum.add(row);
    } catch {
      // Only a JSON column can fail here; its value is not repeated.
      const key = t.key.map((k) => String(row[t.columns.findIndex(([n]) => n === k)])).join(', ');
      throw new Error(`${t.name} row ${key} holds a JSON column that is not valid JSON; nothing was copied: fix or remove the row first`);
    }
    t.columns.forEach(([, type], i) => batch[i]!.push(type === 'boolean' && row[i] !== null ? row[i] === 1 : row[i]));
    if (batch[0]!.length >= BATCH_ROWS) await flush();
  }
  await flush();
  return { table: t, rows: sum.rows, checksum: sum.digest(), cleared };
}

/** Reads a copied table back from PostgreSQL inside the transaction and checksums it the same way. */
async function readBack(c: Queryable, t: CopiedTable): Promise<{ rows: number; checksum: string }> {
  const sum = tableChecksum(t);
  await c.query(`DECLARE bookd_copy_check NO SCROLL CURSOR FOR ${STATEMENTS.get(t.name)!.readBack}`);
  for (;;) {
    const r = await c.query<unknown[]>({ text: `FETCH FORWARD ${FETCH_ROWS} FROM bookd_copy_check`, rowMode: 'array' });
    if (r.rows.length === 0) break;
    for (const row of r.rows) sum.add(row);
  }
  await c.query('CLOSE bookd_copy_check');
  return { rows: sum.rows, checksum: sum.digest() };
}

/** Everything the copy does on the target, in the caller's transaction. */
async function copyInto(db: Database, c: pg.PoolClient, label: string, dryRun: boolean, log: (line: string) => void): Promise<CopiedTableReport[]> {
  const migrated = await migratePgIn(c, label);
  await run(c, SQL.lockTimeout, []);
  try {
    await run(c, SQL.lock, []);
  } catch (err) {
    if ((err as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
      throw new ConfigError(`${label} is in use (another session held its tables for ${LOCK_TIMEOUT}); copy only into a database no bookd host uses`);
    }
    throw err;
  }
  const found = describeOccupied((await run<Record<string, number>>(c, SQL.occupied, [])).rows[0]!);
  if (found !== undefined) {
    throw new ConfigError(`${label} is not empty: it holds ${found}; bookd store copy fills only an empty database and changed nothing: name a new one`);
  }
  log(
    `${dryRun ? 'dry run: ' : ''}copying into ${label} (${migrated.to === migrated.from ? `its bookd schema version ${migrated.to}` : `bookd schema version ${migrated.to} created`})`,
  );

  // One read transaction on SQLite too: every table is read from the same moment, even while a
  // daemon still writes to the store.
  db.exec('BEGIN');
  try {
    checkSourceSchema(db);
    const copied: Copied[] = [];
    for (const t of COPIED_TABLES) {
      if (t.name === 'queue_control') await run(c, SQL.dropDefaultControl, []);
      const one = await copyTable(db, c, t, label);
      copied.push(one);
      log(`  ${t.name}: ${one.rows} ${one.rows === 1 ? 'row' : 'rows'}`);
      if (one.cleared > 0) {
        log(
          `  ${t.name}: ${one.cleared} ${one.cleared === 1 ? 'hold' : 'holds'} cleared (holds name processes of this machine, which hold nothing on the new store)`,
        );
      }
    }
    for (const [table, why] of Object.entries(LEFT_OUT)) {
      const n = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${quote(table)}`).get()!.n;
      log(`  ${table}: left out (${n} ${n === 1 ? 'row' : 'rows'}): ${why}`);
      if (table === 'daemons' && n > 0) {
        log('  a daemon registered on this store: if it still runs, what it does from now on is not in the copy; stop it before switching hosts over');
      }
    }

    for (const one of copied) {
      const back = await readBack(c, one.table);
      if (back.rows !== one.rows || back.checksum !== one.checksum) throw new CopyMismatchError(one.table.name, one, back);
    }
    log(`  verified: every table's row count and checksum read back equal`);

    // setval is never rolled back, so a dry run leaves the sequences alone (on a fresh database
    // they are created and dropped with the schema anyway).
    if (!dryRun) {
      for (const one of copied) {
        const setval = STATEMENTS.get(one.table.name)!.setval;
        if (setval) await run(c, setval, []);
      }
    }
    return copied.map((one) => ({ name: one.table.name, rows: one.rows, checksum: one.checksum }));
  } finally {
    db.exec('COMMIT');
  }
}

/**
 * Copies the SQLite store at `sqlitePath` into the empty PostgreSQL database at `url`, in one
 * PostgreSQL transaction: the schema (migratePg's migrations, inside it), every table but the
 * running daemons' rows, the sequences moved past the copied ids, and a read-back of every table
 * compared with what was read (row count and checksum) before it commits. A target that holds
 * anything is refused, and anything that goes wrong, including a mismatch, leaves the target as
 * it was. A dry run does all of it and rolls back.
 */
export async function copyStore(opts: CopyOptions): Promise<CopyReport> {
  const log = opts.log ?? (() => {});
  const dryRun = opts.dryRun ?? false;
  if (!isPostgresUrl(opts.url)) throw new ConfigError('the target must be a postgres:// or postgresql:// URL');
  const label = describeStore(opts.url);
  const db = openSource(opts.sqlitePath);
  try {
    const pool = await connectPool(opts.url, { max: 1, applicationName: 'bookd-store-copy' });
    try {
      const tables = await inTransaction(pool, (c) => copyInto(db, c, label, dryRun, log), { commit: !dryRun });
      if (dryRun) log(`dry run: rolled back; ${label} is as it was`);
      return { tables, committed: !dryRun };
    } finally {
      await pool.end();
    }
  } finally {
    db.close();
  }
}
