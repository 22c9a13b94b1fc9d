import { posix } from 'node:path';

/**
 * Paths inside the package. Server paths (`full_path`, chapter paths, paths derived from URLs) are
 * hostile input: a path that is absolute, escapes the package, or carries characters that mean
 * something else on some file system is refused, so the caller can fail that one asset.
 */
export function safePackagePath(raw: string): string | null {
  if (raw.length === 0 || raw.length > 1024) return null;
  // Control characters (NUL included) and backslashes: a Windows separator or a terminal trick, never a name.
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return null;
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return null;
  const out: string[] = [];
  for (const seg of raw.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  if (out.length === 0) return null;
  return out.join('/');
}

/** Characters epubcheck (PKG-009/010) or Windows refuse in file names inside the zip. */
const UNSAFE_NAME_CHAR = /[\u0000-\u001f\u007f"*:<>?\\|%#\s\u0080-\u009f\ue000-\uf8ff\ufff0-\uffff]/gu;

/**
 * The name a (safe) package path gets in our zip: each segment keeps its letters, loses the
 * characters epubcheck reports, and never ends in a dot. Collisions are the caller's to resolve.
 */
export function zipSafePath(path: string): string {
  return path
    .normalize('NFC')
    .split('/')
    .map((seg) => {
      let s = seg.replace(UNSAFE_NAME_CHAR, '_').replace(/\.+$/, (dots) => '_'.repeat(dots.length));
      if (Buffer.byteLength(s) > 180) s = truncateKeepingExtension(s, 180);
      return s.length === 0 ? '_' : s;
    })
    .join('/');
}

function truncateKeepingExtension(name: string, maxBytes: number): string {
  const ext = posix.extname(name).slice(0, 16);
  let stem = name.slice(0, name.length - ext.length);
  while (Buffer.byteLength(stem + ext) > maxBytes) stem = [...stem].slice(0, -1).join('');
  return stem + ext;
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function extensionOf(path: string): string {
  return posix.extname(path).toLowerCase();
}

export function replaceExtension(path: string, ext: string): string {
  const cur = posix.extname(path);
  return path.slice(0, path.length - cur.length) + ext;
}

function encodeSegment(seg: string): string {
  return encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function encodeFragment(fragment: string): string {
  return encodeURIComponent(fragment);
}

/** The href that leads from package file `from` to package file `to` (percent-encoded). */
export function relativeHref(from: string, to: string, fragment?: string): string {
  const rel = posix.relative(posix.join('/', dirOf(from)), posix.join('/', to));
  const href = rel
    .split('/')
    .map((s) => (s === '..' ? s : encodeSegment(s)))
    .join('/');
  return fragment === undefined || fragment === '' ? href : `${href}#${encodeFragment(fragment)}`;
}

/** A made-up origin that gives package paths URL semantics (dot segments, percent-encoding). */
export const PACKAGE_ORIGIN = 'http://package.invalid';

export function packageUrl(path: string): string {
  return `${PACKAGE_ORIGIN}/${path.split('/').map(encodeSegment).join('/')}`;
}

function decodePath(pathname: string): string | null {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return null;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The package path a URL names, when it names a file of this book: the files API
 * (`/api/v2/epubs/urn:orm:book:{id}/files/<p>`), the reader (`/library/view/<slug>/{id}/<p>`), the
 * old chapter API (`/api/v1/book/{id}/chapter/<p>`) on any host, or a path under PACKAGE_ORIGIN.
 */
export function bookPathFromUrl(url: URL, bookId: string): string | null {
  const decoded = decodePath(url.pathname);
  if (decoded === null) return null;
  const id = escapeRe(bookId);
  const patterns = [
    new RegExp(`^/api/v2/epubs/urn:orm:book:${id}/files/(.+)$`),
    new RegExp(`^/library/view/[^/]+/${id}/(.+)$`),
    new RegExp(`^/api/v1/book/${id}/chapter/(.+)$`),
  ];
  for (const re of patterns) {
    const m = re.exec(decoded);
    if (m?.[1] !== undefined) return safePackagePath(m[1]);
  }
  if (url.origin === PACKAGE_ORIGIN) return safePackagePath(decoded.slice(1));
  return null;
}

/** Shown in gap messages: hostile paths may hold control characters that must not reach a terminal. */
export function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
