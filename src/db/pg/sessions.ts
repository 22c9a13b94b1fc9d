import type pg from 'pg';
import type { Clock } from '../../clock.js';
import type { Async } from '../async.js';
import {
  checkSessionName,
  refreshParams,
  sessionExistsError,
  toRecord,
  type NewSession,
  type SessionRow,
  type SessionState,
  type SessionStore,
  type SetStateOptions,
} from '../sessions.js';
import { inTransaction, type Queryable } from './connect.js';
import { run } from './statement.js';

/**
 * Every statement of the PostgreSQL session store, the rules of sqliteSessionStore
 * (src/db/sessions.ts).
 *
 * A hold is the `holder`/`held_until` columns of the row, with an expiry, not an advisory lock: a
 * lock belongs to one connection and would go when the pool reconnects (a server restart, a
 * dropped network), while the daemon still believes it holds the session; and `bookd status`
 * must show who holds what. Two hosts racing `hold` for one row are ordered by the row lock of
 * the UPDATE: the second re-reads the row the first committed and finds it held.
 */
const SQL = {
  // Synchronous commit for this transaction only: a jar save must be on disk before the session
  // sends its next request (the rotated token is the only copy), whatever the server's default.
  durable: { name: 'sessions-durable', text: 'SET LOCAL synchronous_commit = on' },
  insert: {
    name: 'sessions-insert',
    text: `INSERT INTO sessions (name, jar, token_expires_at, refresh_cookie, refresh_expires_at, renewed_at, login_email, password_file, user_agent,
                                 jar_saved_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $6, $6, $6)
           ON CONFLICT (name) DO NOTHING
           RETURNING *`,
  },
  get: { name: 'sessions-get', text: 'SELECT * FROM sessions WHERE name = $1' },
  // Locks the row an import renews or replaces, so a save in flight lands before or after it, not between its writes.
  lock: { name: 'sessions-lock', text: 'SELECT 1 FROM sessions WHERE name = $1 FOR UPDATE' },
  // "C": byte order, as SQLite's default BINARY collation sorts.
  list: { name: 'sessions-list', text: 'SELECT * FROM sessions ORDER BY name COLLATE "C"' },
  remove: { name: 'sessions-remove', text: 'DELETE FROM sessions WHERE name = $1' },
  // IS NOT DISTINCT FROM is SQLite's null-safe IS: an expiry that stays unknown is no renewal.
  saveJar: {
    name: 'sessions-save-jar',
    text: `UPDATE sessions SET jar = $2, token_expires_at = $3::bigint, refresh_cookie = $4, refresh_expires_at = $5,
             renewed_at = CASE WHEN token_expires_at IS NOT DISTINCT FROM $3::bigint THEN renewed_at ELSE $6 END, jar_saved_at = $6, updated_at = $6
           WHERE name = $1 AND ($7::text IS NULL OR jar = $7::text)`,
  },
  setState: {
    name: 'sessions-set-state',
    text: `UPDATE sessions SET state = $2, cooldown_until = $3,
             last_error = CASE WHEN $4::boolean THEN $5 ELSE last_error END, updated_at = $6
           WHERE name = $1 AND NOT ($7::boolean AND state = 'disabled')`,
  },
  hold: {
    name: 'sessions-hold',
    text: `UPDATE sessions SET holder = $2, held_until = $3
           WHERE name = $1 AND (holder IS NULL OR holder = $2 OR held_until < $4 OR holder = ANY ($5::text[]))`,
  },
  dropHold: { name: 'sessions-drop-hold', text: 'UPDATE sessions SET holder = NULL, held_until = NULL WHERE name = $1 AND holder = $2' },
  setUserAgent: { name: 'sessions-set-user-agent', text: 'UPDATE sessions SET user_agent = $2, updated_at = $3 WHERE name = $1' },
  recordUse: {
    name: 'sessions-record-use',
    text: `UPDATE sessions SET requests = requests + $2, errors = errors + $3::boolean::int, books_done = books_done + $4::boolean::int,
             error_score = CASE WHEN $3::boolean THEN error_score + 1 ELSE greatest(0, error_score - 0.5) END,
             last_used_at = $5, updated_at = $5
           WHERE name = $1`,
  },
} as const;

