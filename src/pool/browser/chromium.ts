import { spawnSync } from 'node:child_process';
import { createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { BookdError } from '../../errors.js';
import type { ImportedCookie } from '../cookie-import.js';
import type { ChromiumBrowser } from './profiles.js';

/** Runs a child process to completion; injected so tests can stand in for secret-tool. */
export type Run = (command: string, args: string[]) => { status: number | null; stdout: string; error?: NodeJS.ErrnoException };

export const runCommand: Run = (command, args) => {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'] });
  return { status: r.status, stdout: r.stdout ?? '', error: r.error };
};

/** Chromium on Linux derives its AES key from a password: "peanuts" for v10 values, the keyring's for v11. */
export function chromiumKey(password: string): Buffer {
  return pbkdf2Sync(password, 'saltysalt', 1, 16, 'sha1');
}

const IV = Buffer.alloc(16, ' ');

/** Seconds since the epoch from Chromium's microseconds since 1601-01-01; 0 is a session cookie. */
export function chromiumExpiry(expiresUtc: bigint | number): number | undefined {
  const us = BigInt(expiresUtc);
  if (us <= 0n) return undefined;
  return Number(us / 1_000_000n - 11_644_473_600n);
}

/** The `application` attribute each browser stores its keyring password under, most likely first. */
const KEYRING_APPLICATION: Record<ChromiumBrowser, string[]> = {
  chromium: ['chromium'],
  chrome: ['chrome'],
  brave: ['brave'],
  edge: ['Microsoft Edge', 'microsoft-edge'],
};

export interface ChromiumOptions {
  browser: ChromiumBrowser;
  run: Run;
}

interface Row {
  host_key: string;
  name: string;
  value: string;
  encrypted_value: Buffer | null;
  path: string;
  expires_utc: bigint;
  is_secure: bigint;
  is_httponly: bigint;
}

function noKeyring(browser: ChromiumBrowser, why: string): BookdError {
  return new BookdError(
    'bad_input',
    `${browser}'s cookies are encrypted with the desktop keyring's password, read with secret-tool (package libsecret-tools), and ${why}: ` +
      `install it and unlock the keyring, or export the cookies with a cookies.txt extension and use --cookies FILE`,
  );
}

/** The v11 password from the keyring, asked once per read. */
function keyringPassword(browser: ChromiumBrowser, run: Run): string {
  for (const application of KEYRING_APPLICATION[browser]) {
    const r = run('secret-tool', ['lookup', 'application', application]);
    if (r.error?.code === 'ENOENT') throw noKeyring(browser, 'secret-tool is not installed');
    if (r.status === 0 && r.stdout !== '') return r.stdout.replace(/\n$/, '');
  }
  throw noKeyring(browser, `secret-tool found no password for application ${KEYRING_APPLICATION[browser].map((a) => `"${a}"`).join(' or ')}`);
}

function decrypt(key: Buffer, body: Buffer): Buffer | undefined {
  try {
    const d = createDecipheriv('aes-128-cbc', key, IV);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    return undefined; // bad padding: the wrong key
  }
}

/**
 * The cookies of a Chromium-family `Cookies` database (a copy: see withCopy) whose host `keep`
 * accepts, decrypted. Values are `v10` (key from "peanuts") or `v11` (key from the keyring's
 * password, via secret-tool); from database version 24 on, the plaintext starts with
 * SHA-256(host_key), which is checked and cut off.
 */
export function readChromiumCookies(database: string, keep: (host: string) => boolean, opts: ChromiumOptions): ImportedCookie[] {
  const db = new BetterSqlite3(database, { readonly: true, fileMustExist: true });
  let rows: Row[];
  let version: number;
  try {
    try {
      const meta = db.prepare("SELECT value FROM meta WHERE key = 'version'").get() as { value: string | number } | undefined;
      version = Number(meta?.value ?? 0);
    } catch {
      version = 0; // no meta table: an old database, no host prefix
    }
    rows = db
      .prepare('SELECT host_key, name, value, encrypted_value, path, expires_utc, is_secure, is_httponly FROM cookies')
      .safeIntegers(true)
      .all() as Row[];
  } finally {
    db.close();
  }
  const keys: { v10?: Buffer; empty?: Buffer; v11?: Buffer } = {};
  const out: ImportedCookie[] = [];
  for (const r of rows.filter((row) => keep(row.host_key))) {
    let value = r.value;
    const enc = r.encrypted_value;
    if (enc && enc.length > 0) {
      const prefix = enc.subarray(0, 3).toString('latin1');
      const body = enc.subarray(3);
      let plain: Buffer | undefined;
      if (prefix === 'v10') {
        keys.v10 ??= chromiumKey('peanuts');
        plain = decrypt(keys.v10, body);
      } else if (prefix === 'v11') {
        // Where the keyring was unavailable when the value was written, Chromium used an empty
        // password; only a value that key does not open needs the keyring.
        keys.empty ??= chromiumKey('');
        plain = decrypt(keys.empty, body);
        if (!plain || !readable(plain, r.host_key, version)) {
          keys.v11 ??= chromiumKey(keyringPassword(opts.browser, opts.run));
          plain = decrypt(keys.v11, body);
        }
      } else {
        throw new BookdError(
          'bad_input',
          `cookie ${r.name} of ${opts.browser} is encrypted in a way bookd does not know ("${prefix.replace(/[^\x20-\x7e]/g, '?')}"); export the cookies with a cookies.txt extension and use --cookies FILE`,
        );
      }
      if (!plain || !readable(plain, r.host_key, version)) {
        throw new BookdError(
          'bad_input',
          `cookie ${r.name} of ${opts.browser} does not decrypt (${prefix}); export the cookies with a cookies.txt extension and use --cookies FILE`,
        );
      }
      value = strip(plain, version).toString('utf8');
    }
    out.push({
      name: r.name,
      value,
      domain: r.host_key,
      // Chromium writes a domain cookie's host_key with its leading dot, a host-only one without.
      hostOnly: !r.host_key.startsWith('.'),
      path: r.path || '/',
      expires: chromiumExpiry(r.expires_utc),
      secure: r.is_secure === 1n,
      httpOnly: r.is_httponly === 1n,
    });
  }
  return out;
}

function strip(plain: Buffer, version: number): Buffer {
  return version >= 24 ? plain.subarray(32) : plain;
}

/** A decryption that is right: the host digest where the version puts one, and text a cookie can hold. */
function readable(plain: Buffer, host: string, version: number): boolean {
  if (version >= 24 && !plain.subarray(0, 32).equals(createHash('sha256').update(host).digest())) return false;
  const text = strip(plain, version);
  return !text.includes(0) && /^[\x20-\x7e]*$/.test(text.toString('latin1'));
}
