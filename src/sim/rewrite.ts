import { posix } from 'node:path';
import { filesPrefix } from './render.js';

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function absolute(ref: string, fromPath: string, prefix: string): string {
  if (ref === '' || ref.startsWith('#') || ref.startsWith('/') || SCHEME.test(ref)) return ref;
  const hash = ref.indexOf('#');
  const path = hash < 0 ? ref : ref.slice(0, hash);
  const fragment = hash < 0 ? '' : ref.slice(hash);
  return `${prefix}${posix.normalize(posix.join(posix.dirname(fromPath), path))}${fragment}`;
}

/**
 * What the files API does to XHTML, OPF, NCX and CSS on the live service: every package-relative
 * reference becomes an absolute `/api/v2/epubs/urn:orm:book:{id}/files/<full_path>` path, which a
 * client has to turn back into a relative one.
 */
export function rewriteForFilesApi(text: string, fromPath: string, bookId: string): string {
  const prefix = filesPrefix(bookId);
  if (fromPath.endsWith('.css')) {
    return text.replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/g, (_m, q: string, ref: string) => `url(${q}${absolute(ref, fromPath, prefix)}${q})`);
  }
  return text.replace(/\b(href|src)="([^"]*)"/g, (_m, name: string, ref: string) => `${name}="${absolute(ref, fromPath, prefix)}"`);
}

export function isRewritten(mediaType: string): boolean {
  return /xhtml|oebps-package|dtbncx|text\/css/.test(mediaType);
}
