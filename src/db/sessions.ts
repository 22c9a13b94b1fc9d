import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { BookdError } from '../errors.js';
import { refreshCookieOfJson } from './refresh-cookie.js';
import type { WriteTransaction } from './write-lock.js';

/**
 * `partial`: answered 404 for a book another session could read, which is how the service treats
 * a partial cookie set (docs/SERVICE.md §1); parked until the operator renews or enables it.
 */
export type SessionState = 'ok' | 'cooling' | 'expired' | 'disabled' | 'failed' | 'partial';
export const SESSION_STATES: readonly SessionState[] = ['ok', 'cooling', 'expired', 'disabled', 'failed', 'partial'];
/** States the operator has to act on: the pool never lends such a session. */
export const PARKED_STATES: readonly SessionState[] = ['expired', 'disabled', 'failed', 'partial'];

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function isSessionName(name: string): boolean {
  return NAME.test(name);
}

export interface NewSession {
  name: string;
  /** The serialised cookie jar (tough-cookie `serializeSync()` JSON). */
  jarJson: string;
  tokenExpiresAt?: number;
  loginEmail?: string;
  /** A path the operator gave for re-login; the password itself is never stored. */
  passwordFile?: string;
  /** The browser the cookies came from; requests of this session present it. */
  userAgent?: string;
}

export interface SessionRecord {
  name: string;
  state: SessionState;
  jarJson: string;
  tokenExpiresAt: number | undefined;
  /** Whether the jar holds an orm-rt, the cookie that refreshes the token (docs/SERVICE.md §1). */
  hasRefreshCookie: boolean;
  /** When that orm-rt expires: the last moment the session can refresh itself (undefined: unknown). */
  refreshExpiresAt: number | undefined;
  /** When the token's exp last moved (a refresh, a rotation, or new cookies). */
  renewedAt: number | undefined;
  loginEmail: string | undefined;
  passwordFile: string | undefined;
  userAgent: string | undefined;
  /** HTTP requests sent with this session. */
  requests: number;
  /** Checkouts that ended in a failure. */
  errors: number;
  booksDone: number;
  /** +1 per failed checkout, −0.5 per good one, never below 0 (Crawlee's scoring). */
  errorScore: number;
  cooldownUntil: number | undefined;
  lastError: string | undefined;
  lastUsedAt: number | undefined;
  jarSavedAt: number | undefined;
  /** The daemon (or command) that holds the session, while its hold lasts. */
  holder: string | undefined;
  heldUntil: number | undefined;
  createdAt: number;
  updatedAt: number;
}

export interface SetStateOptions {
  /** When a cooling session may be used again; cleared when not given. */
  cooldownUntil?: number;
  /** Kept as it was when not given. */
  lastError?: string;
  /** Leave a session the operator disabled as it is (the daemon's own verdicts must not undo it). */
  unlessDisabled?: boolean;
}

/** One row per authenticated identity; the pool writes every jar change through here. */
export interface SessionStore {
  add(session: NewSession): SessionRecord;
  get(name: string): SessionRecord | undefined;
  list(): SessionRecord[];
  remove(name: string): boolean;
  /**
   * One prepared UPDATE, committed before it returns: call it after every response that changed
   * the jar. With `expected`, only when the row still holds that jar: false means the operator
   * replaced the cookies (or removed the session) meanwhile, and the caller's token chain is stale.
   */
  saveJar(name: string, jarJson: string, tokenExpiresAt: number | undefined, expected?: string): boolean;
  setState(name: string, state: SessionState, opts?: SetStateOptions): boolean;
  /** One checkout ended: `requests` HTTP requests were sent (default 0), `ok` judges the checkout. */
  recordUse(name: string, use: { ok: boolean; requests?: number; bookDone?: boolean }): boolean;
  /**
   * Takes or renews `owner`'s hold on a session until `untilMs`: true when it is free, already
   * `owner`'s, lapsed, or held by one of `deadOwners` (processes known to be gone).
   */
  hold(name: string, owner: string, untilMs: number, deadOwners?: readonly string[]): boolean;
  /** Drops `owner`'s hold on the session; false when `owner` did not hold it. */
  dropHold(name: string, owner: string): boolean;
  /** The browser this session presents itself as (undefined: the configured default). */
  setUserAgent(name: string, userAgent: string | undefined): boolean;
  /**
   * New cookies for a session, in one transaction. `renew` keeps the row (its counters and
   * history) and gives it the jar, state ok and, when given, the User-Agent; `replace` drops the
   * row if there is one and adds `session` afresh (a login, whose email and password file are
   * the row's). A holder's chain finds its next save refused and goes on from the new jar.
   */
  importJar(session: NewSession, how: 'renew' | 'replace'): SessionRecord;
}

