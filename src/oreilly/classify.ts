import { BookdError } from '../errors.js';
import { header, type HttpResponse } from './http.js';
import { DEFAULT_TUNING } from '../config.js';

/** What the caller asked for; an answer of another shape is a failure, never parsed as if it fit. */
export type Expect = 'json' | 'html' | 'file';

const LOGIN_PATH = /\/(login|accounts\/login|sign-?in)\b/i;

function snippet(body: Buffer): string {
  return JSON.stringify(body.subarray(0, 120).toString('utf8'));
}

function isHtml(res: Pick<HttpResponse, 'headers' | 'body'>): boolean {
  const type = header(res, 'content-type') ?? '';
  if (/text\/html|application\/xhtml/i.test(type)) return true;
  const head = res.body.subarray(0, 256).toString('utf8').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

function looksLikeLoginPage(body: Buffer): boolean {
  const text = body.subarray(0, 64 << 10).toString('utf8');
  return /<form[^>]+(login|sign-?in)/i.test(text) || /<title>[^<]*(sign in|log in|login)[^<]*<\/title>/i.test(text);
}

/**
 * The edge (Akamai) refusing this machine, not the origin refusing a session: a 403 from
 * `AkamaiGHost`, or its HTML "Access Denied" page (docs/SERVICE.md §3). The one test for it, used
 * where responses are classified and where the session judges whether a request got through.
 */
export function isEdgeRefusal(res: Pick<HttpResponse, 'status' | 'headers' | 'body'>): boolean {
  if (res.status !== 403) return false;
  if (/akamai/i.test(header(res, 'server') ?? '')) return true;
  return isHtml(res) && /access denied/i.test(res.body.subarray(0, 4096).toString('utf8'));
}

/**
 * `Retry-After` as seconds or an HTTP date, at most `retryAfterCapMs` away; absent or odd values
 * fall back to `retryAfterFallbackMs` (src/config.ts, `Tuning['retry']`).
 */
const RETRY_AFTER_CAP_MS = DEFAULT_TUNING.retry.retryAfterCapMs;

export function retryAfterMs(res: HttpResponse, now: number): number {
  const raw = header(res, 'retry-after');
  if (raw) {
    const secs = Number(raw);
    if (Number.isFinite(secs) && secs >= 0) return now + Math.min(secs * 1000, RETRY_AFTER_CAP_MS);
    const date = Date.parse(raw);
    if (Number.isFinite(date)) return Math.max(now, Math.min(date, now + RETRY_AFTER_CAP_MS));
  }
  return now + DEFAULT_TUNING.retry.retryAfterFallbackMs;
}

function detailOf(res: HttpResponse): string | undefined {
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { detail?: unknown; message?: unknown };
    const d = parsed.detail ?? parsed.message;
    return typeof d === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one place a response's meaning is decided (docs/SERVICE.md §3). Returns nothing for a usable
 * response and throws a classified BookdError otherwise.
 */
export function classifyResponse(res: HttpResponse, expect: Expect, now: number): void {
  const { status } = res;
  const where = res.url;
  if (status === 429) {
    throw new BookdError('rate_limited', `the server asked this session to slow down (429) at ${where}`, { retryAt: retryAfterMs(res, now), status });
  }
  if (isEdgeRefusal(res)) {
    throw new BookdError('rate_limited', `the service's edge refused this machine (403 Access Denied) at ${where}`, { edge: true, status });
  }
  if (status === 401 || status === 403) {
    const detail = detailOf(res);
    throw new BookdError('auth', `the session is not accepted (${status}${detail ? `: ${detail}` : ''}) at ${where}`, { status, url: where });
  }
  if (status >= 300 && status < 400) {
    const location = header(res, 'location') ?? '';
    if (LOGIN_PATH.test(location)) throw new BookdError('auth', `the session was sent to the login page at ${where}`, { status });
    throw new BookdError('transient', `unexpected redirect (${status}) to ${location || 'nowhere'} at ${where}`, { status });
  }
  if (status === 404) {
    throw new BookdError('permanent', `${detailOf(res) ?? 'not found'} (404) at ${where}`, { status });
  }
  if (status >= 500) throw new BookdError('transient', `server error ${status} at ${where}`, { status });
  if (status < 200 || status >= 300) {
    throw new BookdError('permanent', `unexpected status ${status}${detailOf(res) ? ` (${detailOf(res)})` : ''} at ${where}`, { status });
  }
  if (expect === 'json' && isHtml(res)) {
    if (looksLikeLoginPage(res.body)) throw new BookdError('auth', `a login page came back where data was expected at ${where}`, { status });
    throw new BookdError('transient', `an HTML page came back where JSON was expected at ${where}: ${snippet(res.body)}`, { status });
  }
  if (expect === 'html' && looksLikeLoginPage(res.body) && !res.body.includes('sbo-rt-content')) {
    throw new BookdError('auth', `a login page came back instead of the chapter at ${where}`, { status });
  }
}

/** Parses a JSON body, reporting the URL and the first bytes when it is not JSON. */
export function parseJson<T>(res: HttpResponse): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch (err) {
    throw new BookdError('transient', `the body at ${res.url} is not valid JSON (${(err as Error).message}); it starts with ${snippet(res.body)}`);
  }
}
