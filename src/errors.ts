/**
 * Errors are values with a class, decided once where a response or an input is read.
 * Everything above that edge branches on `kind`, never on messages or status codes.
 */
export type ErrorKind = 'auth' | 'rate_limited' | 'transient' | 'permanent' | 'bad_input';

export interface BookdErrorOptions {
  /** When the caller may try again (rate limits, edge throttling), as epoch ms. */
  retryAt?: number;
  /** The edge (not this session) refused us: every session behind this IP should back off. */
  edge?: boolean;
  /** The HTTP status that decided the class, when there was one (404 on an asset is a gap). */
  status?: number;
  cause?: unknown;
}

export class BookdError extends Error {
  readonly kind: ErrorKind;
  readonly retryAt: number | undefined;
  readonly edge: boolean;
  readonly status: number | undefined;

  constructor(kind: ErrorKind, message: string, opts: BookdErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BookdError';
    this.kind = kind;
    this.retryAt = opts.retryAt;
    this.edge = opts.edge ?? false;
    this.status = opts.status;
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
