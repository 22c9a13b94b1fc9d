/**
 * Errors are values with a class, decided once where a response or an input is read.
 * Everything above that edge branches on `kind`, never on messages or status codes.
 */
export type ErrorKind = 'auth' | 'rate_limited' | 'throttled' | 'not_found' | 'transient' | 'permanent' | 'bad_input';

/**
 * - `auth`: this session is not accepted (refresh, re-login or park it; the job is not at fault).
 * - `rate_limited`: slow down; `retryAt` says until when, `edge` that the whole machine is refused.
 * - `throttled`: the service guards bulk access from this machine (a sample instead of a file, an
 *   origin 403 while the session's probe passes): slow the machine down, blame no session.
 * - `not_found`: a 404 on a book that is not confirmed yet (a partial cookie set answers 404 too).
 * - `transient`: try again soon; `permanent`: the thing itself is unusable; `bad_input`: the
 *   operator's input is wrong.
 */

export interface BookdErrorOptions {
  /** When the caller may try again (rate limits, edge throttling), as epoch ms. */
  retryAt?: number;
  /** The edge (not this session) refused us: every session behind this IP should back off. */
  edge?: boolean;
  /** The HTTP status that decided the class, when there was one (404 on an asset is a gap). */
  status?: number;
  /** The URL whose answer decided it. */
  url?: string;
  cause?: unknown;
}

export class BookdError extends Error {
  readonly kind: ErrorKind;
  readonly retryAt: number | undefined;
  readonly edge: boolean;
  readonly status: number | undefined;
  readonly url: string | undefined;

  constructor(kind: ErrorKind, message: string, opts: BookdErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BookdError';
    this.kind = kind;
    this.retryAt = opts.retryAt;
    this.edge = opts.edge ?? false;
    this.status = opts.status;
    this.url = opts.url;
  }
}

/**
 * A session's rotated cookies could not be saved because its row no longer holds the jar it
 * started from: the operator imported fresh cookies (or removed the session) while it was in use.
 * Its own token chain is dead from here on; the pool retires it and starts over from the row.
 */
export class SupersededJarError extends BookdError {
  constructor(session: string) {
    super('auth', `session ${session}'s cookies were replaced or removed while it was in use; it continues from the stored cookies`);
    this.name = 'SupersededJarError';
  }
}

/**
 * The store could not be reached for an operation: its server restarted, the network dropped, or
 * it refuses connections for now (decided where the store's answers are read, src/db/pg/unavailable.ts).
 * Nothing the operation wanted is known to be written (a transaction the server never
 * acknowledged is rolled back), so the caller waits and asks again; the daemon pauses claiming
 * meanwhile instead of failing jobs.
 */
export class StoreUnavailableError extends BookdError {
  constructor(where: string, cause: unknown) {
    super('transient', `the store at ${where} cannot be reached (${errorMessage(cause)})`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The same failure with what was being done in front of its message (`chapter "x": …`). A
 * subclass (say SupersededJarError) is returned as it is: its class is what its handlers look for.
 */
export function within(what: string, err: unknown): unknown {
  if (!(err instanceof BookdError) || err.constructor !== BookdError) return err;
  return new BookdError(err.kind, `${what}: ${err.message}`, { retryAt: err.retryAt, edge: err.edge, status: err.status, url: err.url, cause: err });
}

/**
 * What a Node errno (or an undici error code) says about where the trouble is, decided here once:
 * `storage` is the disk under the library or the store refusing a write (no book is at fault and
 * retrying at once cannot help); `network` is the connection to the service failing (the request
 * may be retried; the session is not at fault).
 */
export type ErrnoClass = 'storage' | 'network';

const ERRNO_CLASS: Readonly<Record<string, ErrnoClass>> = {
  ENOSPC: 'storage',
  EDQUOT: 'storage',
  EFBIG: 'storage',
  EROFS: 'storage',
  EIO: 'storage',
  EACCES: 'storage',
  ECONNRESET: 'network',
  ECONNREFUSED: 'network',
  EPIPE: 'network',
  ETIMEDOUT: 'network',
  EHOSTUNREACH: 'network',
  ENETUNREACH: 'network',
  EAI_AGAIN: 'network',
  ENOTFOUND: 'network',
  UND_ERR_SOCKET: 'network',
  UND_ERR_CONNECT_TIMEOUT: 'network',
  UND_ERR_HEADERS_TIMEOUT: 'network',
  UND_ERR_BODY_TIMEOUT: 'network',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'network',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'network',
  UND_ERR_CLOSED: 'network',
};

/** The `code` of an error (`ENOSPC`, `UND_ERR_SOCKET`, …), when it has a string one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function errnoClass(err: unknown): ErrnoClass | undefined {
  const code = errnoCode(err);
  return code !== undefined && Object.hasOwn(ERRNO_CLASS, code) ? ERRNO_CLASS[code] : undefined;
}

/** The code when `err` is the disk refusing a write (ENOSPC, EROFS, EIO, …), else undefined. */
export function storageErrno(err: unknown): string | undefined {
  return errnoClass(err) === 'storage' ? errnoCode(err) : undefined;
}

/** The code when `err` is the connection failing (ECONNRESET, EAI_AGAIN, UND_ERR_SOCKET, …), else undefined. */
export function networkErrno(err: unknown): string | undefined {
  return errnoClass(err) === 'network' ? errnoCode(err) : undefined;
}

/** Wrong flags or arguments: exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Bad configuration, an unusable data dir or a DB we must not touch: exit 78 (EX_CONFIG). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2, config: 78 } as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError) return EXIT.config;
  return EXIT.failure;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
