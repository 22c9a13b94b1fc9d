import { createPool, type Pool } from 'generic-pool';
import { Agent, type Dispatcher } from 'undici';
import { systemClock, type Clock } from '../clock.js';
import { BookdError, SupersededJarError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_ACCEPT_LANGUAGE, DEFAULT_BUDGET, DEFAULT_USER_AGENT, type BudgetSettings, type Tuning } from '../config.js';
import { MachineBudget } from './budget.js';
import { credentialSource } from './credentials.js';
import { EdgeGate } from './edge-gate.js';
import { holdTracker, type HoldTracker } from './hold-state.js';
import { sessionHolds, type Holds } from './holds.js';
import { restoreJar } from './jar.js';
import { Pacer } from './pacer.js';
import { PARKED_STATES, type SessionRecord, type SessionState, type SessionStore } from '../db/sessions.js';
import { Session } from './session.js';
import { renewCommand } from './expiry.js';
import type { EventBus } from '../daemon/events.js';
import type { Async } from '../db/async.js';

/**
 * The pool's port for saving jars off the main thread (JarWriter implements it). `expected` is the
 * jar this chain last saved: the save must be refused with SupersededJarError when the row holds
 * another (cookies imported meanwhile win; docs/ARCHITECTURE.md, threads and processes).
 */
export interface JarSaver {
  save(name: string, jarJson: string, tokenExpiresAt: number | undefined, expected: string | undefined): Promise<void>;
}

/** What the pool reads and writes of the session rows: the jar after every response, the state on every transition. */
export type SessionStorePort = Async<Pick<SessionStore, 'list' | 'saveJar' | 'setState' | 'recordUse' | 'hold' | 'dropHold'>>;

/** The parts of the tuning (src/config.ts) a pool uses: its own, its sessions', their holds and the edge pause. */
export type PoolTuning = Pick<Tuning, 'pool' | 'requests' | 'session' | 'holds' | 'edge'>;

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
  /** The pool's durations, validated (config.ts `validateTuning`): `config.tuning`, or DEFAULT_TUNING in tests. */
  tuning: PoolTuning;
  credentialsDir?: string;
  /**
   * This process's name for holding sessions. With it, the pool uses only sessions it holds, so a
   * second daemon on the same database never shares a cookie jar with this one. Without it (tests
   * and one-shot commands) every session row is used.
   */
  owner?: string;
  /** The most sessions this pool holds (a daemon with fewer workers leaves the rest to others). */
  maxSessions?: number;
  /** Holders known to be gone, whose sessions may be taken over at once. */
  goneOwners?: () => Promise<readonly string[]>;
  /** Saves jars off the main thread (JarWriter); without it the store saves synchronously. */
  jarSaver?: JarSaver;
  /** Shared HTTP agent; the pool makes (and later closes) its own when none is given. */
  agent?: Dispatcher;
  /** Hears session.expired and session.failed when this pool parks a session (src/daemon/events.ts). */
  events?: EventBus;
  random?: () => number;
}

/**
 * One token chain of one session row. Its own generic-pool of one resource (the Session) lends it:
 * `borrowed`/`pending` of that pool say whether it is out, and `max: 1` means a chain is never
 * lent twice whatever the bookkeeping here gets wrong. A re-import makes a new Member for the row;
 * the old one is destroyed when it comes back.
 */
interface Member {
  name: string;
  row: SessionRecord;
  session: Session | undefined;
  lease: Pool<Session> | undefined;
  state: SessionState;
  cooldownUntil: number;
  lastError: string | undefined;
  /** When it came back last, as a count of give-backs: ties of the clock's milliseconds cannot reorder it. */
  returnedSeq: number;
  errorScore: number;
  authStrikes: number;
  /** Books in a row this session was answered 404 for while search lists them. */
  notFoundStrikes: number;
  reloggedIn: boolean;
  /** The jars we saved last (saves may still be in flight): any other jar in the row came from the operator. */
  savedJars: string[];
}

