import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { ConfigError, errorMessage } from '../errors.js';

/** migrations/ sits two levels above this module both in src/db (tsx) and in dist/db (built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The migration files, checked to be numbered 1, 2, 3 … without gaps. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.sql'))
      .sort();
  } catch (err) {
    throw new ConfigError(`the migrations directory ${dir} cannot be read (${errorMessage(err)}); reinstall bookd`);
  }
  return names.map((name, i) => {
    const m = FILE.exec(name);
    if (!m || Number(m[1]) !== i + 1) {
      throw new ConfigError(
        `migration file ${join(dir, name)} is misnamed or out of sequence (expected ${String(i + 1).padStart(4, '0')}_name.sql); reinstall bookd`,
      );
    }
    return { version: i + 1, name: basename(name, '.sql'), sql: readFileSync(join(dir, name), 'utf8') };
  });
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function hasTables(db: Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' LIMIT 1").get() !== undefined;
}

/** The refusal for a file written by a newer bookd: migrating down would lose data. */
export function newerSchemaError(path: string, found: number, latest: number): ConfigError {
  return new ConfigError(
    `${path} has schema version ${found} but this bookd knows only up to ${latest}; it was written by a newer bookd: upgrade bookd (the file was left untouched)`,
  );
}

/** A SQLite file with tables but no bookd schema version belongs to some other program. */
export function notBookdError(path: string): ConfigError {
  return new ConfigError(`${path} is a SQLite database but not a bookd one (it has tables and no bookd schema version); point --data-dir at another directory`);
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/**
 * Copies the database to `<path>.bak-v<version>-<time>` with VACUUM INTO, a consistent snapshot
 * even while other processes write. The target is created 0600 first: it holds cookie jars.
 */
export function backupDatabase(db: Database, path: string, version: number, clock: Clock): string {
  let target = `${path}.bak-v${version}-${stamp(clock.now())}`;
  let fd: number | undefined;
  for (let n = 2; fd === undefined; n++) {
    try {
      fd = openSync(target, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) {
        throw new ConfigError(
          `cannot create the backup ${target} before migrating (${errorMessage(err)}); free space or fix permissions in ${path}'s directory`,
        );
      }
      target = `${path}.bak-v${version}-${stamp(clock.now())}-${n}`;
    }
  }
  closeSync(fd);
  try {
    db.prepare('VACUUM INTO ?').run(target);
  } catch (err) {
    rmSync(target, { force: true });
    throw new ConfigError(`cannot back up ${path} before migrating (${errorMessage(err)}); free space or fix permissions, then retry`);
  }
  return target;
}

export interface MigrateOptions {
  migrations?: Migration[];
  /** Stop at this version (tests build every earlier schema this way). */
  target?: number;
  clock?: Clock;
}

export interface MigrateResult {
  from: number;
  to: number;
  /** The backup taken before migrating a non-empty older database. */
  backup?: string;
}

/**
 * Brings the schema up to date. Each run of pending migrations is one IMMEDIATE transaction that
 * re-reads the version first, so processes starting together migrate once and a failure leaves
 * the file exactly as it was. `path` names the file for messages and backups (':memory:' takes none).
 */
export function migrate(db: Database, path: string, opts: MigrateOptions = {}): MigrateResult {
  const migrations = opts.migrations ?? loadMigrations();
  const latest = migrations.length;
  const target = opts.target ?? latest;
  const from = schemaVersion(db);
  if (from > latest) throw newerSchemaError(path, from, latest);
  if (from >= target) return { from, to: from };

  const backup = from > 0 && path !== ':memory:' ? backupDatabase(db, path, from, opts.clock ?? systemClock) : undefined;

  let applied = from;
  const run = db.transaction(() => {
    const now = schemaVersion(db);
    if (now > latest) throw newerSchemaError(path, now, latest);
    if (now === 0 && hasTables(db)) {
      throw notBookdError(path);
    }
    applied = now;
    for (const m of migrations) {
      if (m.version <= now || m.version > target) continue;
      try {
        db.exec(m.sql);
      } catch (err) {
        throw new ConfigError(`migration ${m.name} failed (${errorMessage(err)}); ${path} was left at schema version ${now}: report this as a bug`);
      }
      db.pragma(`user_version = ${m.version}`);
      applied = m.version;
    }
  });
  run.immediate();
  return backup === undefined ? { from, to: applied } : { from, to: applied, backup };
}