/** The session rows on PostgreSQL, shared by every host's pool. */
export function pgSessionStore(pool: pg.Pool, deps: { clock: Clock }): Async<SessionStore> {
  const { clock } = deps;

  /** A transaction that writes a jar: committed durably (see SQL.durable). */
  const durably = <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> =>
    inTransaction(pool, async (c) => {
      await run(c, SQL.durable, []);
      return fn(c);
    });

  const changed = (r: pg.QueryResult) => r.rowCount === 1;

  const getOn = async (c: Queryable | pg.Pool, name: string) => {
    const row = (await run<SessionRow>(c, SQL.get, [name])).rows[0];
    return row && toRecord(row);
  };

  const insertOn = async (c: Queryable, session: NewSession) => {
    const rt = refreshParams(session.jarJson);
    const row = (
      await run<SessionRow>(c, SQL.insert, [
        session.name,
        session.jarJson,
        session.tokenExpiresAt ?? null,
        rt.refreshCookie === 1,
        rt.refreshExpiresAt,
        clock.now(),
        session.loginEmail ?? null,
        session.passwordFile ?? null,
        session.userAgent ?? null,
      ])
    ).rows[0];
    if (!row) throw sessionExistsError(session.name);
    return toRecord(row);
  };

  const saveJarOn = async (c: Queryable, name: string, jarJson: string, tokenExpiresAt: number | undefined, expected: string | undefined) => {
    const rt = refreshParams(jarJson);
    return changed(
      await run(c, SQL.saveJar, [name, jarJson, tokenExpiresAt ?? null, rt.refreshCookie === 1, rt.refreshExpiresAt, clock.now(), expected ?? null]),
    );
  };

  const setStateOn = async (c: Queryable | pg.Pool, name: string, state: SessionState, opts: SetStateOptions = {}) =>
    changed(
      await run(c, SQL.setState, [
        name,
        state,
        opts.cooldownUntil ?? null,
        opts.lastError !== undefined,
        opts.lastError ?? null,
        clock.now(),
        opts.unlessDisabled === true,
      ]),
    );

  const setUserAgentOn = async (c: Queryable | pg.Pool, name: string, userAgent: string | undefined) =>
    changed(await run(c, SQL.setUserAgent, [name, userAgent ?? null, clock.now()]));

  return {
    async add(session) {
      // Refused before a connection is taken: nothing to roll back.
      checkSessionName(session.name);
      return durably((c) => insertOn(c, session));
    },

    importJar(session, how) {
      return durably(async (c) => {
        const exists = (await run(c, SQL.lock, [session.name])).rowCount === 1;
        if (how === 'renew' && exists) {
          await saveJarOn(c, session.name, session.jarJson, session.tokenExpiresAt, undefined);
          await setStateOn(c, session.name, 'ok', { lastError: '' });
          if (session.userAgent !== undefined) await setUserAgentOn(c, session.name, session.userAgent);
          return (await getOn(c, session.name))!;
        }
        // As add: a refused name rolls the removal back.
        checkSessionName(session.name);
        if (exists) await run(c, SQL.remove, [session.name]);
        return insertOn(c, session);
      });
    },

    get: (name) => getOn(pool, name),

    async list() {
      return (await run<SessionRow>(pool, SQL.list, [])).rows.map(toRecord);
    },

    async remove(name) {
      return changed(await run(pool, SQL.remove, [name]));
    },

    saveJar(name, jarJson, tokenExpiresAt, expected) {
      return durably((c) => saveJarOn(c, name, jarJson, tokenExpiresAt, expected));
    },

    setState: (name, state, opts) => setStateOn(pool, name, state, opts),

    async recordUse(name, use) {
      return changed(await run(pool, SQL.recordUse, [name, use.requests ?? 0, !use.ok, use.bookDone === true, clock.now()]));
    },

    async hold(name, owner, untilMs, deadOwners = []) {
      return changed(await run(pool, SQL.hold, [name, owner, untilMs, clock.now(), deadOwners]));
    },

    async dropHold(name, owner) {
      return changed(await run(pool, SQL.dropHold, [name, owner]));
    },

    setUserAgent: (name, userAgent) => setUserAgentOn(pool, name, userAgent),
  };
}