/** A row of `sessions` as either driver returns it (bigint as number on PostgreSQL, src/db/pg/connect.ts). */
export interface SessionRow {
  name: string;
  state: SessionState;
  jar: string;
  token_expires_at: number | null;
  /** SQLite's 0 | 1; a boolean column on PostgreSQL. */
  refresh_cookie: 0 | 1 | boolean;
  refresh_expires_at: number | null;
  renewed_at: number | null;
  login_email: string | null;
  password_file: string | null;
  user_agent: string | null;
  requests: number;
  errors: number;
  books_done: number;
  error_score: number;
  cooldown_until: number | null;
  last_error: string | null;
  last_used_at: number | null;
  jar_saved_at: number | null;
  holder: string | null;
  held_until: number | null;
  created_at: number;
  updated_at: number;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export function toRecord(r: SessionRow): SessionRecord {
  return {
    name: r.name,
    state: r.state,
    jarJson: r.jar,
    tokenExpiresAt: opt(r.token_expires_at),
    hasRefreshCookie: r.refresh_cookie === 1 || r.refresh_cookie === true,
    refreshExpiresAt: opt(r.refresh_expires_at),
    renewedAt: opt(r.renewed_at),
    loginEmail: opt(r.login_email),
    passwordFile: opt(r.password_file),
    userAgent: opt(r.user_agent),
    requests: r.requests,
    errors: r.errors,
    booksDone: r.books_done,
    errorScore: r.error_score,
    cooldownUntil: opt(r.cooldown_until),
    lastError: opt(r.last_error),
    lastUsedAt: opt(r.last_used_at),
    jarSavedAt: opt(r.jar_saved_at),
    holder: opt(r.holder),
    heldUntil: opt(r.held_until),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The orm-rt columns of a jar about to be stored: derived here, so every save keeps them true. */
export function refreshParams(jarJson: string): { refreshCookie: 0 | 1; refreshExpiresAt: number | null } {
  const rt = refreshCookieOfJson(jarJson);
  return { refreshCookie: rt.present ? 1 : 0, refreshExpiresAt: rt.expiresAt ?? null };
}

/** What `add` refuses before it writes anything: a name the CLI, the paths and the logs cannot all carry. */
export function checkSessionName(name: string): void {
  if (!isSessionName(name)) {
    throw new BookdError('bad_input', `"${name}" is not a valid session name: use 1–64 letters, digits, '.', '_' or '-'`);
  }
}

/** `add` of a name that is taken: the stored session is left alone. */
export function sessionExistsError(name: string): BookdError {
  return new BookdError('bad_input', `a session named "${name}" already exists: remove it first (bookd sessions remove ${name}) or pick another name`);
}

export function sqliteSessionStore(db: Database, deps: { clock: Clock; tx: WriteTransaction }): SessionStore {
  const { clock, tx } = deps;
  const s = {
    insert: db.prepare(
      `INSERT INTO sessions (name, jar, token_expires_at, refresh_cookie, refresh_expires_at, renewed_at, login_email, password_file, user_agent,
                             jar_saved_at, created_at, updated_at)
       VALUES (@name, @jar, @tokenExpiresAt, @refreshCookie, @refreshExpiresAt, @now, @loginEmail, @passwordFile, @userAgent, @now, @now, @now)
       ON CONFLICT (name) DO NOTHING`,
    ),
    get: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE name = ?'),
    list: db.prepare<[], SessionRow>('SELECT * FROM sessions ORDER BY name'),
    remove: db.prepare('DELETE FROM sessions WHERE name = ?'),
    saveJar: db.prepare(
      `UPDATE sessions SET jar = @jar, token_expires_at = @tokenExpiresAt, refresh_cookie = @refreshCookie, refresh_expires_at = @refreshExpiresAt,
         renewed_at = CASE WHEN token_expires_at IS @tokenExpiresAt THEN renewed_at ELSE @now END, jar_saved_at = @now, updated_at = @now
       WHERE name = @name AND (@expected IS NULL OR jar = @expected)`,
    ),
    setState: db.prepare(
      `UPDATE sessions SET state = @state, cooldown_until = @cooldownUntil,
         last_error = CASE WHEN @setError THEN @lastError ELSE last_error END, updated_at = @now
       WHERE name = @name AND NOT (@unlessDisabled AND state = 'disabled')`,
    ),
    hold: db.prepare(
      `UPDATE sessions SET holder = @owner, held_until = @until
       WHERE name = @name AND (holder IS NULL OR holder = @owner OR held_until < @now OR holder IN (SELECT value FROM json_each(@dead)))`,
    ),
    dropHold: db.prepare('UPDATE sessions SET holder = NULL, held_until = NULL WHERE name = @name AND holder = @owner'),
    setUserAgent: db.prepare('UPDATE sessions SET user_agent = @userAgent, updated_at = @now WHERE name = @name'),
    recordUse: db.prepare(
      `UPDATE sessions SET requests = requests + @requests, errors = errors + @failed, books_done = books_done + @bookDone,
         error_score = CASE WHEN @failed THEN error_score + 1 ELSE max(0, error_score - 0.5) END,
         last_used_at = @now, updated_at = @now
       WHERE name = @name`,
    ),
  };

  const add = tx((session: NewSession): SessionRecord => {
    checkSessionName(session.name);
    const info = s.insert.run({
      name: session.name,
      jar: session.jarJson,
      tokenExpiresAt: session.tokenExpiresAt ?? null,
      ...refreshParams(session.jarJson),
      loginEmail: session.loginEmail ?? null,
      passwordFile: session.passwordFile ?? null,
      userAgent: session.userAgent ?? null,
      now: clock.now(),
    });
    if (info.changes === 0) throw sessionExistsError(session.name);
    return toRecord(s.get.get(session.name)!);
  });

  const setUserAgent = tx(
    (name: string, userAgent: string | undefined) => s.setUserAgent.run({ name, userAgent: userAgent ?? null, now: clock.now() }).changes === 1,
  );

  return {
    add,

    importJar: tx((session: NewSession, how: 'renew' | 'replace'): SessionRecord => {
      const exists = s.get.get(session.name) !== undefined;
      if (how === 'renew' && exists) {
        const now = clock.now();
        s.saveJar.run({
          name: session.name,
          jar: session.jarJson,
          tokenExpiresAt: session.tokenExpiresAt ?? null,
          ...refreshParams(session.jarJson),
          expected: null,
          now,
        });
        s.setState.run({ name: session.name, state: 'ok', cooldownUntil: null, setError: 1, lastError: '', unlessDisabled: 0, now });
        if (session.userAgent !== undefined) setUserAgent(session.name, session.userAgent);
        return toRecord(s.get.get(session.name)!);
      }
      if (exists) s.remove.run(session.name);
      return add(session);
    }),

    get(name) {
      const row = s.get.get(name);
      return row && toRecord(row);
    },

    list: () => s.list.all().map(toRecord),

    remove: tx((name: string) => s.remove.run(name).changes === 1),

    saveJar: tx(
      (name: string, jarJson: string, tokenExpiresAt: number | undefined, expected?: string) =>
        s.saveJar.run({
          name,
          jar: jarJson,
          tokenExpiresAt: tokenExpiresAt ?? null,
          ...refreshParams(jarJson),
          expected: expected ?? null,
          now: clock.now(),
        }).changes === 1,
    ),

    setState: tx(
      (name: string, state: SessionState, opts: SetStateOptions = {}) =>
        s.setState.run({
          name,
          state,
          cooldownUntil: opts.cooldownUntil ?? null,
          setError: opts.lastError === undefined ? 0 : 1,
          lastError: opts.lastError ?? null,
          unlessDisabled: opts.unlessDisabled ? 1 : 0,
          now: clock.now(),
        }).changes === 1,
    ),

    hold: tx(
      (name: string, owner: string, untilMs: number, deadOwners: readonly string[] = []) =>
        s.hold.run({ name, owner, until: untilMs, now: clock.now(), dead: JSON.stringify(deadOwners) }).changes === 1,
    ),

    dropHold: tx((name: string, owner: string) => s.dropHold.run({ name, owner }).changes === 1),

    setUserAgent,

    recordUse: tx(
      (name: string, use: { ok: boolean; requests?: number; bookDone?: boolean }) =>
        s.recordUse.run({ name, requests: use.requests ?? 0, failed: use.ok ? 0 : 1, bookDone: use.bookDone ? 1 : 0, now: clock.now() }).changes === 1,
    ),
  };
}
