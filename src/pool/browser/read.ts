import type { ImportedCookie } from '../cookie-import.js';
import { isServiceCookieDomain } from '../jar.js';
import { readChromiumCookies, type Run } from './chromium.js';
import { readFirefoxCookies } from './firefox.js';
import { BookdError, errorMessage } from '../../errors.js';
import { browserUserAgent, locateProfile, profileMajorVersion, withCopy, type BrowserEnv, type BrowserSpec } from './profiles.js';

export interface BrowserReadOptions extends BrowserEnv {
  run: Run;
  /** The service's origins (base and auth URL): only their domain's cookies are read. */
  urls: string[];
}

export interface BrowserCookies {
  cookies: ImportedCookie[];
  /** What they came from, for the command's output: `firefox profile /home/a/.mozilla/firefox/x.default`. */
  source: string;
  /** The User-Agent of that browser, as current as the profile tells. */
  userAgent: string;
}

/**
 * Reads the service's cookies out of a browser profile (README.md, sessions): a copy of the
 * cookie database is read and removed; nothing else of the profile is read or kept.
 */
export function readBrowserCookies(spec: BrowserSpec, opts: BrowserReadOptions): BrowserCookies {
  if (spec.browser !== 'firefox' && opts.platform === 'darwin') {
    // There Chromium's key is in the Keychain, which bookd does not read.
    throw new BookdError(
      'bad_input',
      `on macOS ${spec.browser}'s cookies are encrypted with a key in the Keychain, which bookd does not read: use Firefox, or export the cookies with a cookies.txt extension and use --cookies FILE`,
    );
  }
  const located = locateProfile(spec, opts);
  const keep = (host: string) => isServiceCookieDomain(host, opts.urls);
  const cookies = withCopy(located.cookies, (copy) => {
    try {
      return located.browser === 'firefox' ? readFirefoxCookies(copy, keep) : readChromiumCookies(copy, keep, { browser: located.browser, run: opts.run });
    } catch (err) {
      // Said here: further up, a SQLite error reads as bookd's own database being damaged.
      if (!isSqliteError(err)) throw err;
      throw new BookdError(
        'bad_input',
        `${located.cookies} is not a ${located.browser} cookie database bookd can read (SQLite: ${errorMessage(err)}); nothing was imported: ` +
          `open the profile in ${located.browser} once, or export the cookies with a cookies.txt extension and use --cookies FILE`,
      );
    }
  });
  return {
    cookies,
    source: `${located.browser} profile ${located.dir}`,
    userAgent: browserUserAgent(located.browser, opts.platform, profileMajorVersion(located)),
  };
}

function isSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}
