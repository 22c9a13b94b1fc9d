import { escapeXmlAttr as attr, escapeXmlText as text } from './html/serialize.js';
import type { BookMeta } from './model.js';
import { relativeHref } from './paths.js';

/** The package document (docs/EPUB.md "Package"), written whole from what the build decided. */
export interface OpfInput {
  out: string;
  identifier: string;
  /** Other identifiers the publisher gave (ISBNs, uuids), without ids. */
  otherIdentifiers?: string[];
  meta: BookMeta;
  modified: string;
  items: { id: string; out: string; mediaType: string; properties: Iterable<string> }[];
  spine: { idref: string; linear: boolean; properties?: string[] }[];
  tocId: string;
  coverId?: string;
  direction?: 'ltr' | 'rtl';
  /** Publisher `rendition:*` settings (fixed layout, spreads), kept as given. */
  rendition?: [string, string][];
}

export const PACKAGE_LANGUAGE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

/** The book's language as a BCP 47 tag epubcheck accepts; `und` (undetermined) when it gives none. */
export function languageOf(raw: string | undefined): string {
  const tag = (raw ?? '').trim().replace(/_/g, '-');
  return PACKAGE_LANGUAGE.test(tag) ? tag : 'und';
}

/** `urn:isbn:` when the book has a valid-looking ISBN, else a stable URN from the archive id. */
export function identifierOf(meta: BookMeta): string {
  const isbn = (meta.isbn ?? '').replace(/[\s-]/g, '');
  if (/^(97[89]\d{9}[\dX]|\d{9}[\dX])$/i.test(isbn)) return `urn:isbn:${isbn.toUpperCase()}`;
  return `urn:orm:book:${meta.id}`;
}

/**
 * `dcterms:modified`, derived from the publication date so that the same book built twice gives
 * the same bytes (the library skips re-archiving by sha256); a fixed date when there is none.
 */
export function modifiedOf(date: string | undefined): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec((date ?? '').trim());
  if (!m) return '2000-01-01T00:00:00Z';
  const month = Math.min(Math.max(Number(m[2] ?? '1'), 1), 12);
  const day = Math.min(Math.max(Number(m[3] ?? '1'), 1), 28 + (month === 2 ? 0 : 2));
  return `${m[1]}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T00:00:00Z`;
}

const W3CDTF = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

export function opfDocument(input: OpfInput): string {
  const m = input.meta;
  const lines: string[] = [];
  const el = (name: string, value: string | undefined, extra = '') => {
    if (value !== undefined && value.trim() !== '') lines.push(`    <${name}${extra}>${text(value.trim())}</${name}>`);
  };
  el('dc:identifier', input.identifier, ' id="bookid"');
  for (const other of new Set(input.otherIdentifiers ?? [])) if (other !== input.identifier) el('dc:identifier', other);
  el('dc:title', m.title.trim() === '' ? 'Untitled' : m.title);
  el('dc:language', m.language);
  m.authors.forEach((a, i) => el('dc:creator', a, ` id="creator${i + 1}"`));
  for (const p of m.publishers) el('dc:publisher', p);
  if (m.date !== undefined && W3CDTF.test(m.date.trim())) el('dc:date', m.date);
  el('dc:description', m.description);
  for (const s of new Set(m.subjects)) el('dc:subject', s);
  m.authors.forEach((_a, i) => {
    if (m.authors[i]?.trim()) lines.push(`    <meta refines="#creator${i + 1}" property="role" scheme="marc:relators">aut</meta>`);
  });
  lines.push(`    <meta property="dcterms:modified">${text(input.modified)}</meta>`);
  for (const [property, value] of input.rendition ?? []) lines.push(`    <meta property="${attr(property)}">${text(value)}</meta>`);
  if (input.coverId !== undefined) lines.push(`    <meta name="cover" content="${attr(input.coverId)}"/>`);

  const manifest = input.items.map((it) => {
    const props = [...it.properties];
    const p = props.length > 0 ? ` properties="${attr(props.join(' '))}"` : '';
    return `    <item id="${attr(it.id)}" href="${attr(relativeHref(input.out, it.out))}" media-type="${attr(it.mediaType)}"${p}/>`;
  });
  const spine = input.spine.map((s) => {
    const linear = s.linear ? '' : ' linear="no"';
    const p = s.properties && s.properties.length > 0 ? ` properties="${attr(s.properties.join(' '))}"` : '';
    return `    <itemref idref="${attr(s.idref)}"${linear}${p}/>`;
  });
  const ppd = input.direction ? ` page-progression-direction="${input.direction}"` : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="bookid" xml:lang="${attr(m.language)}">\n` +
    '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n' +
    `${lines.join('\n')}\n  </metadata>\n  <manifest>\n${manifest.join('\n')}\n  </manifest>\n` +
    `  <spine toc="${attr(input.tocId)}"${ppd}>\n${spine.join('\n')}\n  </spine>\n</package>\n`
  );
}

export function containerXml(opfOut: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n' +
    `  <rootfiles>\n    <rootfile full-path="${attr(opfOut)}" media-type="application/oebps-package+xml"/>\n  </rootfiles>\n` +
    '</container>\n'
  );
}
