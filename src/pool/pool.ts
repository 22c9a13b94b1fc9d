import { createPool, type Pool } from 'generic-pool';
import { Agent, type Dispatcher } from 'undici';
import { systemClock, type Clock } from '../clock.js';
import { BookdError, SupersededJarError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_ACCEPT_LANGUAGE, DEFAULT_BUDGET, DEFAULT_USER_AGENT, type BudgetSettings } from '../config.js';
import { MachineBudget } from './budget.js';
import { credentialSource } from './credentials.js';
import { EdgeGate, type EdgeBackoff } from './edge-gate.js';
import { restoreJar } from './jar.js';
import { Pacer } from './pacer.js';
import { PARKED_STATES, type SessionRecord, type SessionState, type SessionStore } from '../db/sessions.js';
import { Session, type Timeouts } from './session.js';

/**
 * The pool's port for saving jars off the main thread (JarWriter implements it). `expected` is the
 * jar this chain last saved: the save must be refused with SupersededJarError when the row holds
 * another (cookies imported meanwhile win; docs/ARCHITECTURE.md, threads and processes).
 */
export interface JarSaver {
  save(name: string, jarJson: string, tokenExpiresAt: number | undefined, expected: string | undefined): Promise<void>;
}

/** What the pool reads and writes of the session rows: the jar after every response, the state on every transition. */
export type SessionStorePort = Pick<SessionStore, 'list' | 'saveJar' | 'setState' | 'recordUse' | 'hold' | 'release'>;
type SessionRow = SessionRecord;

export interface PoolOptions {
  baseUrl: string;
  /** The service's auth origin (login, token refresh); the base URL when not given. */
  authUrl?: string;
  /** For sessions that were not given their own browser's User-Agent. */
  userAgent?: string;
  acceptLanguage?: string;
  /** The machine's request budget, shared by every session of this pool. */
  budget?: BudgetSettings;
  store: SessionStorePort;
  logger: Logger;
  clock?: Clock;
  /** Minimum time between two requests of one session. */
  intervalMs: number;
  timeouts?: Timeouts;
  refreshMarginMs?: number;
  /** How long a checkout may wait for a session before giving up with a clear error. */
  acquireTimeoutMs?: number;
  edgeBackoff?: EdgeBackoff;
  /** How long a session rests after repeated server errors. */
  restMs?: number;
  credentialsDir?: string;
  /**
   * This process's name for holding sessions. With it, the pool uses only sessions it holds, so a
   * second daemon on the same database never shares a cookie jar with this one. Without it (tests
   * and one-shot commands) every session row is used.
   */
  owner?: string;
  /** How long a hold lasts unless renewed (reload renews it). */
  holdMs?: number;
  /** The most sessions this pool holds (a daemon with fewer workers leaves the rest to others). */
  maxSessions?: number;
  /** Holders known to be gone, whose sessions may be taken over at once. */
  goneOwners?: () => string[];
  /** Saves jars off the main thread (JarWriter); without it the store saves synchronously. */
  jarSaver?: JarSaver;
  /** Shared HTTP agent; the pool makes (and later closes) its own when none is given. */
  agent?: Dispatcher;
  random?: () => number;
}

interface Member {
  name: string;
  row: SessionRow;
  session: Session | undefined;
  state: SessionState;
  cooldownUntil: number;
  lastError: string | undefined;
  /** Between generic-pool's create and destroy: lent out or idle in the pool. */
  inPool: boolean;
  lastReturned: number;
  errorScore: number;
  authStrikes: number;
  /** Books in a row this session was answered 404 for while search lists them. */
  notFoundStrikes: number;
  reloggedIn: boolean;
  /** The jars we saved last (saves may still be in flight): any other jar in the row came from the operator. */
  savedJars: string[];
  retire: boolean;
}

export interface SessionView {
  name: string;
  state: SessionState;
  cooldownUntil: number | null;
  errorScore: number;
  lastError: string | undefined;
  requests: number;
  lent: boolean;
}

/** Thrown by a checkout that found no usable session in time; the job is not at fault. */
export class NoSessionError extends BookdError {
  constructor(message: string, retryAt: number) {
    super('rate_limited', message, { retryAt });
    this.name = 'NoSessionError';
  }
}

