import { BookdError } from '../errors.js';
import { classifyResponse, isEdgeRefusal, parseJson } from './classify.js';
import type { RequestKind } from './headers.js';
import { header, type HttpResponse } from './http.js';
import { arr, obj, str } from './shape.js';

export type ProfileResult = { status: 'ok'; userType: string | undefined; evidence: string } | { status: 'lapsed'; userType: string; evidence: string };

export const PROFILE_PATH = '/profile/';

/** Same-origin hops a probe follows; working SSO sessions have been seen answering 302/307. */
export const MAX_PROFILE_REDIRECTS = 3;

const LOGIN_PAGE = /^\/(accounts\/login|login|member\/login)(\/|$)/i;

/** One request through the session, redirects not followed; the cookie layer sees every hop. */
export type Send = (url: string, kind: RequestKind) => Promise<HttpResponse>;

/**
 * The session probe of docs/SERVICE.md §2: `/profile/`, following at most three redirects on the
 * same origin. Logged in unless the last hop is a login page; `"user_type":"Expired"` means the
 * subscription lapsed; a page that does not say (no `user_type`, a redirect elsewhere, too many
 * hops) is confirmed with one authenticated API call, since the absence of `user_type` means
 * nothing. Throws an `auth` BookdError when the session is not logged in.
 */
export async function probeProfile(send: Send, opts: { now: () => number; confirm: () => Promise<string> }): Promise<ProfileResult> {
  let url = PROFILE_PATH;
  const hops: string[] = [];
  let res: HttpResponse | undefined;
  let unsure: string | undefined;
  for (let hop = 0; ; hop++) {
    res = await send(url, 'document');
    if (res.status < 300 || res.status >= 400) break;
    const location = header(res, 'location');
    if (!location) break;
    const here = new URL(res.url);
    let target: URL;
    try {
      target = new URL(location, here);
    } catch {
      throw new BookdError('transient', `the profile page at ${res.url} redirects to an unreadable location`, { status: res.status });
    }
    hops.push(`${res.status} → ${target.pathname}`);
    if (LOGIN_PAGE.test(target.pathname)) {
      throw new BookdError('auth', `the profile page sent the session to the login page (${hops.join(', ')})`, { status: res.status });
    }
    if (target.origin !== here.origin) {
      unsure = `it redirects off the service to ${target.origin}`;
      break;
    }
    if (hop >= MAX_PROFILE_REDIRECTS - 1) {
      unsure = `it redirects more than ${MAX_PROFILE_REDIRECTS} times`;
      break;
    }
    url = target.href;
  }
  const trail = hops.length ? ` (${hops.join(', ')})` : '';
  if (!unsure) {
    classifyResponse(res, 'html', opts.now());
    if (LOGIN_PAGE.test(new URL(res.url).pathname)) throw new BookdError('auth', `the profile page is the login page${trail}`, { status: res.status });
    const userType = /"user_type"\s*:\s*"([^"]*)"/.exec(res.body.toString('utf8'))?.[1];
    if (userType !== undefined && userType.toLowerCase() === 'expired')
      return { status: 'lapsed', userType, evidence: `the profile page says user_type "${userType}"${trail}` };
    if (userType !== undefined) return { status: 'ok', userType, evidence: `the profile page says user_type "${userType}"${trail}` };
    unsure = 'it does not show a user type';
  }
  const confirmed = await opts.confirm();
  return { status: 'ok', userType: undefined, evidence: `the profile page answered ${res.status}${trail} but ${unsure}; ${confirmed}` };
}

/** The first real book of an anonymous-capable search: what an API confirmation asks about. */
export async function anyBookId(send: Send, now: number): Promise<string> {
  const res = await send('/api/v2/search/?query=*&formats=book&limit=10', 'json');
  classifyResponse(res, 'json', now);
  for (const raw of arr(obj(parseJson(res)).results)) {
    const hit = obj(raw);
    const format = (str(hit.format) || str(hit.content_format) || 'book').toLowerCase();
    const id = str(hit.archive_id);
    if (format === 'book' && /^\d{13}$/.test(id)) return id;
  }
  throw new BookdError('transient', 'the search listed no book to confirm the session with');
}

/**
 * One authenticated API call: the book metadata endpoint, for `bookId` or any listed book. A
 * 401/403 says not logged in. A 404 proves nothing about the login (a partial cookie set gets it,
 * and so does a withdrawn book): it is reported, and the daemon judges the session by whether
 * other sessions can read what this one cannot (docs/SERVICE.md §3).
 */
export async function confirmWithApi(send: Send, now: () => number, bookId?: string): Promise<string> {
  let id = bookId;
  if (id === undefined) {
    try {
      id = await anyBookId(send, now());
    } catch (err) {
      // The listing needs no login (docs/SERVICE.md §2): its refusal is throttling, not a verdict.
      if (err instanceof BookdError && err.kind !== 'auth' && err.kind !== 'permanent')
        return `no book to ask the API about (${err.message}); the profile page is no login page`;
      if (err instanceof BookdError && err.status === 403 && !err.edge)
        return `no book to ask the API about (the listing answered 403, as the bulk-access guard does); the profile page is no login page`;
      throw err;
    }
  }
  const res = await send(`/api/v2/epubs/urn:orm:book:${id}/`, 'json');
  if (res.status === 404) return `the book metadata API answered 404 for ${id}, as it does for a withdrawn book or a partial cookie set`;
  // The origin's bulk-access guard answers 403 to logged-in sessions too (docs/SERVICE.md §3): with
  // a profile page that is no login page, that is not evidence against the login. A 401 is.
  if (res.status === 403 && !isEdgeRefusal(res))
    return `the book metadata API answered 403 for ${id}, as the bulk-access guard does; the profile page is no login page`;
  classifyResponse(res, 'json', now());
  return `the book metadata API accepted it (${res.status} for ${id})`;
}
