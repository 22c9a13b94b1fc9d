/**
 * The seam between the client (which knows the O'Reilly API) and the pool (which owns cookie
 * jars, pacing and exclusivity). Client calls take an `HttpSession`; the pool's sessions are one.
 */
export interface HttpRequest {
  method?: 'GET' | 'POST';
  /** Absolute URL on the session's origin, or a path relative to it. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** The most body bytes we accept (after decompression); more fails the request. */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * A 2xx body goes to this file (created or truncated) as it arrives and is never held in memory:
   * the response's `body` is then empty and `saved` says what was written. Other answers are read
   * into `body` as usual, for their classification.
   */
  toFile?: string;
}

export interface HttpResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body went to `HttpRequest.toFile`: its size and sha256. */
  saved?: { bytes: number; sha256: string };
}

export interface HttpSession {
  /** The operator's name for this session: safe to log. */
  readonly name: string;
  /** The content origin: every request of this session goes there… */
  readonly baseUrl: string;
  /** …or to the service's auth origin (login, token refresh); nowhere else. */
  readonly authUrl: string;
  request(req: HttpRequest): Promise<HttpResponse>;
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Default cap for JSON and HTML bodies; files get their own cap. */
export const MAX_DOCUMENT_BYTES = 32 << 20;
export const MAX_FILE_BYTES = 64 << 20;
