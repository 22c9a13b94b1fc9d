import { Cookie, CookieJar, getPublicSuffix, type SerializedCookieJar } from 'tough-cookie';
import { BookdError } from '../errors.js';
import { jwtExpiry, jwtTime } from '../jwt.js';
import type { ImportedCookie } from './cookie-import.js';

/**
 * The domain an imported cookie without one gets: the base URL's registrable domain, the scope the
 * service itself uses (`.oreilly.com`), so a rotated `Set-Cookie` replaces it instead of sitting
 * beside it. An IP or single-label host (the simulator) gets a host-only cookie, as the server sets.
 */
export function cookieScope(baseUrl: string): { domain: string; hostOnly: boolean } {
  const host = new URL(baseUrl).hostname;
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  const registrable = isIp ? null : getPublicSuffix(host, { ignoreError: true });
  return registrable ? { domain: registrable, hostOnly: false } : { domain: host, hostOnly: true };
}

function domainMatches(host: string, domain: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  return host === d || host.endsWith(`.${d}`);
}

/**
 * Whether a cookie stored for `cookieDomain` (a browser's host column, with or without its
 * leading dot) is one of the service's: it lies within the registrable domain of the base or the
 * auth origin, the only origins cookies go to (docs/SERVICE.md §1). What is kept of those is
 * still decided by jarFromImport.
 */
export function isServiceCookieDomain(cookieDomain: string, urls: string[]): boolean {
  const host = cookieDomain.replace(/^\./, '').toLowerCase();
  return host !== '' && urls.some((u) => domainMatches(host, cookieScope(u).domain));
}

/**
 * Builds a session's jar from an export. Cookies for other sites in the export are left out, so
 * nothing of this session is ever sent anywhere but the service.
 */
export function jarFromImport(cookies: ImportedCookie[], baseUrl: string): { jar: CookieJar; kept: number; skipped: string[] } {
  const url = new URL(baseUrl);
  const scope = cookieScope(baseUrl);
  const jar = new CookieJar(undefined, { rejectPublicSuffixes: true, allowSpecialUseDomain: true });
  const skipped: string[] = [];
  let kept = 0;
  for (const c of cookies) {
    if (c.domain && !domainMatches(url.hostname, c.domain)) {
      skipped.push(`${c.name} (for ${c.domain})`);
      continue;
    }
    const hostOnly = c.domain ? (c.hostOnly ?? !c.domain.startsWith('.')) : scope.hostOnly;
    const domain = c.domain ? c.domain.replace(/^\./, '') : scope.domain;
    const cookie = new Cookie({
      key: c.name,
      value: c.value,
      domain,
      hostOnly,
      path: c.path ?? '/',
      expires: c.expires !== undefined ? new Date(c.expires * 1000) : 'Infinity',
      // A secure cookie is never sent over http; against a plain-http base (the simulator) that
      // would silently drop the login, so the flag only survives where it can be honoured.
      secure: url.protocol === 'https:' ? (c.secure ?? false) : false,
      httpOnly: c.httpOnly ?? false,
    });
    jar.setCookieSync(cookie, baseUrl, { ignoreError: false });
    kept++;
  }
  dedupeByName(jar, baseUrl);
  return { jar, kept, skipped };
}

/** The only jar representation that leaves memory: tough-cookie's own serialisation. */
export function serializeJar(jar: CookieJar): string {
  return JSON.stringify(jar.serializeSync());
}

export function restoreJar(json: string): CookieJar {
  try {
    return CookieJar.deserializeSync(JSON.parse(json) as SerializedCookieJar);
  } catch (err) {
    throw new BookdError('bad_input', `the stored cookie jar cannot be read (${(err as Error).message}); import the session's cookies again`);
  }
}

/**
 * Removes every cookie that shares its name with a newer one visible at `url`. Two cookies of one
 * name (say an imported one without a domain and a rotated one with it) must never both be sent:
 * the server may read the stale one (docs/SERVICE.md §1, "Duplicate cookies").
 */
export function dedupeByName(jar: CookieJar, url: string, preferred?: Cookie[]): boolean {
  const seen = new Map<string, Cookie>();
  for (const c of preferred ?? []) seen.set(c.key, c);
  let removed = false;
  const all = jar.getCookiesSync(url, { expire: false, allPaths: true });
  // Newest last: a cookie written by the latest response wins over older ones.
  all.sort((a, b) => accessed(a) - accessed(b));
  for (const c of all.reverse()) {
    const winner = seen.get(c.key);
    if (!winner) {
      seen.set(c.key, c);
      continue;
    }
    if (winner === c || (winner.domain === c.domain && winner.path === c.path)) continue;
    removeCookie(jar, c);
    removed = true;
  }
  return removed;
}

function accessed(c: Cookie): number {
  return c.lastAccessed instanceof Date ? c.lastAccessed.getTime() : 0;
}

function removeCookie(jar: CookieJar, c: Cookie): void {
  // MemoryCookieStore is synchronous: the callback runs before removeCookie returns.
  jar.store.removeCookie(c.domain, c.path, c.key, () => {});
}

/** The `exp` of the orm-jwt in the jar (epoch ms), without verifying the signature. */
export function tokenExpiry(jar: CookieJar, baseUrl: string): number | undefined {
  const jwt = jar.getCookiesSync(baseUrl, { expire: false }).find((c) => c.key === 'orm-jwt');
  return jwt ? jwtExpiry(jwt.value) : undefined;
}

/** How long the jar's orm-jwt was issued for (`exp − iat`, ms), when it says. */
export function tokenLifetime(jar: CookieJar, baseUrl: string): number | undefined {
  const jwt = jar.getCookiesSync(baseUrl, { expire: false }).find((c) => c.key === 'orm-jwt');
  const exp = jwt && jwtTime(jwt.value, 'exp');
  const iat = jwt && jwtTime(jwt.value, 'iat');
  return exp !== undefined && iat !== undefined && exp > iat ? exp - iat : undefined;
}
