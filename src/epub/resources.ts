import type { Book, Item } from './book.js';
import { decodeMarkup } from './html/parse.js';
import { extensionOf } from './paths.js';
import { CORE_IMAGE_TYPES, sniff } from './sniff.js';
import type { Kind } from './sniff.js';

type Expected = 'image' | 'css' | 'font' | 'audio' | 'video' | 'unknown';

const EXT_KIND: Record<string, Expected> = {
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
  '.gif': 'image',
  '.svg': 'image',
  '.webp': 'image',
  '.css': 'css',
  '.ttf': 'font',
  '.otf': 'font',
  '.woff': 'font',
  '.woff2': 'font',
  '.mp3': 'audio',
  '.m4a': 'audio',
  '.mp4': 'video',
  '.m4v': 'video',
  '.webm': 'video',
};

/** What a file is supposed to be, from the server's media type and then its extension. */
export function expectedKind(mediaType: string | undefined, path: string): Expected {
  const t = (mediaType ?? '').toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t === 'text/css') return 'css';
  if (t.startsWith('font/') || t.includes('font') || t.includes('opentype')) return 'font';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  return EXT_KIND[extensionOf(path)] ?? 'unknown';
}

const fits = (expected: Expected, kind: Kind) =>
  expected === 'unknown'
    ? ['image', 'svg', 'css', 'font', 'audio', 'video'].includes(kind)
    : expected === 'image'
      ? kind === 'image' || kind === 'svg'
      : expected === kind;

const describe = (mediaType: string, kind: Kind) => (kind === 'xhtml' ? 'an HTML page' : mediaType);

/**
 * Adds an image, stylesheet, font or media file to the book after checking its bytes, or records
 * why it cannot be used (references to it then get a placeholder or are dropped).
 */
export function addResource(book: Book, source: string, data: Uint8Array | null, hint: string | undefined, cssBase: string, id?: string): Item | undefined {
  if (data === null) {
    book.markMissing(source, 'missing');
    return undefined;
  }
  const expected = expectedKind(hint, source);
  const s = sniff(data, hint, source);
  if (!fits(expected, s.kind)) {
    const what = expected === 'unknown' ? 'a usable resource' : expected === 'image' ? 'an image' : `a ${expected === 'css' ? 'stylesheet' : expected} file`;
    book.markMissing(source, `not ${what} (the server sent ${describe(s.mediaType, s.kind)})${expected === 'image' ? ', replaced by a placeholder' : ''}`);
    return undefined;
  }
  if (s.kind === 'image' && !CORE_IMAGE_TYPES.has(s.mediaType)) {
    book.markMissing(source, `${s.mediaType} is not an EPUB 3 core image type, replaced by a placeholder`);
    return undefined;
  }
  if (s.kind === 'css') {
    const item = book.add(source, { mediaType: 'text/css', kind: 'css', data: null, ...(id === undefined ? {} : { id }) });
    item.css = { text: decodeMarkup(data).replace(/^\ufeff/, ''), base: cssBase };
    return item;
  }
  return book.add(source, { mediaType: s.mediaType, kind: s.kind, data, ...(id === undefined ? {} : { id }) });
}
