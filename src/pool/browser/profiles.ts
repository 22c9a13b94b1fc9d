import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { BookdError, UsageError } from '../../errors.js';

export const BROWSERS = ['firefox', 'chromium', 'chrome', 'brave', 'edge'] as const;
export type Browser = (typeof BROWSERS)[number];
export type ChromiumBrowser = Exclude<Browser, 'firefox'>;

/** Where a browser and its profile are, as the environment of this process says. */
export interface BrowserEnv {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
}

export interface BrowserSpec {
  browser: Browser;
  /** A profile name or a path; absent means the browser's default profile. */
  profile?: string;
}

/** `BROWSER[:PROFILE]` as `--from-browser` takes it; an unknown browser is a usage error. */
export function parseBrowserSpec(spec: string): BrowserSpec {
  const colon = spec.indexOf(':');
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim().toLowerCase();
  const profile = colon < 0 ? undefined : spec.slice(colon + 1);
  if (!(BROWSERS as readonly string[]).includes(name)) {
    throw new UsageError(`"${name}" is not a browser bookd reads cookies from: use one of ${BROWSERS.join(', ')} (as BROWSER or BROWSER:PROFILE)`);
  }
  if (profile !== undefined && profile.trim() === '') throw new UsageError(`--from-browser ${name}: give a profile name or path after the colon`);
  return { browser: name as Browser, profile };
}

function home(where: BrowserEnv): string {
  const h = where.env.HOME;
  if (!h) throw new BookdError('bad_input', 'HOME is not set, so no browser profile can be found: give the profile as a path (BROWSER:/path/to/profile)');
  return h;
}

/** A profile given as a path rather than a name. */
function isPath(profile: string): boolean {
  return isAbsolute(profile) || profile.startsWith('.') || profile.startsWith('~') || profile.includes('/');
}

