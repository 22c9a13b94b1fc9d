import { Cookie } from 'tough-cookie';
import { jwtExpiry } from '../jwt.js';

/**
 * The jar's orm-rt, the refresh cookie that lets a session buy new tokens (docs/SERVICE.md §1):
 * whether there is one, and the last moment it can still be used (epoch ms). That is the earlier
 * of the cookie's own expiry (Expires, or Max-Age as the jar counts it) and, when its value is a
 * JWT that says, its `exp`; undefined when neither says (a flat cookie export has no expiry).
 * Read from the serialisation the store keeps, so a save costs one JSON parse and no jar.
 */
export function refreshCookieOfJson(jarJson: string): { present: boolean; expiresAt: number | undefined } {
  let cookies: unknown;
  try {
    cookies = (JSON.parse(jarJson) as { cookies?: unknown }).cookies;
  } catch {
    return { present: false, expiresAt: undefined };
  }
  const raw = Array.isArray(cookies) ? (cookies as unknown[]).find((c) => (c as { key?: unknown } | null)?.key === 'orm-rt') : undefined;
  const cookie = raw === undefined ? undefined : Cookie.fromJSON(raw);
  if (!cookie) return { present: false, expiresAt: undefined };
  const times = [cookie.expiryTime(), jwtExpiry(cookie.value)].filter((t): t is number => t !== undefined && Number.isFinite(t));
  return { present: true, expiresAt: times.length ? Math.min(...times) : undefined };
}
