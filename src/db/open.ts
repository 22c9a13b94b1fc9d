import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { ConfigError, errorMessage } from '../errors.js';
import { hasTables, loadMigrations, migrate, newerSchemaError, notBookdError, schemaVersion, type Migration, type MigrateResult } from './migrate.js';
import { ALLOW_NETWORK_FS_ENV, networkFsType } from './network-fs.js';
import { DEFAULT_TUNING } from '../config.js';

export type { Database } from 'better-sqlite3';

/**
 * How long a writer waits for another process's write transaction (src/config.ts,
 * `Tuning['store']`: one value for every process, since they share the file).
 */
export const BUSY_TIMEOUT_MS = DEFAULT_TUNING.store.busyTimeoutMs;

export interface OpenDbOptions {
  /** Open without writing anything: no pragmas that change the file, no migrations. */
  readonly?: boolean;
  clock?: Clock;
  /** The text of /proc/self/mounts (tests inject one to exercise the refusal). */
  mountTable?: string;
  migrations?: Migration[];
  env?: NodeJS.ProcessEnv;
  /** Told what migrating did, so a daemon can log the backup it took. */
  onMigrated?: (result: MigrateResult) => void;
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

function ensureDirectory(dir: string, opts: OpenDbOptions): void {
  const env = opts.env ?? process.env;
  const fsType = networkFsType(nearestExisting(dir), opts.mountTable);
  if (fsType && env[ALLOW_NETWORK_FS_ENV] !== '1') {
    throw new ConfigError(
      `${dir} is on a network filesystem (${fsType}), where SQLite's locking is unreliable and the queue could double-claim or corrupt; use a local --data-dir (or set ${ALLOW_NETWORK_FS_ENV}=1 if you know its locking works)`,
    );
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? `${code}: it or a parent is a file` : (code ?? errorMessage(err));
    throw new ConfigError(`cannot create the data directory ${dir} (${why}); choose another --data-dir`);
  }
}

/** Refuses anything that is not a SQLite file, by its header, before SQLite may touch it. */
function checkHeader(path: string): 'empty' | 'sqlite' | 'missing' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    throw new ConfigError(`cannot read ${path} (${code ?? errorMessage(err)}); fix its permissions or choose another --data-dir`);
  }
  try {
    if (!statSync(path).isFile()) throw new ConfigError(`${path} is not a regular file; move it aside or choose another --data-dir`);
    const head = Buffer.alloc(100);
    const n = readSync(fd, head, 0, 100, 0);
    if (n === 0) return 'empty';
    if (n < 100 || !head.subarray(0, 16).equals(MAGIC)) {
      throw new ConfigError(`${path} is not a SQLite database; bookd left it untouched: move it aside or point --data-dir at another directory`);
    }
    return 'sqlite';
  } finally {
    closeSync(fd);
  }
}

/** The refusal for a file SQLite reports as corrupt: said once, here and at the CLI's edge. */
export function damagedError(path: string, why: string): ConfigError {
  return new ConfigError(
    `${path} is damaged (SQLite: ${why}); bookd left it untouched: restore the newest ${path}.bak-* backup or move the file aside to start a new queue`,
  );
}

export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** Reads enough to be sure the file is sound, before anything is written to it. */
function probe(db: Database, path: string, latest: number): number {
  let version: number;
  try {
    // One read transaction: another process's migration commits its tables and its user_version
    // together, and two separate reads could see the version before it and the tables after.
    const seen = db.transaction(() => ({ version: schemaVersion(db), tables: hasTables(db) }))();
    version = seen.version;
    if (version > latest) throw newerSchemaError(path, version, latest);
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') {
      throw damagedError(
        path,
        `integrity check: ${String(check)
          .replace(/\*\*\* in database \w+ \*\*\*/, '')
          .replace(/\s+/g, ' ')
          .trim()}`,
      );
    }
    if (version === 0 && seen.tables) throw notBookdError(path);
  } catch (err) {
    throw isCorruption(err) ? damagedError(path, errorMessage(err)) : err;
  }
  return version;
}

function applyPragmas(db: Database, readonly: boolean): void {
  if (!readonly) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new ConfigError(`cannot switch the database to WAL mode (got ${String(mode)}); use a local filesystem for --data-dir`);
    // Bound the WAL file after bursts; checkpoints keep it from growing without limit.
    db.pragma('journal_size_limit = 67108864');
  }
  // FULL: a job or cookie commit survives power loss, not just a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

/**
 * Opens (creating if needed) the bookd database: directory 0700, file 0600, local filesystem
 * only, SQLite header and integrity checked before any write, WAL + synchronous=FULL +
 * foreign keys + busy timeout, then migrated to the latest schema. `':memory:'` gives a private
 * in-memory database with the same schema.
 */
export function openDb(path: string, opts: OpenDbOptions = {}): Database {
  const migrations = opts.migrations ?? loadMigrations();
  const readonly = opts.readonly ?? false;
  if (path === ':memory:') {
    const db = new BetterSqlite3(':memory:');
    applyPragmas(db, true);
    migrate(db, path, { migrations, ...(opts.clock && { clock: opts.clock }) });
    return db;
  }

  const file = resolve(path);
  if (!readonly) ensureDirectory(dirname(file), opts);
  const header = checkHeader(file);
  if (header === 'missing') {
    if (readonly) throw new ConfigError(`there is no database at ${file} yet; run a command that writes (such as bookd enqueue) first, or fix --data-dir`);
    try {
      closeSync(openSync(file, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(
          `cannot create ${file} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); fix the permissions of ${dirname(file)} or choose another --data-dir`,
        );
      }
    }
  }

  let db: Database;
  try {
    db = new BetterSqlite3(file, { readonly, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new ConfigError(`cannot open ${file} (${errorMessage(err)}); fix its permissions or choose another --data-dir`);
  }
  try {
    const version = probe(db, file, migrations.length);
    if (readonly && version < migrations.length) {
      throw new ConfigError(
        `${file} has schema version ${version} and needs upgrading to ${migrations.length}; run a command that writes (such as bookd status) once to migrate it`,
      );
    }
    applyPragmas(db, readonly);
    if (!readonly) {
      const result = migrate(db, file, { migrations, ...(opts.clock && { clock: opts.clock }) });
      if (result.to !== result.from) opts.onMigrated?.(result);
    }
  } catch (err) {
    db.close();
    if (err instanceof ConfigError) throw err;
    if (isCorruption(err)) throw damagedError(file, errorMessage(err));
    throw err;
  }
  return db;
}
