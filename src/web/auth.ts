import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The page's login cookie: a value derived from the token, never the token itself. */
export const SESSION_COOKIE = 'bookd_session';

/** How a request proved itself: a token (Bearer or Basic), the login cookie, or nothing needed (no token set). */
export type Principal = 'bearer' | 'basic' | 'cookie' | 'open';

export type AuthResult =
  | { ok: true; principal: Principal }
  /** `presented`: a token was given and was wrong (it counts against the address). */
  | { ok: false; presented: boolean };

export interface WebAuth {
  /** A token is set: every request but the open ones must carry it. */
  readonly required: boolean;
  check(req: IncomingMessage): AuthResult;
  /** The token typed into the login form. */
  tokenMatches(candidate: string): boolean;
  /** The Set-Cookie header that logs the browser in (HttpOnly, SameSite=Strict, the whole site). */
  loginCookie(): string;
  logoutCookie(): string;
  /** The CSRF token of forms and state-changing API calls for this principal. */
  csrfFor(req: IncomingMessage, principal: Principal): string;
  csrfMatches(req: IncomingMessage, principal: Principal, candidate: string | undefined): boolean;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
/** Equal-length digests, so neither the length nor the content of the secret leaks through timing. */
export const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));
const mac = (key: string | Buffer, what: string) => createHmac('sha256', key).update(what, 'utf8').digest('base64url');

/** The cookies of a request by name (the first of a name wins). */
export function requestCookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Token checks for the web surface. The cookie holds HMAC(token, a fixed label): it proves a login
 * without being the token, stays valid across restarts, and dies when the token changes. CSRF
 * tokens are HMACs of the principal under a key derived from the token (or, without a token, a
 * key made at start).
 */
export function webAuth(token: string | undefined): WebAuth {
  const session = token === undefined ? undefined : mac(token, 'bookd web session v1');
  const csrfKey = token === undefined ? randomBytes(32) : createHmac('sha256', token).update('bookd csrf v1').digest();
  const cookieOf = (req: IncomingMessage) => requestCookies(req).get(SESSION_COOKIE);
  const csrfSubject = (req: IncomingMessage, principal: Principal) => (principal === 'cookie' ? `cookie:${cookieOf(req) ?? ''}` : principal);

  return {
    required: token !== undefined,
    check(req) {
      if (token === undefined || session === undefined) return { ok: true, principal: 'open' };
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
        if (bearer) return sameSecret(bearer[1]!, token) ? { ok: true, principal: 'bearer' } : { ok: false, presented: true };
        const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
        if (basic) {
          const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
          const colon = decoded.indexOf(':');
          // Any user name: OPDS readers and Prometheus ask for one, the token is the password.
          const password = colon < 0 ? decoded : decoded.slice(colon + 1);
          return sameSecret(password, token) ? { ok: true, principal: 'basic' } : { ok: false, presented: true };
        }
        return { ok: false, presented: true };
      }
      const cookie = cookieOf(req);
      // A stale cookie (the token changed) is not a guess: it is not counted against the address.
      if (cookie !== undefined && sameSecret(cookie, session)) return { ok: true, principal: 'cookie' };
      return { ok: false, presented: false };
    },
    tokenMatches: (candidate) => token !== undefined && sameSecret(candidate, token),
    loginCookie: () => `${SESSION_COOKIE}=${session ?? ''}; Path=/; HttpOnly; SameSite=Strict`,
    logoutCookie: () => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
    csrfFor: (req, principal) => mac(csrfKey, csrfSubject(req, principal)),
    csrfMatches: (req, principal, candidate) => candidate !== undefined && sameSecret(candidate, mac(csrfKey, csrfSubject(req, principal))),
  };
}
