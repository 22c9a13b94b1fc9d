import type { CookieJar } from 'tough-cookie';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { BookdError, SupersededJarError } from '../errors.js';
import type { Logger } from '../log.js';
import { login } from '../oreilly/login.js';
import { PROFILE_PATH, readProfile, type ProfileResult } from '../oreilly/profile.js';
import type { HttpRequest, HttpResponse, HttpSession } from '../oreilly/http.js';
import { MAX_DOCUMENT_BYTES } from '../oreilly/http.js';
import { cookieLayer } from './cookie-interceptor.js';
import type { EdgeGate } from './edge-gate.js';
import { serializeJar, tokenExpiry } from './jar.js';
import type { Pacer } from './pacer.js';
import { readBody } from './read-body.js';

export interface Timeouts {
  /** Longest wait for response headers. */
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyMs: number;
  /** Longest a whole request may take, however it trickles. */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 30_000, bodyMs: 30_000, totalMs: 300_000 };

export interface Credentials {
  email: string;
  password: string;
}

export interface SessionOptions {
  name: string;
  baseUrl: string;
  jar: CookieJar;
  /** The one Agent all sessions share; never closed here. */
  agent: Dispatcher;
  clock: Clock;
  pacer: Pacer;
  edge: EdgeGate;
  /**
   * Write-through: saves the jar to this session's row. Called as soon as a response changed the
   * jar; when it returns a promise, the session's next request waits for it.
   */
  persistJar: (jarJson: string, tokenExpiresAt: number | undefined) => void | Promise<void>;
  timeouts?: Timeouts;
  /** Refresh through /profile/ when the token has less than this left. */
  refreshMarginMs?: number;
  /** Read at the moment of a re-login and dropped after it; undefined when none were given. */
  credentials?: () => Credentials | undefined;
  logger: Logger;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_CLOSED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/**
 * One logged-in identity: its cookie jar, its pacing, its dispatcher. Requests through a session
 * run strictly one at a time whoever calls them, so a rotated token can never cross between two
 * requests in flight; every jar change is saved before the response is handed on.
 */
export class Session implements HttpSession {
  readonly name: string;
  readonly baseUrl: string;
  readonly jar: CookieJar;
  private readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly opts: SessionOptions;
  private readonly timeouts: Timeouts;
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private lastRefreshAt = -Infinity;
  /** A save still in flight; the next request waits for it. */
  private saving: Promise<void> | undefined;
  /** The last save failed: the jar must be saved before anything else is sent. */
  private unsaved = false;
  /** The row was given other cookies meanwhile: this jar's token chain must not be used again. */
  private superseded: SupersededJarError | undefined;
  /** Highest number of requests this session ever had in flight at once; 1 by construction. */
  maxInFlight = 0;
  /** HTTP requests sent so far. */
  requests = 0;
  private reported = 0;

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
    this.origin = new URL(this.baseUrl).origin;
    this.jar = opts.jar;
    this.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    this.dispatcher = opts.agent.compose(
      cookieLayer({
        jar: opts.jar,
        onChange: () => this.persist(),
      }),
    );
  }

  private persist(): void {
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
    }
  }

  /** Nothing goes out while the last rotated token is not safely in the store. */
  private async settleSave(): Promise<void> {
    if (this.saving) {
      await this.saving;
      this.saving = undefined;
    }
    if (this.superseded) throw this.superseded;
    if (this.unsaved) {
      this.persist();
      await this.saving;
      this.saving = undefined;
      if (this.unsaved) throw new BookdError('transient', `session ${this.name}'s cookies cannot be saved; nothing is sent until they are`);
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

  /** Asks /profile/ whether this session is logged in (and lets the server refresh the token). */
  probe(signal?: AbortSignal): Promise<ProfileResult> {
    this.lastRefreshAt = this.opts.clock.now();
    return this.serial(async () => readProfile(await this.send({ url: PROFILE_PATH, signal, maxBytes: MAX_DOCUMENT_BYTES }), this.opts.clock.now()));
  }

  /** Logs in again with the operator's credentials; false when there are none to use. */
  relogin(): Promise<boolean> {
    return this.serial(async () => {
      const creds = this.opts.credentials?.();
      if (!creds) return false;
      const direct: HttpSession = { name: this.name, baseUrl: this.baseUrl, request: (r) => this.send(r) };
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
    const now = this.opts.clock.now();
    const margin = this.opts.refreshMarginMs ?? 10 * 60_000;
    // A server that does not rotate on /profile/ leaves `exp` where it was: ask again only once a minute.
    return exp !== undefined && exp - now <= margin && now - this.lastRefreshAt >= 60_000;
  }

  private async refreshIfDue(signal?: AbortSignal): Promise<void> {
    if (!this.refreshDue()) return;
    this.lastRefreshAt = this.opts.clock.now();
    try {
      readProfile(await this.send({ url: PROFILE_PATH, signal, maxBytes: MAX_DOCUMENT_BYTES }), this.opts.clock.now());
      this.opts.logger.debug({ session: this.name }, 'token refreshed ahead of expiry');
    } catch (err) {
      if (signal?.aborted) throw err;
      // The request that follows meets the same problem and is classified there.
      this.opts.logger.debug({ session: this.name, err: (err as Error).message }, 'refresh ahead of expiry failed');
    }
  }

  private resolveUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw, `${this.baseUrl}/`);
    } catch {
      throw new BookdError('permanent', `"${raw.slice(0, 200)}" is not a URL`);
    }
    if (url.origin !== this.origin) {
      throw new BookdError('permanent', `refusing to send session ${this.name}'s cookies to ${url.origin}: only ${this.origin} gets them`);
    }
    return url;
  }

  private async send(req: HttpRequest): Promise<HttpResponse> {
    const url = this.resolveUrl(req.url);
    const signal = req.signal;
    await this.settleSave();
    await this.opts.edge.wait(signal);
    await this.opts.pacer.wait(signal);
    const deadline = AbortSignal.timeout(this.timeouts.totalMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.requests++;
    try {
      const res = await this.dispatcher.request({
        origin: this.origin,
        path: url.pathname + url.search,
        method: req.method ?? 'GET',
        headers: { 'accept-encoding': 'gzip, deflate', 'user-agent': 'bookd/0.1', ...req.headers },
        body: req.body,
        signal: combined,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
      const headers = res.headers as Record<string, string | string[] | undefined>;
      const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
      const body = await readBody(res.body, {
        maxBytes: req.maxBytes ?? MAX_DOCUMENT_BYTES,
        contentLength: first(headers['content-length']),
        contentEncoding: first(headers['content-encoding']),
        url: url.toString(),
      });
      if (!(res.statusCode === 403 && /akamai/i.test(first(headers.server) ?? ''))) this.opts.edge.passed();
      return { url: url.toString(), status: res.statusCode, headers, body };
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (err instanceof BookdError) throw err;
      if (deadline.aborted) throw new BookdError('transient', `${url} took longer than ${this.timeouts.totalMs} ms`, { cause: err });
      const code = (err as NodeJS.ErrnoException).code;
      if (code && NETWORK_CODES.has(code)) {
        throw new BookdError('transient', `network error at ${url}: ${(err as Error).message} (${code})`, { cause: err });
      }
      throw new BookdError('transient', `request to ${url} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.inFlight--;
    }
  }
}
