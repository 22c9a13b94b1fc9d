import { createCipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** One cookie to put in a fixture browser database. */
export interface FixtureCookie {
  host: string;
  name: string;
  value: string;
  path?: string;
  /** Epoch seconds; 0 for a session cookie. */
  expires?: number;
  secure?: boolean;
  httpOnly?: boolean;
  /** Firefox only: a container's or private window's cookie. */
  originAttributes?: string;
}

/** A Firefox `cookies.sqlite` with a `moz_cookies` table as Firefox creates it. `expiryMs` stores milliseconds, as newer builds do. */
export function firefoxCookies(file: string, cookies: FixtureCookie[], opts: { expiryMs?: boolean } = {}): void {
  const db = new BetterSqlite3(file);
  db.exec(`CREATE TABLE moz_cookies (id INTEGER PRIMARY KEY, originAttributes TEXT NOT NULL DEFAULT '', name TEXT, value TEXT, host TEXT,
    path TEXT, expiry INTEGER, lastAccessed INTEGER, creationTime INTEGER, isSecure INTEGER, isHttpOnly INTEGER,
    inBrowserElement INTEGER DEFAULT 0, sameSite INTEGER DEFAULT 0, rawSameSite INTEGER DEFAULT 0, schemeMap INTEGER DEFAULT 0)`);
  const insert = db.prepare(
    'INSERT INTO moz_cookies (originAttributes, name, value, host, path, expiry, lastAccessed, creationTime, isSecure, isHttpOnly) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)',
  );
  for (const c of cookies) {
    const exp = c.expires ?? 0;
    insert.run(c.originAttributes ?? '', c.name, c.value, c.host, c.path ?? '/', opts.expiryMs ? exp * 1000 : exp, c.secure ? 1 : 0, c.httpOnly ? 1 : 0);
  }
  db.close();
}

/** A Firefox profile under a fake HOME: profiles.ini naming it the default, its cookies and compatibility.ini. */
export function firefoxProfile(home: string, cookies: FixtureCookie[], opts: { lastVersion?: string } = {}): string {
  const root = join(home, '.mozilla', 'firefox');
  const dir = join(root, 'abcd1234.default-release');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(root, 'profiles.ini'),
    '[Profile1]\nName=default\nIsRelative=1\nPath=zzzz.default\n\n[Profile0]\nName=default-release\nIsRelative=1\nPath=abcd1234.default-release\n\n' +
      '[General]\nStartWithLastProfile=1\nVersion=2\n\n[Install4F96D1932A9F858E]\nDefault=abcd1234.default-release\nLocked=1\n',
  );
  if (opts.lastVersion) writeFileSync(join(dir, 'compatibility.ini'), `[Compatibility]\nLastVersion=${opts.lastVersion}\nLastOSABI=Linux_x86_64-gcc3\n`);
  firefoxCookies(join(dir, 'cookies.sqlite'), cookies);
  return dir;
}

/** Chromium's Linux v10/v11 encryption: AES-128-CBC, key PBKDF2-SHA1(password, "saltysalt", 1), IV of spaces. */
export function chromiumEncrypt(value: string, opts: { password?: string; prefix?: 'v10' | 'v11'; host?: string } = {}): Buffer {
  const key = pbkdf2Sync(opts.password ?? 'peanuts', 'saltysalt', 1, 16, 'sha1');
  const c = createCipheriv('aes-128-cbc', key, Buffer.alloc(16, ' '));
  const plain = Buffer.concat([opts.host === undefined ? Buffer.alloc(0) : createHash('sha256').update(opts.host).digest(), Buffer.from(value)]);
  return Buffer.concat([Buffer.from(opts.prefix ?? 'v10'), c.update(plain), c.final()]);
}

/**
 * A Chromium `Cookies` database: `cookies` and `meta` tables. Version 24 and on put SHA-256 of
 * the host before each plaintext; `plain` stores the value unencrypted.
 */
export function chromiumCookies(
  file: string,
  cookies: FixtureCookie[],
  opts: { version?: number; password?: string; prefix?: 'v10' | 'v11'; plain?: boolean } = {},
): void {
  const version = opts.version ?? 24;
  const db = new BetterSqlite3(file);
  db.exec(`CREATE TABLE meta (key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
    CREATE TABLE cookies (creation_utc INTEGER NOT NULL, host_key TEXT NOT NULL, top_frame_site_key TEXT NOT NULL DEFAULT '', name TEXT NOT NULL,
      value TEXT NOT NULL, encrypted_value BLOB NOT NULL DEFAULT '', path TEXT NOT NULL, expires_utc INTEGER NOT NULL, is_secure INTEGER NOT NULL,
      is_httponly INTEGER NOT NULL, last_access_utc INTEGER NOT NULL DEFAULT 0, has_expires INTEGER NOT NULL DEFAULT 1)`);
  db.prepare("INSERT INTO meta VALUES ('version', ?)").run(String(version));
  const insert = db.prepare(
    'INSERT INTO cookies (creation_utc, host_key, name, value, encrypted_value, path, expires_utc, is_secure, is_httponly) VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const c of cookies) {
    const enc = opts.plain
      ? Buffer.alloc(0)
      : chromiumEncrypt(c.value, { password: opts.password, prefix: opts.prefix, host: version >= 24 ? c.host : undefined });
    const expires = c.expires ? (BigInt(c.expires) + 11_644_473_600n) * 1_000_000n : 0n;
    insert.run(c.host, c.name, opts.plain ? c.value : '', enc, c.path ?? '/', expires, c.secure ? 1 : 0, c.httpOnly ? 1 : 0);
  }
  db.close();
}

/** A Chromium user-data folder under a fake Linux HOME (~/.config/SUB/Default/Network/Cookies). */
export function chromiumProfile(home: string, sub: string, cookies: FixtureCookie[], opts: Parameters<typeof chromiumCookies>[2] = {}): string {
  const dir = join(home, '.config', sub, 'Default', 'Network');
  mkdirSync(dir, { recursive: true });
  chromiumCookies(join(dir, 'Cookies'), cookies, opts);
  return join(home, '.config', sub);
}
