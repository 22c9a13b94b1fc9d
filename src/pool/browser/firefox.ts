import BetterSqlite3 from 'better-sqlite3';
import type { ImportedCookie } from '../cookie-import.js';

interface MozCookie {
  host: string;
  name: string;
  value: string;
  path: string;
  expiry: number | bigint;
  isSecure: number;
  isHttpOnly: number;
  originAttributes: string;
}

/** Seconds since the epoch: Firefox has stored seconds, newer builds milliseconds. */
export function firefoxExpiry(expiry: number): number | undefined {
  if (!Number.isFinite(expiry) || expiry <= 0) return undefined;
  // 1e11 seconds is the year 5138; 1e11 ms is 1973: no real expiry is ambiguous.
  return Math.floor(expiry > 1e11 ? expiry / 1000 : expiry);
}

/**
 * The cookies of a Firefox `cookies.sqlite` (a copy: see withCopy) whose host `keep` accepts.
 * Only the main cookie store is read: cookies of containers and of private windows carry
 * originAttributes (`^userContextId=2`) and belong to another identity than the profile's own.
 */
export function readFirefoxCookies(database: string, keep: (host: string) => boolean): ImportedCookie[] {
  const db = new BetterSqlite3(database, { readonly: true, fileMustExist: true });
  try {
    const columns = new Set((db.prepare('PRAGMA table_info(moz_cookies)').all() as { name: string }[]).map((c) => c.name));
    const origin = columns.has('originAttributes') ? 'originAttributes' : "'' AS originAttributes";
    const rows = db
      .prepare(`SELECT host, name, value, path, expiry, isSecure, isHttpOnly, ${origin} FROM moz_cookies`)
      .safeIntegers(false)
      .all() as MozCookie[];
    return rows
      .filter((r) => !r.originAttributes && keep(r.host))
      .map((r) => ({
        name: r.name,
        value: r.value,
        domain: r.host,
        // Firefox writes a domain cookie's host with its leading dot, a host-only one without.
        hostOnly: !r.host.startsWith('.'),
        path: r.path || '/',
        expires: firefoxExpiry(Number(r.expiry)),
        secure: r.isSecure === 1,
        httpOnly: r.isHttpOnly === 1,
      }));
  } finally {
    db.close();
  }
}
