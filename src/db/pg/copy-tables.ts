import { createHash, type Hash } from 'node:crypto';

/**
 * What `bookd store copy` moves from SQLite to PostgreSQL, table by table, and the canonical form
 * of a row both sides are checksummed in. Every column is listed with its PostgreSQL type: the
 * type says how a SQLite value is converted on the way (0/1 to boolean, JSON text to jsonb) and
 * how a value of either side is put in canonical form. src/db/pg/copy.test.ts checks this list
 * against both schemas, so a migration that adds a column cannot be forgotten here.
 */

export type ColumnType = 'bigint' | 'integer' | 'double precision' | 'text' | 'boolean' | 'jsonb';

export interface CopiedTable {
  name: string;
  /** In the order rows are read, written and checksummed. */
  columns: readonly (readonly [name: string, type: ColumnType])[];
  /** The primary key: rows are checksummed in its order (text bytewise, as SQLite compares it). */
  key: readonly string[];
  /** A column whose values a sequence hands out: moved past the copied ones. */
  serial?: string;
  /** Columns written as NULL whatever the source holds (and checksummed so). */
  cleared?: readonly string[];
}

/** In the order they are copied: jobs before the attempts that reference them. */
export const COPIED_TABLES: readonly CopiedTable[] = [
  {
    name: 'jobs',
    key: ['id'],
    columns: [
      ['id', 'bigint'],
      ['kind', 'text'],
      ['dedupe_key', 'text'],
      ['payload', 'jsonb'],
      ['priority', 'integer'],
      ['state', 'text'],
      ['run_at', 'bigint'],
      ['attempt', 'integer'],
      ['max_attempts', 'integer'],
      ['lease_owner', 'text'],
      ['lease_token', 'text'],
      ['lease_expires_at', 'bigint'],
      ['heartbeat_at', 'bigint'],
      ['session', 'text'],
      ['cancel_requested', 'boolean'],
      ['progress', 'jsonb'],
      ['checkpoint', 'jsonb'],
      ['last_error_kind', 'text'],
      ['last_error', 'text'],
      ['created_at', 'bigint'],
      ['updated_at', 'bigint'],
      ['started_at', 'bigint'],
      ['finished_at', 'bigint'],
    ],
    serial: 'id',
  },
  {
    name: 'job_attempts',
    key: ['id'],
    columns: [
      ['id', 'bigint'],
      ['job_id', 'bigint'],
      ['attempt', 'integer'],
      ['outcome', 'text'],
      ['error_kind', 'text'],
      ['message', 'text'],
      ['session', 'text'],
      ['owner', 'text'],
      ['started_at', 'bigint'],
      ['finished_at', 'bigint'],
      ['duration_ms', 'bigint'],
    ],
    serial: 'id',
  },
  // The jar stays text, byte for byte: saves compare-and-swap on its exact serialisation. Holds
  // are cleared: they name processes of the old machine, which never run against the new store;
  // kept, they would keep every host away from the session until they lapsed.
  {
    name: 'sessions',
    key: ['name'],
    columns: [
      ['name', 'text'],
      ['state', 'text'],
      ['jar', 'text'],
      ['token_expires_at', 'bigint'],
      ['login_email', 'text'],
      ['password_file', 'text'],
      ['requests', 'bigint'],
      ['errors', 'bigint'],
      ['books_done', 'bigint'],
      ['error_score', 'double precision'],
      ['cooldown_until', 'bigint'],
      ['last_error', 'text'],
      ['last_used_at', 'bigint'],
      ['jar_saved_at', 'bigint'],
      ['created_at', 'bigint'],
      ['updated_at', 'bigint'],
      ['holder', 'text'],
      ['held_until', 'bigint'],
      ['user_agent', 'text'],
      ['refresh_cookie', 'boolean'],
      ['refresh_expires_at', 'bigint'],
      ['renewed_at', 'bigint'],
    ],
    cleared: ['holder', 'held_until'],
  },
  {
    name: 'books',
    key: ['id', 'format'],
    columns: [
      ['id', 'text'],
      ['format', 'text'],
      ['title', 'text'],
      ['authors', 'jsonb'],
      ['skills', 'jsonb'],
      ['path', 'text'],
      ['sha256', 'text'],
      ['bytes', 'bigint'],
      ['archived_at', 'bigint'],
      ['mode', 'text'],
      ['gaps', 'jsonb'],
      ['virtual_pages', 'integer'],
      ['issued', 'text'],
      ['revision', 'integer'],
      ['previous_sha256', 'text'],
    ],
  },
  // Its one row replaces the default row the migration put there.
  {
    name: 'queue_control',
    key: ['id'],
    columns: [
      ['id', 'integer'],
      ['paused', 'boolean'],
      ['reason', 'text'],
      ['since', 'bigint'],
    ],
  },
  {
    name: 'watches',
    key: ['id'],
    columns: [
      ['id', 'bigint'],
      ['kind', 'text'],
      ['target', 'text'],
      ['options', 'jsonb'],
      ['period_ms', 'bigint'],
      ['next_run_at', 'bigint'],
      ['last_run_at', 'bigint'],
      ['last_found', 'jsonb'],
      ['created_at', 'bigint'],
      ['failures', 'integer'],
    ],
    serial: 'id',
  },
  {
    name: 'budget',
    key: ['scope'],
    columns: [
      ['scope', 'text'],
      ['rate', 'double precision'],
      ['reason', 'text'],
      ['changed_at', 'bigint'],
      ['edge_until', 'bigint'],
      ['edge_strikes', 'integer'],
      ['updated_at', 'bigint'],
    ],
  },
];

/**
 * Tables of the SQLite schema the copy leaves out, and why. `daemons` lists the processes running
 * against the store, each renewing its own row: the old machine's rows name processes that never
 * run against the new store, and the hosts that do announce themselves when they start.
 */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  daemons: "the running daemons' own announcements; each host announces itself when it starts on the new store",
};

/** JSON with every object's keys sorted: one spelling for one value, whichever side wrote it. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * One value in canonical form: NULL as null, booleans as 0/1 (SQLite's spelling), JSON (as text,
 * from either side) parsed and written back with sorted keys, everything else as it is.
 */
export function canonicalValue(type: ColumnType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'boolean') return v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : v;
  if (type === 'jsonb') return typeof v === 'string' ? canonicalJson(JSON.parse(v)) : v;
  return v;
}

/**
 * A table's checksum: sha256 over its rows in key order, each row the canonical JSON array of its
 * column values followed by a newline. Both sides feed the same function.
 */
export interface TableChecksum {
  add(row: readonly unknown[]): void;
  readonly rows: number;
  digest(): string;
}

export function tableChecksum(table: CopiedTable): TableChecksum {
  const hash: Hash = createHash('sha256');
  let rows = 0;
  return {
    add(row) {
      hash.update(`${JSON.stringify(table.columns.map(([, type], i) => canonicalValue(type, row[i])))}\n`);
      rows++;
    },
    get rows() {
      return rows;
    },
    digest: () => hash.digest('hex'),
  };
}
