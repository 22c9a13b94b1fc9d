import type { BookMeta, Format } from '../epub/model.js';

/**
 * Names on disk (docs/EPUB.md "Names on disk"): `<Skill>/<Title> - <Authors> (<id>).epub`, each
 * component safe on Linux, macOS and Windows, Unicode kept, and as close to what the user knows
 * as those systems allow (`C++` stays `C++`, `JavaScript` stays `JavaScript`, a colon does not
 * cut the title short).
 */

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
function cutToBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

const trimEnds = (s: string) => s.replace(/^[\s]+/, '').replace(/[\s.]+$/, '');

/**
 * One path component made safe: no `/ \ : * ? " < > |` or control characters, no leading dot
 * (a hidden file, or our own `.staging`), no trailing dots or spaces, no reserved Windows device
 * name, at most `maxBytes` of UTF-8. Never empty.
 */
export function safeComponent(text: string, maxBytes = 200): string {
  let s = text
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, ' ')
    .replace(/\s*:\s+/g, ' - ')
    .replace(/:/g, '-')
    .replace(/[/\\|]/g, '-')
    .replace(/[*?<>]/g, '')
    .replace(/"/g, "'")
    .replace(/\s+/g, ' ');
  s = trimEnds(s).replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  s = trimEnds(cutToBytes(s, maxBytes));
  if (s === '') s = '_';
  if (WINDOWS_RESERVED.test(s)) s = `${s}_`;
  return s;
}

const AUTHORS_MAX_BYTES = 80;
const TITLE_MAX_BYTES = 140;

/** "A, B, C" cut at a whole author, with "et al." when some did not fit. */
function authorsPart(authors: string[]): string {
  const names = authors.map((a) => a.trim()).filter(Boolean);
  if (names.length === 0) return '';
  let shown: string[] = [];
  for (const name of names) {
    const next = [...shown, name];
    const rest = next.length < names.length ? ' et al.' : '';
    if (Buffer.byteLength(next.join(', ') + rest) > AUTHORS_MAX_BYTES && shown.length > 0) break;
    shown = next;
  }
  // "et al." goes on after sanitising: its dot is mid-name in the file name, not a trailing dot.
  return safeComponent(shown.join(', '), AUTHORS_MAX_BYTES) + (shown.length < names.length ? ' et al.' : '');
}

/** `<Title> - <Authors> (<id>).epub`, or `….kindle.epub` for the e-reader variant; under 255 bytes. */
export function bookFileName(meta: Pick<BookMeta, 'id' | 'title' | 'authors'>, format: Format): string {
  const id = safeComponent(meta.id, 40);
  const ext = format === 'kindle' ? '.kindle.epub' : '.epub';
  const title = safeComponent(meta.title.trim() === '' ? 'Untitled' : meta.title, TITLE_MAX_BYTES);
  const authors = authorsPart(meta.authors);
  return `${authors === '' ? title : `${title} - ${authors}`} (${id})${ext}`;
}

/** The name an older revision of a book keeps beside the new file: `<name> (rev N).epub` (`….kindle.epub` stays last). */
export function revisionFileName(name: string, revision: number): string {
  const ext = /(\.kindle)?\.epub$/i.exec(name)?.[0] ?? '';
  return `${name.slice(0, name.length - ext.length)} (rev ${revision})${ext}`;
}

export const UNCATEGORISED = 'Uncategorised';

/** The folder a skill's books go in; `Uncategorised` for a book with none. */
export function skillDir(skill: string | undefined): string {
  const s = (skill ?? '').trim();
  return s === '' ? UNCATEGORISED : safeComponent(s, 120);
}