function expand(profile: string, where: BrowserEnv): string {
  return profile === '~' || profile.startsWith('~/') ? join(home(where), profile.slice(1)) : resolve(profile);
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

function missing(message: string): never {
  throw new BookdError('bad_input', message);
}

/** The Firefox profile folders' parent: where profiles.ini is (Linux: also the snap and flatpak builds). */
function firefoxRoots(where: BrowserEnv): string[] {
  const h = home(where);
  if (where.platform === 'darwin') return [join(h, 'Library', 'Application Support', 'Firefox')];
  return [
    join(h, '.mozilla', 'firefox'),
    join(h, 'snap', 'firefox', 'common', '.mozilla', 'firefox'),
    join(h, '.var', 'app', 'org.mozilla.firefox', '.mozilla', 'firefox'),
  ];
}

interface IniSection {
  name: string;
  values: Map<string, string>;
}

function parseIni(text: string): IniSection[] {
  const out: IniSection[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      out.push({ name: section[1]!, values: new Map() });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && out.length) out[out.length - 1]!.values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/**
 * The profile folder profiles.ini names: by Name= (or folder name) when asked, else the default
 * one. Current Firefox records the profile it opens in an [Install…] section; older ones mark
 * theirs Default=1.
 */
function firefoxFromIni(root: string, profile: string | undefined): string {
  const ini = join(root, 'profiles.ini');
  const sections = parseIni(readFileSync(ini, 'utf8'));
  const profiles = sections.filter((s) => /^Profile\d+$/.test(s.name) && s.values.has('Path'));
  const dirOf = (s: IniSection) => {
    const p = s.values.get('Path')!;
    return s.values.get('IsRelative') === '0' ? p : join(root, p);
  };
  if (profile !== undefined) {
    const found = profiles.find((s) => s.values.get('Name') === profile) ?? profiles.find((s) => basename(s.values.get('Path')!) === profile);
    if (!found) {
      const names = profiles.map((s) => s.values.get('Name') ?? basename(s.values.get('Path')!));
      missing(`no Firefox profile named "${profile}" in ${ini}${names.length ? ` (it has ${names.join(', ')})` : ''}`);
    }
    return dirOf(found);
  }
  const installed = sections.find((s) => s.name.startsWith('Install') && s.values.has('Default'))?.values.get('Default');
  if (installed) return isAbsolute(installed) ? installed : join(root, installed);
  const marked = profiles.find((s) => s.values.get('Default') === '1') ?? (profiles.length === 1 ? profiles[0] : undefined);
  if (!marked) missing(`${ini} marks no default profile: name one (firefox:PROFILE)`);
  return dirOf(marked);
}

/** The Chromium-family user-data folder (Linux honours XDG_CONFIG_HOME, as Chromium does). */
function chromiumRoot(browser: ChromiumBrowser, where: BrowserEnv): string {
  const h = home(where);
  if (where.platform === 'darwin') {
    const sub = { chromium: ['Chromium'], chrome: ['Google', 'Chrome'], brave: ['BraveSoftware', 'Brave-Browser'], edge: ['Microsoft Edge'] }[browser];
    return join(h, 'Library', 'Application Support', ...sub);
  }
  const config = where.env.XDG_CONFIG_HOME || join(h, '.config');
  const sub = { chromium: ['chromium'], chrome: ['google-chrome'], brave: ['BraveSoftware', 'Brave-Browser'], edge: ['microsoft-edge'] }[browser];
  return join(config, ...sub);
}

/** A Chromium profile folder's cookie database: `Network/Cookies` since Chromium 96, `Cookies` before. */
function chromiumCookies(dir: string): string | undefined {
  return [join(dir, 'Network', 'Cookies'), join(dir, 'Cookies')].find(isFile);
}

export interface LocatedProfile {
  browser: Browser;
  /** The profile folder. */
  dir: string;
  /** Its cookie database. */
  cookies: string;
  /** The user-data folder above it, for a Chromium profile. */
  userData?: string;
}

/** Finds the cookie database of a profile; a missing one is an error naming the path looked at. */
export function locateProfile(spec: BrowserSpec, where: BrowserEnv): LocatedProfile {
  const { browser, profile } = spec;
  if (browser === 'firefox') {
    let dir: string;
    if (profile !== undefined && isPath(profile)) {
      dir = expand(profile, where);
      if (!isDir(dir)) missing(`no Firefox profile at ${dir}: there is no such folder`);
    } else {
      const roots = firefoxRoots(where);
      const root = roots.find((r) => isFile(join(r, 'profiles.ini')));
      if (!root)
        missing(
          `no Firefox profiles found: looked for ${roots.map((r) => join(r, 'profiles.ini')).join(', ')} (give the profile folder as firefox:/path/to/profile)`,
        );
      dir = firefoxFromIni(root, profile);
    }
    const cookies = join(dir, 'cookies.sqlite');
    if (!isFile(cookies)) missing(`no Firefox cookie database at ${cookies}`);
    return { browser, dir, cookies };
  }
  let userData: string | undefined;
  let dir: string;
  if (profile !== undefined && isPath(profile)) {
    const p = expand(profile, where);
    if (!isDir(p)) missing(`no ${browser} profile at ${p}: there is no such folder`);
    // A user-data folder (it holds Default/) or a profile folder (it holds the cookies).
    if (!chromiumCookies(p) && isDir(join(p, 'Default'))) {
      userData = p;
      dir = join(p, 'Default');
    } else {
      dir = p;
    }
  } else {
    userData = chromiumRoot(browser, where);
    if (!isDir(userData)) missing(`no ${browser} user data at ${userData} (give the profile folder as ${browser}:/path/to/profile)`);
    dir = join(userData, profile ?? 'Default');
  }
  const cookies = chromiumCookies(dir);
  if (!cookies) missing(`no ${browser} cookie database at ${join(dir, 'Network', 'Cookies')} or ${join(dir, 'Cookies')}`);
  return { browser, dir, cookies, userData };
}

/**
 * Copies a database with its journal files into a private temp folder: the browser holds the
 * original open and locked, and what is committed may still sit in the -wal file beside it.
 * `read` gets the copy's path; the copy is removed whatever happens.
 */
export function withCopy<T>(database: string, read: (copy: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-cookies-'));
  try {
    const copy = join(dir, basename(database));
    try {
      copyFileSync(database, copy);
    } catch (err) {
      missing(`cannot copy the cookie database ${database} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    for (const suffix of ['-wal', '-shm', '-journal']) {
      if (isFile(database + suffix)) copyFileSync(database + suffix, copy + suffix);
    }
    return read(copy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Current desktop User-Agent strings, per browser family and platform; the major version is
 * filled in from the profile when it says which one ran last. Chromium, Brave and Chrome send the
 * same string; Edge adds its own token.
 */
const CHROME_MAJOR = 156;
const FIREFOX_MAJOR = 156;

export function browserUserAgent(browser: Browser, platform: NodeJS.Platform, major?: number): string {
  const mac = platform === 'darwin';
  if (browser === 'firefox') {
    const v = `${major ?? FIREFOX_MAJOR}.0`;
    return `Mozilla/5.0 (${mac ? 'Macintosh; Intel Mac OS X 10.15' : 'X11; Linux x86_64'}; rv:${v}) Gecko/20100101 Firefox/${v}`;
  }
  const v = `${major ?? CHROME_MAJOR}.0.0.0`;
  const os = mac ? 'Macintosh; Intel Mac OS X 10_15_7' : 'X11; Linux x86_64';
  return `Mozilla/5.0 (${os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v} Safari/537.36${browser === 'edge' ? ` Edg/${v}` : ''}`;
}

/** The major version the profile last ran with: Firefox's compatibility.ini, Chromium's `Last Version`. */
export function profileMajorVersion(located: LocatedProfile): number | undefined {
  try {
    const text =
      located.browser === 'firefox'
        ? /^LastVersion=(\d+)\./m.exec(readFileSync(join(located.dir, 'compatibility.ini'), 'utf8'))?.[1]
        : located.userData
          ? /^(\d+)\./.exec(readFileSync(join(located.userData, 'Last Version'), 'utf8').trim())?.[1]
          : undefined;
    const n = text === undefined ? NaN : Number(text);
    return Number.isInteger(n) && n > 0 && n < 1000 ? n : undefined;
  } catch {
    return undefined;
  }
}
