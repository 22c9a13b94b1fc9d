import { extensionOf } from './paths.js';

/**
 * Media types decided from the bytes: the server's word and the extension are hints only (an HTML
 * error page saved as `.png` is OPF-029 and an empty box in every reader).
 */
export type Kind = 'xhtml' | 'css' | 'image' | 'font' | 'svg' | 'opf' | 'ncx' | 'audio' | 'video' | 'other';

const startsWith = (d: Uint8Array, bytes: number[], at = 0) => bytes.every((b, i) => d[at + i] === b);
const ascii = (d: Uint8Array, text: string, at = 0) =>
  startsWith(
    d,
    [...text].map((c) => c.charCodeAt(0)),
    at,
  );

function binaryType(d: Uint8Array): string | null {
  if (startsWith(d, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(d, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(d, 'GIF87a') || ascii(d, 'GIF89a')) return 'image/gif';
  if (ascii(d, 'RIFF') && ascii(d, 'WEBP', 8)) return 'image/webp';
  if (ascii(d, 'wOFF')) return 'font/woff';
  if (ascii(d, 'wOF2')) return 'font/woff2';
  if (ascii(d, 'OTTO')) return 'font/otf';
  if (startsWith(d, [0x00, 0x01, 0x00, 0x00]) || ascii(d, 'true') || ascii(d, 'ttcf')) return 'font/ttf';
  if (ascii(d, 'ID3') || startsWith(d, [0xff, 0xfb]) || startsWith(d, [0xff, 0xf3])) return 'audio/mpeg';
  if (ascii(d, 'ftyp', 4)) return 'video/mp4';
  if (ascii(d, 'PK\u0003\u0004')) return 'application/zip';
  if (ascii(d, '%PDF')) return 'application/pdf';
  return null;
}

/** The first ~1 KiB as text, without BOM, comments, PIs and doctype noise, lowercased. */
function head(d: Uint8Array): string {
  let text = new TextDecoder('utf-8').decode(d.subarray(0, 2048)).replace(/^\ufeff/, '');
  text = text
    .replace(/<\?[\s\S]*?\?>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .trimStart();
  return text.slice(0, 1024).toLowerCase();
}

/** The first element name of an XML/HTML text, with its prefix stripped. */
function rootElement(text: string): string | null {
  const stripped = text.replace(/^<!doctype[^>]*>\s*/, '');
  const m = /^<([a-z][\w.-]*:)?([a-z][\w.-]*)/.exec(stripped);
  return m?.[2] ?? null;
}

export interface Sniffed {
  mediaType: string;
  kind: Kind;
}

/**
 * What the bytes are. `hint` is the server's type or our expectation; it decides only between
 * text types the bytes cannot tell apart (CSS is just text) and types we do not sniff.
 */
export function sniff(data: Uint8Array, hint: string | undefined, path: string): Sniffed {
  const bin = binaryType(data);
  if (bin !== null) return { mediaType: bin, kind: kindOf(bin) };
  const text = head(data);
  if (text.startsWith('<')) {
    const root = rootElement(text);
    if (root === 'svg') return { mediaType: 'image/svg+xml', kind: 'svg' };
    if (root === 'package') return { mediaType: 'application/oebps-package+xml', kind: 'opf' };
    if (root === 'ncx') return { mediaType: 'application/x-dtbncx+xml', kind: 'ncx' };
    if (root === 'html' || text.startsWith('<!doctype html') || /^<(head|body|div|p|section|h[1-6])\b/.test(text)) {
      return { mediaType: 'application/xhtml+xml', kind: 'xhtml' };
    }
    return { mediaType: 'application/xml', kind: 'other' };
  }
  if (text.startsWith('{') || text.startsWith('[')) return { mediaType: 'application/json', kind: 'other' };
  const expected = (hint ?? '').toLowerCase().split(';')[0]?.trim() ?? '';
  const ext = extensionOf(path);
  if (expected === 'text/css' || ext === '.css') {
    if (looksBinary(data)) return { mediaType: 'application/octet-stream', kind: 'other' };
    return { mediaType: 'text/css', kind: 'css' };
  }
  if (looksBinary(data)) {
    const byExt = FONT_EXT[ext];
    if (byExt !== undefined && expected.includes('font')) return { mediaType: byExt, kind: 'font' };
    return { mediaType: expected || 'application/octet-stream', kind: 'other' };
  }
  return { mediaType: expected || 'text/plain', kind: 'other' };
}

const FONT_EXT: Record<string, string> = { '.ttf': 'font/ttf', '.otf': 'font/otf', '.woff': 'font/woff', '.woff2': 'font/woff2' };

function looksBinary(d: Uint8Array): boolean {
  const n = Math.min(d.length, 1024);
  for (let i = 0; i < n; i++) if (d[i] === 0) return true;
  return false;
}

function kindOf(mediaType: string): Kind {
  if (mediaType.startsWith('image/')) return 'image';
  if (mediaType.startsWith('font/')) return 'font';
  if (mediaType.startsWith('audio/')) return 'audio';
  if (mediaType.startsWith('video/')) return 'video';
  return 'other';
}

/** Raster images every EPUB 3 reader must show; webp is core only from EPUB 3.3, which epubcheck 4 does not know. */
export const CORE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/svg+xml']);
