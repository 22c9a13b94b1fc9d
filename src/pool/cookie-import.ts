import { BookdError } from '../errors.js';

/** One cookie as an export file describes it; `domain` absent means "the service's domain". */
export interface ImportedCookie {
  name: string;
  value: string;
  domain?: string;
  hostOnly?: boolean;
  path?: string;
  /** Epoch seconds; absent for session cookies. */
  expires?: number;
  secure?: boolean;
  httpOnly?: boolean;
}

export type CookieFormat = 'flat-json' | 'cookie-editor-json' | 'netscape' | 'header';

/** The largest cookie file we read: real exports are a few KB. */
export const MAX_COOKIE_FILE_BYTES = 1 << 20;

const HOW_TO_EXPORT =
  'log in to learning.oreilly.com in a browser, export its cookies with a cookie-export extension ' +
  '(JSON or cookies.txt) or copy the Cookie request header from the developer tools, and import that file';

function bad(message: string): never {
  throw new BookdError('bad_input', message);
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkCookie(c: ImportedCookie, where: string): ImportedCookie {
  if (!NAME.test(c.name)) bad(`${where}: "${c.name.slice(0, 40)}" is not a valid cookie name`);
  if (/[\x00-\x1f\x7f;]/.test(c.value)) bad(`${where}: the value of cookie ${c.name} has characters a cookie cannot carry`);
  return c;
}

function fromFlat(obj: Record<string, unknown>): ImportedCookie[] {
  return Object.entries(obj).map(([name, value]) => {
    if (typeof value !== 'string') bad(`cookie ${name}: expected a string value in the {name: value} file`);
    return checkCookie({ name, value }, `cookie ${name}`);
  });
}

function fromCookieEditor(list: unknown[]): ImportedCookie[] {
  return list.map((item, i) => {
    if (!item || typeof item !== 'object') bad(`entry ${i + 1}: expected an object with name and value`);
    const c = item as Record<string, unknown>;
    if (typeof c.name !== 'string' || typeof c.value !== 'string') bad(`entry ${i + 1}: expected string "name" and "value"`);
    const expires = typeof c.expirationDate === 'number' ? c.expirationDate : typeof c.expires === 'number' ? c.expires : undefined;
    return checkCookie(
      {
        name: c.name,
        value: c.value,
        domain: typeof c.domain === 'string' && c.domain ? c.domain : undefined,
        hostOnly: typeof c.hostOnly === 'boolean' ? c.hostOnly : undefined,
        path: typeof c.path === 'string' && c.path ? c.path : undefined,
        expires: expires !== undefined && expires > 0 ? Math.floor(expires) : undefined,
        secure: c.secure === true,
        httpOnly: c.httpOnly === true,
      },
      `entry ${i + 1}`,
    );
  });
}

function fromNetscape(text: string): ImportedCookie[] {
  const out: ImportedCookie[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    let line = raw;
    let httpOnly = false;
    if (line.startsWith('#HttpOnly_')) {
      httpOnly = true;
      line = line.slice('#HttpOnly_'.length);
    } else if (line.startsWith('#') || line.trim() === '') {
      return;
    }
    const f = line.split('\t');
    if (f.length < 7) bad(`line ${i + 1}: a cookies.txt line has 7 tab-separated fields`);
    const [domain, subdomains, path, secure, expiry, name, ...rest] = f as [string, string, string, string, string, string, ...string[]];
    const exp = Number(expiry);
    // The second field (include subdomains) is what says TRUE, a domain cookie, or FALSE, a
    // host-only one; a leading dot on the domain is only a habit of some writers, so it decides
    // only when the field is neither.
    const flag = subdomains.trim().toUpperCase();
    out.push(
      checkCookie(
        {
          name,
          value: rest.join('\t'),
          domain,
          hostOnly: flag === 'TRUE' ? false : flag === 'FALSE' ? true : !domain.startsWith('.'),
          path: path || '/',
          expires: Number.isFinite(exp) && exp > 0 ? exp : undefined,
          secure: secure.toUpperCase() === 'TRUE',
          httpOnly,
        },
        `line ${i + 1}`,
      ),
    );
  });
  return out;
}

function fromHeader(text: string): ImportedCookie[] {
  const body = text.trim().replace(/^cookie:\s*/i, '');
  return body
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((pair, i) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) bad(`Cookie header part ${i + 1} ("${pair.slice(0, 20)}") is not name=value`);
      return checkCookie({ name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() }, `Cookie header part ${i + 1}`);
    });
}

/**
 * Reads any of the cookie exports people already have (README.md, "Using it"). Throws a
 * bad_input BookdError naming what is wrong; refuses a set without `orm-jwt`.
 */
export function parseCookieExport(data: Buffer | string): { format: CookieFormat; cookies: ImportedCookie[] } {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (buf.length === 0) bad(`the cookie file is empty; ${HOW_TO_EXPORT}`);
  if (buf.length > MAX_COOKIE_FILE_BYTES) bad(`the cookie file is ${buf.length} bytes, far larger than any cookie export; ${HOW_TO_EXPORT}`);
  if (buf.includes(0) || !isUtf8(buf))
    bad(
      `the cookie file is binary, not a cookie export (to read a browser's own cookie database, use --from-browser BROWSER instead of --cookies); ${HOW_TO_EXPORT}`,
    );
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  const trimmed = text.trim();

  let format: CookieFormat;
  let cookies: ImportedCookie[];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      bad(`the cookie file looks like JSON but does not parse (${(err as Error).message})`);
    }
    if (Array.isArray(parsed)) {
      format = 'cookie-editor-json';
      cookies = fromCookieEditor(parsed);
    } else if (parsed && typeof parsed === 'object') {
      format = 'flat-json';
      cookies = fromFlat(parsed as Record<string, unknown>);
    } else {
      bad('the cookie file holds JSON that is neither an object nor an array');
    }
  } else if (/^(# (Netscape )?HTTP Cookie File|#HttpOnly_)|^[^\s#=;]+\t(TRUE|FALSE)\t/im.test(trimmed)) {
    format = 'netscape';
    cookies = fromNetscape(text);
  } else if (/^(cookie:\s*)?[^\s=;]+=[^;]*(;\s*[^\s=;]+=[^;]*)*;?$/is.test(trimmed.replace(/\r?\n/g, ' '))) {
    format = 'header';
    cookies = fromHeader(trimmed.replace(/\r?\n/g, ' '));
  } else {
    bad(`the cookie file is not a format bookd reads (flat JSON, cookie-editor JSON, cookies.txt or a Cookie header); ${HOW_TO_EXPORT}`);
  }
  if (!cookies.some((c) => c.name === 'orm-jwt' && c.value !== '')) {
    bad(`the cookie file has no orm-jwt cookie, the one that carries the login; ${HOW_TO_EXPORT}`);
  }
  return { format, cookies };
}

function isUtf8(buf: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}