interface Waiter {
  resolve(m: Member): void;
  reject(err: unknown): void;
  /** Stops its timer and abort listener. */
  done(): void;
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
 * N independently authenticated sessions, each token chain lent through its own generic-pool of
 * one (public API only: acquire, release, destroy, drain, clear, borrowed, pending). Checkouts
 * wait in one FIFO queue here and are given the idle usable session returned longest ago; what
 * went wrong during the checkout decides the session's next state: cooling after a 429, parked
 * after auth that cannot be repaired, everyone paused after an edge refusal.
 */
export class SessionPool {
  readonly edge: EdgeGate;
  readonly budget: MachineBudget;
  private readonly opts: PoolOptions;
  private readonly clock: Clock;
  private readonly agent: Dispatcher;
  private readonly ownsAgent: boolean;
  /** The current chain of each row this pool uses. */
  private readonly members = new Map<string, Member>();
  /** Every chain whose generic-pool is not cleared yet: the current ones and replaced ones still lent. */
  private readonly chains = new Set<Member>();
  private waiters: Waiter[] = [];
  /** Rows removed while this pool used them, and until when they are waited for. */
  private readonly removed = new Map<string, number>();
  /** Wakes the queue when the next cooling session cools down. */
  private coolTimer: AbortController | undefined;
  /** Usable sessions another daemon holds right now. */
  private elsewhere = 0;
  private returned: (() => void)[] = [];
  private giveBacks = 0;
  private closing = false;
  /** This pool's holds on session rows, when it has an owner. */
  private readonly holds: Holds | undefined;
  /** How recently each of those holds was renewed, which its sessions consult before every request. */
  private readonly held: HoldTracker | undefined;
  /** The reload under way, and the one asked for meanwhile (which starts when it ends). */
  private reloading: Promise<void> | undefined;
  private reloadNext: Promise<void> | undefined;
  /** State writes nobody waits for (a dispatch's cooling → ok): close waits for them. */
  private readonly writes = new Set<Promise<void>>();

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.holds =
      opts.owner === undefined
        ? undefined
        : sessionHolds(opts.store, { clock: this.clock, owner: opts.owner, ...opts.tuning.holds, goneOwners: opts.goneOwners });
    this.held = this.holds && holdTracker(this.clock, { holdMs: opts.tuning.holds.holdMs, marginMs: opts.tuning.holds.sendMarginMs });
    this.edge = new EdgeGate(this.clock, opts.tuning.edge);
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
    this.agent = opts.agent ?? new Agent({ connections: opts.tuning.pool.connections, keepAliveTimeout: opts.tuning.pool.keepAliveTimeoutMs });
  }

  /** A pool with its session rows read (and, with an owner, its holds taken). */
  static async open(opts: PoolOptions): Promise<SessionPool> {
    const pool = new SessionPool(opts);
    await pool.reload();
    return pool;
  }

  /**
   * Reads the session rows again (start, SIGHUP, and periodically): new, removed, re-imported,
   * disabled. One reload runs at a time; asked for while one runs, another follows it (the rows
   * may have changed after the running one read them), and every caller meanwhile shares it.
   */
  reload(): Promise<void> {
    if (this.reloadNext) return this.reloadNext;
    if (!this.reloading) {
      this.reloading = this.reloadOnce().finally(() => (this.reloading = undefined));
      return this.reloading;
    }
    this.reloadNext = this.reloading
      .catch(() => {})
      .then(() => {
        this.reloadNext = undefined;
        return this.reload();
      });
    return this.reloadNext;
  }