const SCORE_LIMIT = 3;
/**
 * After this many books in a row answered 404 although search lists them, a session is parked as
 * `partial` even when no other session could compare (docs/SERVICE.md §1: a partial cookie set is
 * treated as anonymous). With other sessions it usually happens sooner: one of them reads a book
 * this one could not.
 */
const NOT_FOUND_LIMIT = 3;

/**
 * N independently authenticated sessions behind generic-pool. A checkout lends one session
 * exclusively (FIFO over idle sessions); what went wrong during the checkout decides the
 * session's next state: cooling after a 429, parked after auth that cannot be repaired, everyone
 * paused after an edge refusal.
 */
export class SessionPool {
  readonly edge: EdgeGate;
  readonly budget: MachineBudget;
  private readonly opts: PoolOptions;
  private readonly clock: Clock;
  private readonly agent: Dispatcher;
  private readonly ownsAgent: boolean;
  private readonly members = new Map<string, Member>();
  private readonly pool: Pool<Member>;
  private wake: (() => void)[] = [];
  /** Usable sessions another daemon holds right now. */
  private elsewhere = 0;
  private returned: (() => void)[] = [];
  private closing = false;

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.edge = new EdgeGate(this.clock, opts.edgeBackoff);
    this.budget = new MachineBudget(
      this.clock,
      opts.budget ?? DEFAULT_BUDGET,
      (move, b) => {
        const fields = { rate: Number(b.rate.toFixed(3)), ceiling: b.ceiling, reason: b.reason };
        if (move === 'cut') opts.logger.warn(fields, `machine budget ${b.reason}`);
        else if (move === 'rise' && b.rate >= b.ceiling) opts.logger.info(fields, `machine budget ${b.reason}`);
        else opts.logger.debug(fields, `machine budget: ${b.reason}`);
      },
      opts.random,
    );
    this.ownsAgent = !opts.agent;
    this.agent = opts.agent ?? new Agent({ connections: 64, keepAliveTimeout: 10_000 });
    this.reload();
    this.pool = createPool<Member>(
      {
        create: () => this.create(),
        destroy: async (m) => {
          m.inPool = false;
          this.notify();
        },
        validate: async (m) => {
          try {
            return this.usable(m);
          } catch {
            return false;
          }
        },
      },
      {
        max: 4096,
        // One resource per session, created up front: with min 0 generic-pool creates resources
        // only under concurrency, and a lone worker would be lent the same session forever.
        min: Math.max(1, this.members.size),
        fifo: true,
        testOnBorrow: true,
        acquireTimeoutMillis: opts.acquireTimeoutMs ?? 120_000,
        autostart: true,
      },
    );
  }

  /**
   * generic-pool has no public way to change `min` after creation; it is frozen at 3.9.0, so its
   * private config field is a stable place to grow the pool when sessions are added (and to drop
   * to 0 at close, so clearing it does not ask for replacements).
   */
  private setMin(n: number): void {
    const internal = this.pool as unknown as { _config: { min: number }; _ensureMinimum(): void };
    internal._config.min = n;
    internal._ensureMinimum();
  }

  /** Reads the session rows again (start, SIGHUP, and periodically): new, removed, re-imported, disabled. */
  reload(): void {
    const rows = this.holdable(this.opts.store.list());
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      const m = this.members.get(row.name);
      if (!m) {
        this.members.set(row.name, this.member(row));
        continue;
      }
      const parked = PARKED_STATES.includes(m.state);
      const usableRow = row.state === 'ok' || row.state === 'cooling';
      if (PARKED_STATES.includes(row.state) && !parked) {
        // Parked from outside: the operator disabled it, or another daemon found its cookie set partial.
        m.state = row.state;
        m.lastError = row.lastError;
        m.retire = true;
      } else if (!m.savedJars.includes(row.jarJson)) {
        // Re-imported: a new token chain. The old one, if lent, finds its next save refused.
        const fresh = this.member(row);
        if (m.inPool) {
          m.retire = true;
          fresh.inPool = false;
        }
        this.members.set(row.name, fresh);
      } else if (parked && usableRow) {
        // Enabled again by the operator, same cookies. While the old member is in the pool (lent,
        // most likely) it must stay the only one on this token chain: it is revived, not copied.
        if (m.inPool && m.session) {
          Object.assign(m, { state: row.state, retire: false, authStrikes: 0, reloggedIn: false, lastError: row.lastError, cooldownUntil: row.cooldownUntil ?? 0 });
        } else {
          this.members.set(row.name, this.member(row));
        }
      }
    }
    for (const [name, m] of this.members) {
      if (!seen.has(name)) {
        m.retire = true;
        m.state = 'disabled';
        if (!m.inPool) this.members.delete(name);
      }
    }
    if (this.pool && this.members.size > this.pool.min) this.setMin(this.members.size);
    this.notify();
  }

  /**
   * The rows this pool may use: all of them without an owner; else those it holds (taking free,
   * lapsed or orphaned ones up to maxSessions, renewing its own). A row it has just taken over is
   * read fresh, since another process may have rotated its token meanwhile.
   */
  private holdable(rows: SessionRow[]): SessionRow[] {
    const { owner } = this.opts;
    if (!owner) return rows;
    const until = this.clock.now() + (this.opts.holdMs ?? 120_000);
    const gone = this.opts.goneOwners?.() ?? [];
    const limit = this.opts.maxSessions ?? Infinity;
    const out: SessionRow[] = [];
    let held = 0;
    this.elsewhere = 0;
    for (const row of rows) {
      const mine = row.holder === owner;
      // A lent session keeps its hold until it comes back, whatever its row says meanwhile: no
      // other process may start on its token chain while a request of ours may still be out.
      const lent = mine && this.lent(row.name);
      if (row.state !== 'ok' && row.state !== 'cooling') {
        if (mine && !lent) this.opts.store.release(row.name, owner);
        if (lent) this.opts.store.hold(row.name, owner, until, gone);
        out.push(row);
        continue;
      }
      if ((held >= limit && !lent) || !this.opts.store.hold(row.name, owner, until, gone)) {
        if (mine && !lent) this.opts.store.release(row.name, owner);
        else if (held < limit) this.elsewhere++;
        continue;
      }
      held++;
      if (!mine) {
        const previous = this.members.get(row.name);
        if (previous) previous.retire = true;
        this.members.delete(row.name);
      }
      out.push({ ...row, holder: owner });
    }
    return out;
  }

  private lent(name: string): boolean {
    const m = this.members.get(name);
    return m !== undefined && (this.pool?.isBorrowedResource(m) ?? false);
  }

  private member(row: SessionRow): Member {
    const m: Member = {
      name: row.name,
      row,
      session: undefined,
      state: row.state,
      cooldownUntil: row.cooldownUntil ?? 0,
      lastError: row.lastError,
      inPool: false,
      lastReturned: 0,
      errorScore: 0,
      authStrikes: 0,
      notFoundStrikes: 0,
      reloggedIn: false,
      savedJars: [row.jarJson],
      retire: false,
    };
    if (row.state === 'ok' || row.state === 'cooling') {
      try {
        m.session = this.buildSession(m);
      } catch (err) {
        m.state = 'expired';
        m.lastError = errorMessage(err);
        this.opts.store.setState(row.name, 'expired', { lastError: m.lastError });
      }
    }
    return m;
  }

  private buildSession(m: Member): Session {
    const { opts } = this;
    return new Session({
      name: m.name,
      baseUrl: opts.baseUrl,
      authUrl: opts.authUrl,
      userAgent: m.row.userAgent ?? opts.userAgent ?? DEFAULT_USER_AGENT,
      acceptLanguage: opts.acceptLanguage ?? DEFAULT_ACCEPT_LANGUAGE,
      budget: this.budget,
      jar: restoreJar(m.row.jarJson),
      agent: this.agent,
      clock: this.clock,
      pacer: new Pacer(this.clock, opts.intervalMs, opts.random),
      edge: this.edge,
      timeouts: opts.timeouts,
      refreshMarginMs: opts.refreshMarginMs,
      credentials: credentialSource(m.row, opts.credentialsDir),
      logger: opts.logger,
      persistJar: (jarJson, exp) => {
        // Saved only over the jar this chain last saved: an import meanwhile wins.
        const expected = m.savedJars[0];
        m.savedJars = [jarJson, ...m.savedJars.slice(0, 3)];
        if (opts.jarSaver) return opts.jarSaver.save(m.name, jarJson, exp, expected);
        if (!opts.store.saveJar(m.name, jarJson, exp, expected)) return Promise.reject(new SupersededJarError(m.name));
      },
    });
  }

  private usable(m: Member): boolean {
    if (m.retire || !m.session || this.members.get(m.name) !== m) return false;
    if (m.state === 'ok') return true;
    return m.state === 'cooling' && m.cooldownUntil <= this.clock.now();
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const w of waiting) w();
  }

  /** generic-pool's create: waits for a usable session that is not lent; never rejects while open. */
  private async create(): Promise<Member> {
    for (;;) {
      if (this.closing) {
        // A create that rejects at once makes generic-pool spin: yield to the timers first.
        await new Promise((r) => setTimeout(r, 10));
        throw new Error('the session pool is closing');
      }
      const candidates = [...this.members.values()].filter((m) => !m.inPool && this.usable(m));
      candidates.sort((a, b) => a.lastReturned - b.lastReturned);
      const m = candidates[0];
      if (m) {
        m.inPool = true;
        if (m.state === 'cooling') this.setState(m, 'ok');
        return m;
      }
      const next = this.nextUsableAt();
      const controller = new AbortController();
      const woken = new Promise<void>((resolve) => this.wake.push(resolve));
      const wait = next === undefined ? 60_000 : Math.max(10, next - this.clock.now());
      await Promise.race([woken, this.clock.sleep(Math.min(wait, 60_000), controller.signal)]);
      controller.abort();
    }
  }

  /** When the next cooling session becomes usable, if any will without the operator. */
  nextUsableAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.members.values()) {
      if (m.state === 'cooling' && m.session && !m.retire) next = Math.min(next ?? Infinity, m.cooldownUntil);
    }
    return next;
  }

  /** Sessions that could be lent now or are merely resting. */
  usableCount(): number {
    return [...this.members.values()].filter((m) => m.session && !m.retire && this.members.get(m.name) === m && (m.state === 'ok' || m.state === 'cooling')).length;
  }

  /** Usable sessions held by other daemons on this database (they may come free). */
  heldElsewhere(): number {
    return this.elsewhere;
  }

  /** One sentence for status and the log when no session can work, else undefined. */
  noUsableReason(): string | undefined {
    const members = [...this.members.values()];
    if (members.some((m) => this.usable(m))) return undefined;
    if (members.length === 0 && this.elsewhere > 0) return `all ${this.elsewhere} usable sessions are held by other daemons on this database`;
    if (members.length === 0) return 'no sessions are configured: add one with bookd sessions add NAME --cookies FILE';
    const parts = members.map((m) =>
      m.state === 'cooling' ? `${m.name} cooling until ${new Date(m.cooldownUntil).toISOString()}` : `${m.name} ${m.state}${m.lastError ? ` (${m.lastError})` : ''}`,
    );
    const hint = members.some((m) => m.state === 'cooling') ? 'work resumes when one cools down' : 're-import cookies with bookd sessions add or enable one';
    return `no usable session: ${parts.join('; ')}; ${hint}`;
  }

  describe(): SessionView[] {
    return [...this.members.values()].map((m) => ({
      name: m.name,
      state: m.state === 'cooling' && m.cooldownUntil <= this.clock.now() ? 'ok' : m.state,
      cooldownUntil: m.state === 'cooling' ? m.cooldownUntil : null,
      errorScore: m.errorScore,
      lastError: m.lastError,
      requests: m.session?.requests ?? 0,
      lent: this.pool?.isBorrowedResource(m) ?? false,
    }));
  }

  /**
   * Keeps idle sessions alive: a session nobody has borrowed, whose token nears `exp`, gets a
   * /profile/ probe (requests of one session queue behind each other, so this never overlaps a
   * worker's request). A probe that shows the session lost goes through the usual recovery.
   */
  async upkeep(): Promise<void> {
    for (const m of [...this.members.values()]) {
      if (this.closing) return;
      const session = m.session;
      if (!session || !this.usable(m) || this.pool.isBorrowedResource(m) || !session.refreshDue()) continue;
      try {
        await session.refresh();
      } catch (err) {
        if (err instanceof BookdError) await this.failed(m, err);
      }
    }
  }

  /** The live session objects, for upkeep and tests (exclusive use still goes through withSession). */
  sessions(): Session[] {
    return [...this.members.values()].flatMap((m) => (m.session ? [m.session] : []));
  }

  /**
   * Lends a session exclusively to `fn` and returns it afterwards, judging the session by how the
   * checkout ended. Rejects with NoSessionError when none becomes usable within the wait.
   */
  async withSession<T>(fn: (session: Session) => Promise<T>, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const m = await this.acquire(opts.signal);
    // Recovery may replace m.session; the requests to count are those of the one lent out.
    const lent = m.session!;
    let ok = false;
    try {
      const result = await fn(lent);
      ok = true;
      this.succeeded(m);
      return result;
    } catch (err) {
      await this.failed(m, err);
      throw err;
    } finally {
      m.lastReturned = this.clock.now();
      try {
        this.opts.store.recordUse(m.name, { ok, requests: lent.takeRequestCount() });
      } catch (err) {
        // Counters only: the session must still go back, or it is lost until a restart.
        this.opts.logger.warn({ session: m.name, err: errorMessage(err) }, 'recording a session use failed');
      }
      if (m.retire || !this.usable(m) || this.closing) await this.pool.destroy(m);
      else await this.pool.release(m);
      this.wakeReturned();
    }
  }

  private wakeReturned(): void {
    const returned = this.returned;
    this.returned = [];
    for (const r of returned) r();
  }

  private async acquire(signal?: AbortSignal): Promise<Member> {
    signal?.throwIfAborted();
    const pending = this.pool.acquire();
    if (!signal) return this.mapTimeout(pending);
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.mapTimeout(pending), aborted]);
    } catch (err) {
      // The acquire cannot be withdrawn from generic-pool; hand the session back when it arrives.
      pending.then(
        (m) => this.pool.release(m).then(() => this.wakeReturned()),
        () => undefined,
      );
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async mapTimeout(pending: Promise<Member>): Promise<Member> {
    try {
      return await pending;
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        const reason = this.noUsableReason() ?? 'every usable session is busy';
        throw new NoSessionError(reason, this.nextUsableAt() ?? this.clock.now() + 60_000);
      }
      throw err;
    }
  }

  private setState(m: Member, state: SessionState, lastError?: string, cooldownUntil?: number): void {
    m.state = state;
    if (lastError !== undefined) m.lastError = lastError;
    m.cooldownUntil = cooldownUntil ?? 0;
    this.opts.store.setState(m.name, state, { cooldownUntil, lastError, unlessDisabled: true });
  }

  private succeeded(m: Member): void {
    m.errorScore = Math.max(0, m.errorScore - 0.5);
    m.authStrikes = 0;
    m.notFoundStrikes = 0;
    m.reloggedIn = false;
  }

  private async failed(m: Member, err: unknown): Promise<void> {
    if (!(err instanceof BookdError)) return;
    const log = this.opts.logger;
    if (err instanceof SupersededJarError) {
      m.retire = true;
      log.info({ session: m.name }, 'session cookies replaced by the operator: continuing from the new ones');
      this.reload();
      return;
    }
    switch (err.kind) {
      case 'rate_limited':
        if (err.edge) {
          const until = this.edge.block();
          log.warn({ session: m.name, until: new Date(until).toISOString() }, 'the edge refused this machine: every session pauses');
        } else if (!(err instanceof NoSessionError)) {
          const until = err.retryAt ?? this.clock.now() + 60_000;
          this.setState(m, 'cooling', 'rate limited (429)', until);
          // A 429 is also a sign the machine as a whole asks too much (docs/SERVICE.md §4).
          this.budget.cut(`session ${m.name} was answered 429`, m.session?.lastSentAt);
          log.info({ session: m.name, until: new Date(until).toISOString() }, 'session rate limited: cooling down');
        }
        return;
      case 'transient':
        m.errorScore += 1;
        if (m.errorScore >= SCORE_LIMIT) {
          const until = this.clock.now() + (this.opts.restMs ?? 60_000);
          m.errorScore = SCORE_LIMIT - 1;
          this.setState(m, 'cooling', `repeated errors: ${err.message}`, until);
          log.warn({ session: m.name, err: err.message }, 'session rests after repeated errors');
        }
        return;
      case 'auth':
        await this.recover(m, err);
        return;
      case 'not_found': {
        // The book may be fine and this session's cookie set partial: it rests, so another
        // session takes the book and settles which it is.
        m.notFoundStrikes++;
        if (m.notFoundStrikes >= NOT_FOUND_LIMIT) {
          this.setState(m, 'partial', `answered 404 for ${m.notFoundStrikes} books in a row that search lists: its cookie set is probably partial; export all cookies of the site and renew it (bookd sessions add ${m.name} --cookies FILE --replace)`);
          log.error({ session: m.name }, `session ${m.name} parked: ${m.lastError}`);
          return;
        }
        const until = this.clock.now() + (this.opts.restMs ?? 60_000);
        this.setState(m, 'cooling', `answered 404 for a book: another session confirms (${err.message})`, until);
        return;
      }
      default:
        return;
    }
  }

  /**
   * After an auth failure, while the session is still held exclusively: the probe, then the token
   * endpoint (Session.recover); log in again once if the operator left credentials; otherwise park
   * the session.
   */
  private async recover(m: Member, err: BookdError): Promise<void> {
    const log = this.opts.logger;
    const session = m.session!;
    m.authStrikes++;
    if (m.authStrikes === 1) {
      try {
        const profile = await session.recover();
        if (profile.status === 'lapsed') {
          this.setState(m, 'failed', `the subscription has lapsed (user type ${profile.userType})`);
          log.error({ session: m.name }, 'session parked: the subscription has lapsed; renew it, then import fresh cookies');
          return;
        }
        // The session is fine, so the failure was the book's (a title outside the plan): the
        // next auth failure gets a probe too, and the queue blames the book after a few.
        m.authStrikes = 0;
        log.info({ session: m.name }, 'session refreshed after an auth failure');
        return;
      } catch (probeErr) {
        if (!(probeErr instanceof BookdError) || probeErr.kind !== 'auth') return;
      }
    }
    if (!m.reloggedIn && session.hasCredentials()) {
      m.reloggedIn = true;
      try {
        await session.relogin();
        m.authStrikes = 0;
        log.info({ session: m.name }, 'session logged in again');
        return;
      } catch (loginErr) {
        if (loginErr instanceof BookdError && loginErr.kind === 'auth' && loginErr.status === 401) {
          this.setState(m, 'failed', loginErr.message);
          log.error({ session: m.name, err: loginErr.message }, 'session parked: its credentials were refused');
          return;
        }
        if (!(loginErr instanceof BookdError && loginErr.kind === 'auth')) {
          // The login itself met a network error, a 5xx or a 429: try again later, not park.
          m.reloggedIn = false;
          const until = loginErr instanceof BookdError && loginErr.retryAt ? loginErr.retryAt : this.clock.now() + (this.opts.restMs ?? 60_000);
          this.setState(m, 'cooling', `logging in again failed: ${errorMessage(loginErr)}`, until);
          log.warn({ session: m.name, err: errorMessage(loginErr) }, 'logging in again failed; the session rests and tries again');
          return;
        }
      }
    }
    this.setState(m, 'expired', err.message);
    log.error(
      { session: m.name, err: err.message },
      `session ${m.name} parked as expired: import fresh cookies with bookd sessions add ${m.name} --cookies FILE --replace`,
    );
  }

  /**
   * Parks a session the daemon judged from outside a checkout (a 404 where another session read
   * the book: a partial cookie set). A lent one is parked when it comes back.
   */
  park(name: string, state: Extract<SessionState, 'partial' | 'expired' | 'failed'>, reason: string): void {
    const m = this.members.get(name);
    if (m) {
      this.setState(m, state, reason);
      m.retire = true;
    } else {
      this.opts.store.setState(name, state, { lastError: reason, unlessDisabled: true });
    }
    this.opts.logger.error({ session: name, state, err: reason }, `session ${name} parked as ${state}: ${reason}`);
    this.notify();
  }

  /**
   * Stops lending and closes the HTTP agent if it is ours. Callers abort their checkouts first;
   * this waits for the lent sessions to come back so no jar is mid-request when the process ends.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.notify();
    while (this.pool.borrowed > 0) await new Promise<void>((resolve) => this.returned.push(resolve));
    this.setMin(0);
    await this.pool.clear();
    if (this.opts.owner) for (const name of this.members.keys()) this.opts.store.release(name, this.opts.owner);
    if (this.ownsAgent) await (this.agent as Agent).close();
  }
}
