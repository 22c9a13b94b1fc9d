import type { CookieJar } from 'tough-cookie';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { RequestTimeouts, Tuning } from '../config.js';
import { BookdError, SupersededJarError, errorMessage, networkErrno } from '../errors.js';
import type { Logger } from '../log.js';
import { isEdgeRefusal } from '../oreilly/classify.js';
import { browserHeaders, type RequestKind } from '../oreilly/headers.js';
import { login } from '../oreilly/login.js';
import { confirmWithApi, probeProfile, type ProfileResult } from '../oreilly/profile.js';
import { requestFreshToken } from '../oreilly/token.js';
import type { HttpRequest, HttpResponse, HttpSession } from '../oreilly/http.js';
import { MAX_DOCUMENT_BYTES } from '../oreilly/http.js';
import type { MachineBudget } from './budget.js';
import { cookieLayer } from './cookie-interceptor.js';
import type { EdgeGate } from './edge-gate.js';
import { serializeJar, tokenExpiry, tokenLifetime } from './jar.js';
import type { HoldState } from './hold-state.js';
import type { Pacer } from './pacer.js';
import { readBody } from './read-body.js';
import { streamBody } from './stream-body.js';

const EMPTY = Buffer.alloc(0);

/** Longest waits of one request (src/config.ts, `Tuning['requests']`). */
export type Timeouts = RequestTimeouts;

export interface Credentials {
  email: string;
  password: string;
}

export interface SessionOptions {
  name: string;
  baseUrl: string;
  /** The service's auth origin (login, token refresh); the base URL when not given. */
  authUrl?: string;
  /** The browser this session presents itself as (docs/SERVICE.md §4). */
  userAgent: string;
  acceptLanguage: string;
  jar: CookieJar;
  /** The one Agent all sessions share; never closed here. */
  agent: Dispatcher;
  clock: Clock;
  pacer: Pacer;
  edge: EdgeGate;
  /** The machine's request budget all sessions share; one-shot commands go without. */
  budget?: MachineBudget;
  /**
   * Write-through: saves the jar to this session's row. Called as soon as a response changed the
   * jar; when it returns a promise, the session's next request waits for it.
   */
  persistJar: (jarJson: string, tokenExpiresAt: number | undefined) => void | Promise<void>;
  timeouts: Timeouts;
  /**
   * This process's hold on the session's row (src/pool/hold-state.ts), for sessions shared through
   * a store: a request waits while the hold could not be renewed, for up to `waitMs`, and is
   * refused once another process holds the row. Without it, the session is this process's alone.
   */
  hold?: { state: () => HoldState; waitMs: number; pollMs: number };
  /** When to refresh through /profile/, and to ask again for a token the service did not renew. */
  refresh: Tuning['session'];
  /** Read at the moment of a re-login and dropped after it; undefined when none were given. */
  credentials?: () => Credentials | undefined;
  logger: Logger;
}

/**
 * One logged-in identity: its cookie jar, its pacing, its dispatcher. Requests through a session
 * run strictly one at a time whoever calls them, so a rotated token can never cross between two
 * requests in flight; every jar change is saved before the response is handed on.
 */
export class Session implements HttpSession {
  readonly name: string;
  readonly baseUrl: string;
  readonly authUrl: string;
  readonly jar: CookieJar;
  private readonly origin: string;
  private readonly authOrigin: string;
  private readonly dispatcher: Dispatcher;
  private readonly opts: SessionOptions;
  private readonly timeouts: Timeouts;
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  /** When a renewal last left `exp` where it was: asked again only a minute later. */
  private unrenewedAt = -Infinity;
  /** How long a token of this session lasts, as last seen; the refresh margin is at most half of it. */
  private lifetimeMs: number | undefined;
  /** A save still in flight; the next request waits for it. */
  private saving: Promise<void> | undefined;
  /** The last save failed: the jar must be saved before anything else is sent. */
  private unsaved = false;
  /** The row was given other cookies meanwhile: this jar's token chain must not be used again. */
  private superseded: SupersededJarError | undefined;
  /** The pool let go of this token chain (replaced, removed, pool closed): nothing more goes out with it. */
  private ended = false;
  /** Highest number of requests this session ever had in flight at once; 1 by construction. */
  maxInFlight = 0;
  /** HTTP requests sent so far. */
  requests = 0;
  private reported = 0;
  /** When this session's last request went out (after every wait): throttle signals are judged by it. */
  lastSentAt = -Infinity;
  private warnedExpiry: number | undefined;

