import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { systemClock, type Clock } from '../../clock.js';
import { ConfigError, errorMessage } from '../../errors.js';
import { loadMigrations, newerSchemaError, type Migration, type MigrateResult } from '../migrate.js';
import { inTransaction, type Queryable } from './connect.js';

/** migrations/postgres/ sits three levels above this module both in src/db/pg (tsx) and in dist/db/pg (built). */
export const PG_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/postgres/', import.meta.url));

/** The PostgreSQL migrations, numbered like SQLite's (the same check: 1, 2, 3 … without gaps). */
export function loadPgMigrations(dir: string = PG_MIGRATIONS_DIR): Migration[] {
  return loadMigrations(dir);
}

/**
 * The key of the advisory lock migrations run under. Advisory locks are per database, so two
 * bookd stores on one server do not wait for each other. A fixed number: every bookd agrees.
 */
export const MIGRATION_LOCK_KEY = 0x626f6f6b64; // "bookd"

const SQL = {
  // SQLite keeps its version in user_version; here one row per applied migration, kept outside
  // the migrations themselves so it exists before the first one runs.
  versionTable: {
    name: 'bookd-schema-create',
    text: `CREATE TABLE IF NOT EXISTS bookd_schema (
             version    integer PRIMARY KEY CHECK (version >= 1),
             name       text    NOT NULL,
             applied_at bigint  NOT NULL)`,
  },
  // A query of the catalogue, not to_regclass(): read under the statement's snapshot, it sees the
  // table another host created and committed while this one waited for the lock (a cached name
  // lookup did not, measured in the racing-hosts test).
  hasVersionTable: {
    name: 'bookd-schema-exists',
    text: "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'bookd_schema') AS present",
  },
  version: { name: 'bookd-schema-version', text: 'SELECT coalesce(max(version), 0) AS version FROM bookd_schema' },
  otherTables: {
    name: 'bookd-schema-other-tables',
    text: "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  },
  lock: { name: 'bookd-schema-lock', text: 'SELECT pg_advisory_xact_lock($1)' },
  record: { name: 'bookd-schema-record', text: 'INSERT INTO bookd_schema (version, name, applied_at) VALUES ($1, $2, $3)' },
} as const;

/** The store's schema version; 0 for a database bookd never migrated. */
export async function pgSchemaVersion(c: Queryable | pg.Pool): Promise<number> {
  const present = await c.query<{ present: boolean }>(SQL.hasVersionTable);
  if (!present.rows[0]?.present) return 0;
  const r = await c.query<{ version: number }>(SQL.version);
  return r.rows[0]?.version ?? 0;
}

export interface PgMigrateOptions {
  migrations?: Migration[];
  /** Stop at this version (tests build every earlier schema this way). */
  target?: number;
  clock?: Clock;
}

/**
 * Brings the store's schema up to date. Every run of pending migrations is one transaction that
 * first takes the migration advisory lock and re-reads the version, so hosts starting together
 * migrate once (the others wait, then find nothing to do) and a failure leaves the schema exactly
 * as it was (PostgreSQL's DDL is transactional). A schema newer than this bookd knows is refused,
 * untouched. `label` names the store in messages (describeStore: no password).
 */
export async function migratePg(pool: pg.Pool, label: string, opts: PgMigrateOptions = {}): Promise<MigrateResult> {
  const migrations = opts.migrations ?? loadPgMigrations();
  const latest = migrations.length;
  const target = opts.target ?? latest;
  const from = await pgSchemaVersion(pool);
  if (from > latest) throw newerSchemaError(label, from, latest);
  if (from >= target) return { from, to: from };
  return inTransaction(pool, (c) => migratePgIn(c, label, { ...opts, migrations }));
}

/**
 * migratePg's work in a transaction the caller holds and ends: `bookd store copy` creates the
 * schema and fills it in one transaction, so a refused or failed copy, or a dry run, leaves the
 * database as it was. The advisory lock is held until that transaction ends.
 */
export async function migratePgIn(c: Queryable, label: string, opts: PgMigrateOptions = {}): Promise<MigrateResult> {
  const migrations = opts.migrations ?? loadPgMigrations();
  const latest = migrations.length;
  const target = opts.target ?? latest;
  const clock = opts.clock ?? systemClock;
  await c.query(SQL.lock.text, [MIGRATION_LOCK_KEY]);
  const now = await pgSchemaVersion(c);
  if (now > latest) throw newerSchemaError(label, now, latest);
  if (now >= target) return { from: now, to: now };
  if (now === 0) {
    const others = await c.query<{ n: number }>(SQL.otherTables);
    if ((others.rows[0]?.n ?? 0) > 0) {
      throw new ConfigError(`${label} is a PostgreSQL database but not a bookd one (it has tables and no bookd schema version); name an empty database`);
    }
    await c.query(SQL.versionTable);
  }
  let applied = now;
  for (const m of migrations) {
    if (m.version <= now || m.version > target) continue;
    try {
      await c.query(m.sql);
    } catch (err) {
      throw new ConfigError(`migration postgres/${m.name} failed (${errorMessage(err)}); ${label} was left at schema version ${now}: report this as a bug`);
    }
    await c.query(SQL.record.text, [m.version, m.name, clock.now()]);
    applied = m.version;
  }
  return { from: now, to: applied };
}
