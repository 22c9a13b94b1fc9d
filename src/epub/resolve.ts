/** What a `src`, `href` or CSS `url()` points at, before we know whether we have the file. */
export type RefTarget =
  | { kind: 'self'; fragment: string }
  | { kind: 'local'; path: string; fragment: string | undefined; url: string }
  | { kind: 'remote'; url: string }
  /** mailto:, tel: … : fine as a hyperlink, never as a resource. */
  | { kind: 'link-only'; url: string }
  | { kind: 'data' }
  | { kind: 'invalid' };

/** Maps an absolute URL (no fragment) to the package path it names, or null. */
export type UrlToPath = (url: URL) => string | null;

const LINK_SCHEMES = new Set(['mailto:', 'tel:', 'sms:', 'urn:', 'doi:', 'isbn:']);

function decodeFragment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function resolveRef(ref: string, base: string, toPath: UrlToPath): RefTarget {
  const trimmed = ref.trim();
  if (trimmed === '') return { kind: 'self', fragment: '' };
  if (trimmed.startsWith('#')) return { kind: 'self', fragment: decodeFragment(trimmed.slice(1)) };
  let url: URL;
  try {
    url = new URL(trimmed, base);
  } catch {
    return { kind: 'invalid' };
  }
  if (url.protocol === 'data:') return { kind: 'data' };
  if (LINK_SCHEMES.has(url.protocol)) return { kind: 'link-only', url: url.href };
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'invalid' };
  const fragment = url.hash === '' ? undefined : decodeFragment(url.hash.slice(1));
  url.hash = '';
  const path = toPath(url);
  if (path !== null) return { kind: 'local', path, fragment, url: url.href };
  return { kind: 'remote', url: url.href };
}