  /** Requests sent since the last call: what the store's counter has not seen yet. */
  takeRequestCount(): number {
    const n = this.requests - this.reported;
    this.reported = this.requests;
    return n;
  }

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.authUrl = (opts.authUrl ?? this.baseUrl).replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.authOrigin = new URL(this.authUrl).origin;
    this.jar = opts.jar;
    this.timeouts = opts.timeouts;
    this.dispatcher = opts.agent.compose(
      cookieLayer({
        jar: opts.jar,
        onChange: () => void this.persist(),
      }),
    );
  }

  /** Hands the jar to `persistJar`; returns the save in flight, if the save is asynchronous. */
  private persist(): Promise<void> | undefined {
    const result = this.opts.persistJar(serializeJar(this.jar), tokenExpiry(this.jar, this.baseUrl));
    if (result instanceof Promise) {
      this.saving = result.then(
        () => {
          this.unsaved = false;
        },
        (err: unknown) => {
          this.unsaved = true;
          if (err instanceof SupersededJarError) this.superseded = err;
          else this.opts.logger.error({ session: this.name, err: (err as Error).message }, 'saving the cookie jar failed');
        },
      );
      return this.saving;
    }
    return undefined;
  }

  /** Called by the pool when it destroys this chain; a later request fails instead of reviving it. */
  end(): void {
    this.ended = true;
  }

  private letGo(): BookdError {
    return new BookdError('transient', `session ${this.name}'s cookies were let go by the pool; nothing more is sent with them`);
  }

  /** Nothing goes out while the last rotated token is not safely in the store. */
  private async settleSave(): Promise<void> {
    if (this.saving) {
      await this.saving;
      this.saving = undefined;
    }
    if (this.ended) throw this.letGo();
    if (this.superseded) throw this.superseded;
    if (this.unsaved) {
      await this.persist();
      this.saving = undefined;
      if (this.unsaved) throw new BookdError('transient', `session ${this.name}'s cookies cannot be saved; nothing is sent until they are`);
    }
  }

  /**
   * Returns when this process may send with the session: its hold is fresh. Two processes never
   * have a request in flight on one session, even when the store was away long enough for the
   * hold to lapse and another host took the row over.
   */
  private async whileHeld(signal: AbortSignal | undefined): Promise<void> {
    const { hold, clock } = this.opts;
    if (!hold) return;
    const since = clock.now();
    for (;;) {
      const state = hold.state();
      if (state === 'held') return;
      if (state === 'lost') throw new BookdError('transient', `session ${this.name} is held by another bookd now; this one sends nothing more with it`);
      const waited = clock.now() - since;
      if (waited >= hold.waitMs)
        throw new BookdError(
          'transient',
          `the hold on session ${this.name} could not be renewed for ${Math.round(waited / 1000)} s (is the store reachable?); nothing is sent with it until it is`,
        );
      await clock.sleep(hold.pollMs, signal);
      signal?.throwIfAborted();
      if (this.ended) throw this.letGo();
    }
  }

  tokenExpiresAt(): number | undefined {
    return tokenExpiry(this.jar, this.baseUrl);
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    return this.serial(async () => {
      await this.refreshIfDue(req.signal);
      return this.send(req);
    });
  }

  /**
   * Asks the service whether this session is logged in (docs/SERVICE.md §2, session probe); a page
   * that does not say is confirmed with the metadata of `bookId` (or of any listed book).
   */
  probe(opts: { signal?: AbortSignal; bookId?: string } = {}): Promise<ProfileResult> {
    return this.serial(() => this.probeNow(opts.signal, opts.bookId));
  }

  private probeNow(signal?: AbortSignal, bookId?: string): Promise<ProfileResult> {
    const send = (url: string, kind: RequestKind) => this.send({ url, signal, maxBytes: MAX_DOCUMENT_BYTES, headers: this.headersFor(url, kind) });
    const now = () => this.opts.clock.now();
    return probeProfile(send, { now, confirm: () => confirmWithApi(send, now, bookId) });
  }

  /**
   * After an auth failure: is this session still logged in? The probe first; when it says no, one
   * try at a fresh token from the token endpoint, and the probe again if `exp` moved. Throws the
   * probe's `auth` error when neither works.
   */
  recover(opts: { signal?: AbortSignal } = {}): Promise<ProfileResult> {
    return this.serial(async () => {
      try {
        return await this.probeNow(opts.signal);
      } catch (err) {
        if (!(err instanceof BookdError && err.kind === 'auth') || opts.signal?.aborted) throw err;
        const before = this.tokenExpiresAt() ?? -Infinity;
        try {
          await requestFreshToken(
            (url, kind) => this.send({ url, signal: opts.signal, maxBytes: 1 << 20, headers: this.headersFor(url, kind) }),
            this.authUrl,
            this.opts.clock.now(),
          );
        } catch {
          throw err;
        }
        if ((this.tokenExpiresAt() ?? -Infinity) <= before) throw err;
        return await this.probeNow(opts.signal);
      }
    });
  }

  /** Logs in again with the operator's credentials; false when there are none to use. */
  relogin(): Promise<boolean> {
    return this.serial(async () => {
      const creds = this.opts.credentials?.();
      if (!creds) return false;
      const direct: HttpSession = { name: this.name, baseUrl: this.baseUrl, authUrl: this.authUrl, request: (r) => this.send(r) };
      await login(direct, creds.email, creds.password, () => this.opts.clock.now());
      return true;
    });
  }

  hasCredentials(): boolean {
    return this.opts.credentials?.() !== undefined;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Whether the token is close enough to `exp` that a refresh should be tried now. */
  refreshDue(): boolean {
    const exp = this.tokenExpiresAt();
    if (exp === undefined) return false;
    const now = this.opts.clock.now();
    this.lifetimeMs ??= tokenLifetime(this.jar, this.baseUrl) ?? (exp > now ? exp - now : undefined);
    // Short-lived tokens are renewed in the second half of their life, long ones 10 min ahead.
    const margin = Math.min(this.opts.refresh.refreshMarginMs, (this.lifetimeMs ?? Infinity) / 2);
    if (exp - now > margin) return false;
    // A server that renews nothing leaves `exp` where it was: ask again only once per `unrenewedRetryMs`, unless
    // the token has run out since (then the renewal either works or says the session expired).
    return now - this.unrenewedAt >= this.opts.refresh.unrenewedRetryMs || (exp <= now && this.unrenewedAt < exp);
  }

  /** Renews the token now if it is due (idle sessions, from upkeep); see `renew`. */
  refresh(signal?: AbortSignal): Promise<void> {
    return this.serial(async () => {
      if (this.refreshDue()) await this.renew(signal);
    });
  }

  private async refreshIfDue(signal?: AbortSignal): Promise<void> {
    if (this.refreshDue()) await this.renew(signal);
  }

  /**
   * Refresh before `exp` (docs/SERVICE.md §1): the cheap authenticated request first (the probe),
   * then the token endpoint on the auth origin, checking each time that `exp` really moved. A
   * token already past `exp` that nothing renewed means the session has expired.
   */
  private async renew(signal?: AbortSignal): Promise<void> {
    const before = this.tokenExpiresAt() ?? -Infinity;
    const moved = () => {
      const exp = this.tokenExpiresAt() ?? -Infinity;
      if (exp <= before) return false;
      this.lifetimeMs = tokenLifetime(this.jar, this.baseUrl) ?? exp - this.opts.clock.now();
      return true;
    };
    const log = this.opts.logger;
    try {
      await this.probeNow(signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      log.debug({ session: this.name, err: errorMessage(err) }, 'refresh through the profile probe failed');
    }
    if (moved()) {
      log.debug({ session: this.name }, 'token refreshed ahead of expiry by the profile probe');
      return;
    }
    try {
      await requestFreshToken(
        (url, kind) => this.send({ url, signal, maxBytes: 1 << 20, headers: this.headersFor(url, kind) }),
        this.authUrl,
        this.opts.clock.now(),
      );
    } catch (err) {
      if (signal?.aborted) throw err;
      log.debug({ session: this.name, err: errorMessage(err) }, 'refresh through the token endpoint failed');
    }
    if (moved()) {
      log.debug({ session: this.name }, 'token refreshed ahead of expiry by the token endpoint');
      return;
    }
    this.unrenewedAt = this.opts.clock.now();
    const exp = this.tokenExpiresAt();
    const fix = `import fresh cookies with bookd sessions add ${this.name} --cookies FILE --replace`;
    if (exp !== undefined && exp <= this.opts.clock.now()) {
      throw new BookdError(
        'auth',
        `session ${this.name}'s token expired at ${new Date(exp).toISOString()} and neither /profile/ nor the token endpoint renewed it: ${fix}`,
      );
    }
    if (exp !== undefined && this.warnedExpiry !== exp) {
      this.warnedExpiry = exp;
      log.warn(
        { session: this.name, expiresAt: new Date(exp).toISOString() },
        `session ${this.name}'s token expires at ${new Date(exp).toISOString()} and could not be renewed ahead of time; if it stops working, ${fix}`,
      );
    }
  }

  /** Browser headers for a request this session makes on its own (probe, token, login). */
  private headersFor(url: string, kind: RequestKind): Record<string, string> {
    const target = new URL(url, `${this.baseUrl}/`);
    const site = target.origin === this.origin ? 'same-origin' : 'same-site';
    return browserHeaders(kind, kind === 'document' ? {} : { referer: `${this.baseUrl}/`, site });
  }

  private resolveUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw, `${this.baseUrl}/`);
    } catch {
      throw new BookdError('permanent', `"${raw.slice(0, 200)}" is not a URL`);
    }
    if (url.origin !== this.origin && url.origin !== this.authOrigin) {
      const allowed = this.authOrigin === this.origin ? this.origin : `${this.origin} and ${this.authOrigin}`;
      throw new BookdError('permanent', `refusing to send session ${this.name}'s cookies to ${url.origin}: only ${allowed} get them`);
    }
    return url;
  }

  private async send(req: HttpRequest): Promise<HttpResponse> {
    const url = this.resolveUrl(req.url);
    const signal = req.signal;
    await this.settleSave();
    await this.opts.edge.wait(signal);
    await this.opts.pacer.wait(signal);
    if (this.opts.budget) await this.opts.budget.wait(signal);
    await this.whileHeld(signal);
    this.lastSentAt = this.opts.clock.now();
    const deadline = AbortSignal.timeout(this.timeouts.totalMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.requests++;
    try {
      const res = await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method ?? 'GET',
        // A browser's identity on every request (docs/SERVICE.md §4); bookd's own name never goes out.
        headers: { 'accept-encoding': 'gzip, deflate', 'accept-language': this.opts.acceptLanguage, ...req.headers, 'user-agent': this.opts.userAgent },
        body: req.body,
        signal: combined,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
      const headers = res.headers as Record<string, string | string[] | undefined>;
      const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
      const bodyOpts = {
        maxBytes: req.maxBytes ?? MAX_DOCUMENT_BYTES,
        contentLength: first(headers['content-length']),
        contentEncoding: first(headers['content-encoding']),
        url: url.toString(),
      };
      // Only a usable answer is streamed: an error page is read, small, for its classification.
      const toFile = req.toFile !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? req.toFile : undefined;
      const saved = toFile === undefined ? undefined : await streamBody(res.body, { ...bodyOpts, file: toFile });
      const body = saved ? EMPTY : await readBody(res.body, bodyOpts);
      const response: HttpResponse = { url: url.toString(), status: res.statusCode, headers, body, ...(saved && { saved }) };
      if (!isEdgeRefusal(response)) this.opts.edge.passed();
      return response;
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (err instanceof BookdError) throw err;
      if (deadline.aborted) throw new BookdError('transient', `${String(url)} took longer than ${this.timeouts.totalMs} ms`, { cause: err });
      const code = networkErrno(err);
      if (code) {
        throw new BookdError('transient', `network error at ${String(url)}: ${(err as Error).message} (${code})`, { cause: err });
      }
      throw new BookdError('transient', `request to ${String(url)} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.inFlight--;
    }
  }
}