  private async reloadOnce(): Promise<void> {
    const all = await this.opts.store.list();
    const rows = await this.holdable(all);
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      this.removed.delete(row.name);
      const m = this.members.get(row.name);
      if (!m) {
        this.adopt(this.member(row));
        continue;
      }
      const parked = PARKED_STATES.includes(m.state);
      const usableRow = row.state === 'ok' || row.state === 'cooling';
      if (PARKED_STATES.includes(row.state) && !parked) {
        // Parked from outside: the operator disabled it, or another daemon found its cookie set partial.
        m.state = row.state;
        m.lastError = row.lastError;
      } else if (!m.savedJars.includes(row.jarJson)) {
        // Re-imported: a new token chain. The old one, if lent, finds its next save refused.
        this.adopt(this.member(row));
      } else if (parked && usableRow) {
        // Enabled again by the operator, same cookies. The chain stays the one it was (a lent
        // one must stay the only one on its token chain): it is revived, not copied.
        if (m.session)
          Object.assign(m, { state: row.state, authStrikes: 0, reloggedIn: false, lastError: row.lastError, cooldownUntil: row.cooldownUntil ?? 0 });
        else this.adopt(this.member(row));
      }
    }
    const now = this.clock.now();
    for (const [name, m] of [...this.members]) {
      if (seen.has(name)) continue;
      if (!all.some((r) => r.name === name)) {
        this.removed.set(name, now + this.opts.tuning.pool.removedGraceMs);
        this.held?.forget(name);
      }
      this.letGo(m);
    }
    for (const [name, until] of [...this.removed]) if (until <= now) this.removed.delete(name);
    this.dispatch();
  }

  /** `m` becomes its row's current chain; the one it replaces goes. */
  private adopt(m: Member): void {
    const previous = this.members.get(m.name);
    this.members.set(m.name, m);
    this.chains.add(m);
    if (previous) void this.endChain(previous);
  }

  /** The row is no longer this pool's: its chain goes now if idle, else when it comes back. */
  private letGo(m: Member): void {
    if (this.members.get(m.name) === m) this.members.delete(m.name);
    void this.endChain(m);
  }

  /** Destroys a chain that is no longer current once nobody has it; a lent one is ended by giveBack. */
  private async endChain(m: Member): Promise<void> {
    if (this.members.get(m.name) === m || this.out(m) || !this.chains.has(m)) return;
    this.chains.delete(m);
    if (!m.lease) return;
    await m.lease.drain();
    await m.lease.clear();
  }

  /**
   * The rows this pool may use: all of them without an owner; else those it holds (taking free,
   * lapsed or orphaned ones up to maxSessions, renewing its own). A row it has just taken over is
   * read fresh, since another process may have rotated its token meanwhile.
   */
  private async holdable(rows: SessionRecord[]): Promise<SessionRecord[]> {
    const { holds } = this;
    if (!holds) return rows;
    const gone = await holds.gone();
    const limit = this.opts.maxSessions ?? Infinity;
    const out: SessionRecord[] = [];
    let held = 0;
    let elsewhere = 0;
    for (const row of rows) {
      const mine = row.holder === holds.owner;
      // A lent session keeps its hold until it comes back, whatever its row says meanwhile: no
      // other process may start on its token chain while a request of ours may still be out.
      const lent = mine && this.lent(row.name);
      if (row.state !== 'ok' && row.state !== 'cooling') {
        if (lent) await this.take(row.name, gone);
        else if (mine) await this.release(row.name, holds);
        out.push(row);
        continue;
      }
      if ((held >= limit && !lent) || !(await this.take(row.name, gone))) {
        if (mine && !this.lent(row.name)) await this.release(row.name, holds);
        else if (held < limit) elsewhere++;
        continue;
      }
      held++;
      if (!mine) {
        const previous = this.members.get(row.name);
        if (previous) this.letGo(previous);
      }
      out.push({ ...row, holder: holds.owner });
    }
    this.elsewhere = elsewhere;
    return out;
  }

  /**
   * Takes or renews the hold on `name`, noting when, or noting that another live process has it:
   * a chain of the row still out with a worker then sends nothing more.
   */
  private async take(name: string, gone: readonly string[]): Promise<boolean> {
    const askedAt = this.clock.now();
    const ok = await this.holds!.take(name, gone);
    if (ok) this.held!.taken(name, askedAt);
    else this.held!.lost(name);
    return ok;
  }

  /**
   * Gives up the hold on a row this pool will not use. Its chain is let go first, synchronously,
   * so no checkout can be handed it while the drop is on its way to the store.
   */
  private async release(name: string, holds: Holds): Promise<void> {
    const m = this.members.get(name);
    if (m && !this.lent(name)) this.letGo(m);
    if (!this.lent(name)) await holds.drop(name);
  }

  /** A state write nobody awaits: kept until it lands, and its failure logged, never thrown. */
  private track(write: Promise<unknown>, session: string): Promise<void> {
    const done: Promise<void> = write.then(
      () => {},
      (err: unknown) => this.opts.logger.warn({ session, err: errorMessage(err) }, 'saving a session state failed'),
    );
    this.writes.add(done);
    void done.finally(() => this.writes.delete(done));
    return done;
  }

  /** Some chain of this row is out with a worker (the current one, or one replaced while lent). */
  private lent(name: string): boolean {
    return [...this.chains].some((m) => m.name === name && this.out(m));
  }

  /** Lent, or being handed to a checkout: generic-pool's own count of loans and waiting acquires. */
  private out(m: Member): boolean {
    return m.lease !== undefined && m.lease.borrowed + m.lease.pending > 0;
  }

  private member(row: SessionRecord): Member {
    const m: Member = {
      name: row.name,
      row,
      session: undefined,
      lease: undefined,
      state: row.state,
      cooldownUntil: row.cooldownUntil ?? 0,
      lastError: row.lastError,
      returnedSeq: 0,
      errorScore: 0,
      authStrikes: 0,
      notFoundStrikes: 0,
      reloggedIn: false,
      savedJars: [row.jarJson],
    };
    if (row.state === 'ok' || row.state === 'cooling') {
      try {
        const session = this.buildSession(m);
        m.session = session;
        m.lease = createPool<Session>(
          {
            // Never rejects, so generic-pool never spins on a failing create.
            create: () => Promise.resolve(session),
            destroy: (s) => Promise.resolve(s.end()),
          },
          { max: 1, min: 0, autostart: true },
        );
      } catch (err) {
        m.state = 'expired';
        m.lastError = errorMessage(err);
        void this.track(this.opts.store.setState(row.name, 'expired', { lastError: m.lastError }), row.name);
        this.announceParked(row.name, 'expired', m.lastError);
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
      timeouts: opts.tuning.requests.pool,
      ...(this.held && { hold: { state: () => this.held!.state(m.name), waitMs: opts.tuning.holds.waitMs, pollMs: opts.tuning.holds.pollMs } }),
      refresh: opts.tuning.session,
      credentials: credentialSource(m.row, opts.credentialsDir),
      logger: opts.logger,
      persistJar: (jarJson, exp) => {
        // Saved only over the jar this chain last saved: an import meanwhile wins.
        const expected = m.savedJars[0];
        m.savedJars = [jarJson, ...m.savedJars.slice(0, 3)];
        if (opts.jarSaver) return opts.jarSaver.save(m.name, jarJson, exp, expected);
        return opts.store.saveJar(m.name, jarJson, exp, expected).then((saved) => {
          if (!saved) throw new SupersededJarError(m.name);
        });
      },
    });
  }

  private usable(m: Member): boolean {
    if (!m.session || this.members.get(m.name) !== m) return false;
    if (m.state === 'ok') return true;
    return m.state === 'cooling' && m.cooldownUntil <= this.clock.now();
  }

  /**
   * Hands idle usable sessions to the checkouts waiting, first come first served, each the one
   * returned longest ago; then sets a timer for the next cooling session if checkouts still wait.
   */
  private dispatch(): void {
    while (this.waiters.length > 0 && !this.closing) {
      const idle = [...this.members.values()].filter((m) => this.usable(m) && !this.out(m));
      if (idle.length === 0) break;
      idle.sort((a, b) => a.returnedSeq - b.returnedSeq);
      const m = idle[0]!;
      const w = this.waiters.shift()!;
      w.done();
      if (m.state === 'cooling') void this.setState(m, 'ok');
      // Counted by generic-pool at once (pending, then borrowed), so the next round skips it.
      m.lease!.acquire().then(
        () => w.resolve(m),
        (err: unknown) => w.reject(err),
      );
    }
    this.coolTimer?.abort();
    this.coolTimer = undefined;
    const next = this.waiters.length > 0 ? this.nextUsableAt() : undefined;
    if (next === undefined || this.closing) return;
    const timer = new AbortController();
    this.coolTimer = timer;
    void this.clock.sleep(Math.max(10, next - this.clock.now()), timer.signal).then(() => {
      if (this.coolTimer === timer) {
        this.coolTimer = undefined;
        this.dispatch();
      }
    });
  }

  /** When the next cooling session becomes usable (or a removed one may be back), if any will without the operator. */
  nextUsableAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.members.values()) {
      if (m.state === 'cooling' && m.session) next = Math.min(next ?? Infinity, m.cooldownUntil);
    }
    const now = this.clock.now();
    for (const until of this.removed.values()) if (until > now) next = Math.min(next ?? Infinity, until);
    return next;
  }

  /** Sessions that could be lent now or are merely resting. */
  usableCount(): number {
    return [...this.members.values()].filter((m) => m.session && (m.state === 'ok' || m.state === 'cooling')).length;
  }

  /** Usable sessions held by other daemons on this database (they may come free). */
  heldElsewhere(): number {
    return this.elsewhere;
  }

  /** One sentence for status and the log when no session can work, else undefined. */
  noUsableReason(): string | undefined {
    const members = [...this.members.values()];
    if (members.some((m) => this.usable(m))) return undefined;
    const now = this.clock.now();
    const removed = [...this.removed].filter(([, until]) => until > now);
    if (members.length === 0 && removed.length > 0) {
      const parts = removed.map(([name, until]) => `${name} was removed while in use, waited for until ${new Date(until).toISOString()}`);
      return `no session yet: ${parts.join('; ')}; add it again with bookd sessions add`;
    }
    if (members.length === 0 && this.elsewhere > 0) return `all ${this.elsewhere} usable sessions are held by other daemons on this database`;
    if (members.length === 0) return 'no sessions are configured: add one with bookd sessions add NAME --cookies FILE';
    const parts = members.map((m) =>
      m.state === 'cooling'
        ? `${m.name} cooling until ${new Date(m.cooldownUntil).toISOString()}`
        : `${m.name} ${m.state}${m.lastError ? ` (${m.lastError})` : ''}`,
    );
    const hint = members.some((m) => m.state === 'cooling')
      ? 'work resumes when one cools down'
      : 're-import cookies with bookd sessions renew NAME or enable one';
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
      lent: this.lent(m.name),
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
      if (!session || !this.usable(m) || this.out(m) || !session.refreshDue()) continue;
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
   * Lends a session exclusively to `fn` and gives it back afterwards, judging the session by how
   * the checkout ended. Rejects with NoSessionError when none becomes usable within the wait.
   */
  async withSession<T>(fn: (session: Session) => Promise<T>, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const m = await this.checkout(opts.signal);
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
      m.returnedSeq = ++this.giveBacks;
      try {
        await this.opts.store.recordUse(m.name, { ok, requests: lent.takeRequestCount() });
      } catch (err) {
        // Counters only: the session must still go back, or it is lost until a restart.
        this.opts.logger.warn({ session: m.name, err: errorMessage(err) }, 'recording a session use failed');
      }
      await this.giveBack(m, lent);
    }
  }

  /** Returns a chain to its generic-pool; one that is no longer current (or a closing pool's) is destroyed. */
  private async giveBack(m: Member, lent: Session): Promise<void> {
    if (this.members.get(m.name) === m && !this.closing) await m.lease!.release(lent);
    else {
      await m.lease!.destroy(lent);
      await this.endChain(m);
    }
    this.dispatch();
    const returned = this.returned;
    this.returned = [];
    for (const r of returned) r();
  }

  /** Waits in the FIFO queue for a session, up to the acquire timeout or until `signal` aborts. */
  private checkout(signal?: AbortSignal): Promise<Member> {
    signal?.throwIfAborted();
    if (this.closing) return Promise.reject(new Error('the session pool is closing'));
    return new Promise<Member>((resolve, reject) => {
      const leave = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.done();
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason as Error);
      };
      const timer = setTimeout(() => {
        leave();
        const reason = this.noUsableReason() ?? 'every usable session is busy';
        reject(new NoSessionError(reason, this.nextUsableAt() ?? this.clock.now() + this.opts.tuning.pool.noSessionRetryMs));
      }, this.opts.tuning.pool.acquireTimeoutMs);
      const w: Waiter = {
        resolve,
        reject,
        done: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
      this.dispatch();
    });
  }

  /**
   * The member's new state, at once in memory (the next dispatch sees it) and then in its row.
   * The returned promise never rejects: a failed write is logged, and the row catches up at the
   * member's next transition.
   */
  private setState(m: Member, state: SessionState, lastError?: string, cooldownUntil?: number): Promise<void> {
    if (state !== m.state) this.announceParked(m.name, state, lastError ?? m.lastError);
    m.state = state;
    if (lastError !== undefined) m.lastError = lastError;
    m.cooldownUntil = cooldownUntil ?? 0;
    return this.track(this.opts.store.setState(m.name, state, { cooldownUntil, lastError, unlessDisabled: true }), m.name);
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
      // The row holds the operator's new cookies (or is gone): reload adopts them as a new chain.
      log.info({ session: m.name }, 'session cookies replaced by the operator: continuing from the new ones');
      await this.reload();
      return;
    }
    switch (err.kind) {
      case 'rate_limited':
        if (err.edge) {
          const until = this.edge.block();
          log.warn({ session: m.name, until: new Date(until).toISOString() }, 'the edge refused this machine: every session pauses');
        } else if (!(err instanceof NoSessionError)) {
          const until = err.retryAt ?? this.clock.now() + this.opts.tuning.pool.noSessionRetryMs;
          await this.setState(m, 'cooling', 'rate limited (429)', until);
          // A 429 is also a sign the machine as a whole asks too much (docs/SERVICE.md §4).
          this.budget.cut(`session ${m.name} was answered 429`, m.session?.lastSentAt);
          log.info({ session: m.name, until: new Date(until).toISOString() }, 'session rate limited: cooling down');
        }
        return;
      case 'transient':
        m.errorScore += 1;
        if (m.errorScore >= SCORE_LIMIT) {
          const until = this.clock.now() + this.opts.tuning.pool.restMs;
          m.errorScore = SCORE_LIMIT - 1;
          await this.setState(m, 'cooling', `repeated errors: ${err.message}`, until);
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
          await this.setState(
            m,
            'partial',
            `answered 404 for ${m.notFoundStrikes} books in a row that search lists: its cookie set is probably partial; export all cookies of the site and renew it (bookd sessions add ${m.name} --cookies FILE --replace)`,
          );
          log.error({ session: m.name }, `session ${m.name} parked: ${m.lastError}`);
          return;
        }
        const until = this.clock.now() + this.opts.tuning.pool.restMs;
        await this.setState(m, 'cooling', `answered 404 for a book: another session confirms (${err.message})`, until);
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
          await this.setState(m, 'failed', `the subscription has lapsed (user type ${profile.userType})`);
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
          await this.setState(m, 'failed', loginErr.message);
          log.error({ session: m.name, err: loginErr.message }, 'session parked: its credentials were refused');
          return;
        }
        if (!(loginErr instanceof BookdError && loginErr.kind === 'auth')) {
          // The login itself met a network error, a 5xx or a 429: try again later, not park.
          m.reloggedIn = false;
          const until = loginErr instanceof BookdError && loginErr.retryAt ? loginErr.retryAt : this.clock.now() + this.opts.tuning.pool.restMs;
          await this.setState(m, 'cooling', `logging in again failed: ${errorMessage(loginErr)}`, until);
          log.warn({ session: m.name, err: errorMessage(loginErr) }, 'logging in again failed; the session rests and tries again');
          return;
        }
      }
    }
    await this.setState(m, 'expired', err.message);
    log.error(
      { session: m.name, err: err.message },
      `session ${m.name} parked as expired: import fresh cookies with bookd sessions add ${m.name} --cookies FILE --replace`,
    );
  }

  /**
   * Parks a session the daemon judged from outside a checkout (a 404 where another session read
   * the book: a partial cookie set). A lent one is parked when it comes back.
   */
  async park(name: string, state: Extract<SessionState, 'partial' | 'expired' | 'failed'>, reason: string): Promise<void> {
    const m = this.members.get(name);
    if (m) {
      await this.setState(m, state, reason);
    } else {
      await this.track(this.opts.store.setState(name, state, { lastError: reason, unlessDisabled: true }), name);
      this.announceParked(name, state, reason);
    }
    this.opts.logger.error({ session: name, state, err: reason }, `session ${name} parked as ${state}: ${reason}`);
    this.dispatch();
  }

  /** The one place a session this pool parks is told to the operator: what happened and the command that mends it. */
  private announceParked(name: string, state: SessionState, reason: string | undefined): void {
    if (state !== 'expired' && state !== 'failed' && state !== 'partial') return;
    const why = reason ? ` (${reason})` : '';
    const message =
      state === 'expired'
        ? `session ${name} is logged out${why}: log in again in the browser and run ${renewCommand(name)}`
        : `session ${name} was parked as ${state}${why}: once that is mended, run ${renewCommand(name)}`;
    this.opts.events?.emit({ event: state === 'expired' ? 'session.expired' : 'session.failed', session: name, message });
  }

  /**
   * Stops lending and closes the HTTP agent if it is ours. Callers abort their checkouts first;
   * this waits for the lent sessions to come back so no jar is mid-request when the process ends.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.coolTimer?.abort();
    for (const w of this.waiters.splice(0)) {
      w.done();
      w.reject(new Error('the session pool is closing'));
    }
    while ([...this.chains].some((m) => this.out(m))) await new Promise<void>((resolve) => this.returned.push(resolve));
    for (const m of [...this.chains]) {
      this.chains.delete(m);
      if (!m.lease) continue;
      await m.lease.drain();
      await m.lease.clear();
    }
    await this.reloading?.catch(() => {});
    await Promise.all([...this.writes]);
    const { holds } = this;
    if (holds) {
      const drops = [...this.members.keys()].map((name) =>
        holds.drop(name).catch((err: unknown) => this.opts.logger.warn({ session: name, err: errorMessage(err) }, 'dropping a session hold failed')),
      );
      await Promise.all(drops);
    }
    if (this.ownsAgent) await (this.agent as Agent).close();
  }
}
