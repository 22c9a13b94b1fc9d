import { BUILD_KEPT_DOCUMENT_CHARS } from '../config.js';
import { Book } from './book.js';
import type { Item } from './book.js';
import { guardDepth } from './guard.js';
import { entriesOf, finishDocuments, finishStylesheets } from './finish.js';
import { fixIds, lookupId } from './html/ids.js';
import { parseHtml } from './html/parse.js';
import { normalizeHead, sanitizeDocument } from './html/sanitize.js';
import { escapeXmlAttr, escapeXmlText } from './html/serialize.js';
import { NS, appendChild, createElement, findAll, findElement, flattenText, getAttr, isElement } from './html/tree.js';
import type { Element } from './html/tree.js';
import type { BookMeta, EpubBuild, Format } from './model.js';
import { identifierOf, languageOf, modifiedOf, opfDocument } from './opf.js';
import { bookPathFromUrl, printable, relativeHref, replaceExtension, safePackagePath } from './paths.js';
import { addResource } from './resources.js';
import { chapterHtml } from './staged-input.js';
import { navDocument, ncxDocument, pruneToc } from './toc.js';
import type { TocPoint } from './toc.js';

export type { EpubBuild } from './model.js';

export interface ChapterInput {
  /** The chapter's path in the book, from reference_id (`{id}-/{path}`), e.g. 'OEBPS/text/ch01.xhtml' or 'ch01.html'. */
  path: string;
  /** The absolute URL the body was fetched from: the base for resolving relative references. */
  url: string;
  title: string;
  /** The whole HTML page from the chapter API (content inside `div#sbo-rt-content`). */
  html: string;
  /** The staged file holding the page instead (`html` empty): read each time it is parsed (src/epub/staged-input.ts). */
  file?: string;
}

export interface TocEntry {
  title: string;
  path: string;
  fragment?: string;
  children: TocEntry[];
}

export interface AssetInput {
  /** Absolute URL as referenced/fetched. */
  url: string;
  /** The asset's package path derived from the URL ('OEBPS/images/a/fig.png'). */
  path: string;
  /** What the server said. */
  mediaType?: string;
  /** null = missing: placeholder + gap (unless `file` holds the bytes). */
  data: Uint8Array | null;
  /** The staged file holding the bytes instead (src/epub/staged-input.ts). */
  file?: string;
}

export interface FromChaptersInput {
  meta: BookMeta;
  bookId: string;
  /** In reading order. */
  chapters: ChapterInput[];
  toc: TocEntry[];
  /** Images, stylesheets, fonts referenced by chapters and CSS. */
  assets: AssetInput[];
  cover?: AssetInput;
  format: Format;
}

const SKELETON = '<!DOCTYPE html><html><head><title></title></head><body></body></html>';
const utf8 = new TextEncoder();

function normalizeUrl(url: string): string | null {
  try {
    const u = new URL(url);
    u.hash = '';
    return u.href;
  } catch {
    return null;
  }
}

const isStylesheetLink = (el: Element) =>
  el.tagName === 'link' && /(^|\s)stylesheet(\s|$)/i.test(getAttr(el, 'rel') ?? '') && getAttr(el, 'href') !== undefined;

/**
 * Rebuilds the book from the chapter API (docs/EPUB.md; used when the publisher package is missing or
 * unusable): each chapter's `div#sbo-rt-content` becomes an XHTML document, every reference is
 * resolved against the chapter's URL into the package, the TOC becomes nav + NCX.
 */
export function buildFromChapters(input: FromChaptersInput, keptChars = BUILD_KEPT_DOCUMENT_CHARS): EpubBuild {
  return guardDepth('chapter markup', () => assembleFromChapters(input, keptChars));
}

function assembleFromChapters(input: FromChaptersInput, keptBudget: number): EpubBuild {
  const meta: BookMeta = { ...input.meta, language: languageOf(input.meta.language) };
  const book = new Book('');
  const byUrl = new Map<string, string>();
  const roots: UrlRoot[] = [];
  const chapters: Item[] = [];
  let keptChars = 0;

  input.chapters.forEach((ch, i) => {
    let path = safePackagePath(ch.path.replace(/^\d+-\//, ''));
    if (path === null) {
      path = `text/chapter-${String(i + 1).padStart(3, '0')}.xhtml`;
      book.gap(`${printable(ch.path)}: unsafe chapter path, stored as ${path}`);
    }
    // A second chapter claiming the same path still goes in, under a key no reference can name.
    const key = book.items.has(path) ? `\u0000${i}:${path}` : path;
    const title = ch.title.trim() || meta.title;
    // A tree is kept for writing while the book's kept pages fit BUILD_KEPT_DOCUMENT_CHARS; past
    // that it is dropped once its ids are known and made again when written, so a big book's
    // every chapter never lives at once.
    const repaired = () => {
      const text = chapterHtml(ch);
      const page = parseHtml(text);
      const tree = parseHtml(SKELETON);
      const html = tree.childNodes.find(isElement)!;
      html.attrs = [
        { name: 'lang', value: meta.language },
        { name: 'xml:lang', value: meta.language },
      ];
      const head = findElement(tree, (el) => el.tagName === 'head')!;
      const body = findElement(tree, (el) => el.tagName === 'body')!;
      const links = findAll(page, isStylesheetLink);
      for (const link of links) appendChild(head, link);
      if (links.length === 0) {
        for (const a of input.assets) if (a.data !== null && expectedCss(a)) appendChild(head, createElement('link', { rel: 'stylesheet', href: a.url }));
      }
      for (const style of findAll(page, (el) => el.tagName === 'style' && el.namespaceURI === NS.html)) appendChild(head, style);
      const content = findElement(page, (el) => getAttr(el, 'id') === 'sbo-rt-content') ?? findElement(page, (el) => el.tagName === 'body');
      if (content) for (const n of [...content.childNodes]) appendChild(body, n);
      const found = sanitizeDocument(tree);
      normalizeHead(tree, title);
      return { tree, found, ids: fixIds(tree), chars: text.length };
    };
    const { tree, found, ids, chars } = repaired();
    const item = book.add(key, { mediaType: 'application/xhtml+xml', kind: 'xhtml', data: null, out: replaceExtension(path, '.xhtml') });
    const keep = (keptChars += chars) <= keptBudget;
    if (keep) flattenText(tree);
    const doc = { ids, base: ch.url, title, svg: found.svg, mathml: found.mathml };
    item.doc = keep ? { tree, ...doc } : { tree: null, rebuild: () => repaired().tree, ...doc };
    chapters.push(item);
    const url = normalizeUrl(ch.url);
    if (url !== null) {
      byUrl.set(url, key);
      const root = rootOf(url, path);
      if (root !== null && !roots.some((r) => r.origin === root.origin && r.prefix === root.prefix)) roots.push(root);
    }
  });

  for (const a of input.assets) addAsset(a);
  const coverItem = input.cover ? addAsset(input.cover) : undefined;

  function addAsset(a: AssetInput): Item | undefined {
    const url = normalizeUrl(a.url);
    const path = safePackagePath(a.path);
    if (path === null) {
      const key = `\u0000unsafe:${a.path}`;
      book.markMissing(key, 'unsafe path, not stored', a.path);
      if (url !== null) byUrl.set(url, key);
      return undefined;
    }
    if (url !== null) byUrl.set(url, path);
    const existing = book.items.get(path);
    if (existing) return existing;
    if (book.isMissing(path)) return undefined;
    return addResource(book, path, a.data, a.mediaType, a.url);
  }

  const toPath = (u: URL): string | null => {
    const known = byUrl.get(u.href);
    if (known !== undefined) return known;
    const p = bookPathFromUrl(u, input.bookId);
    if (p !== null) return p;
    const decoded = decodeURIComponentSafe(u.pathname);
    for (const r of roots) if (u.origin === r.origin && decoded.startsWith(r.prefix)) return safePackagePath(decoded.slice(r.prefix.length));
    return null;
  };

  finishDocuments(book, toPath, input.format);
  finishStylesheets(book, toPath);

  const spineExtra: Item[] = [];
  let coverId: string | undefined;
  if (coverItem && (coverItem.kind === 'image' || coverItem.kind === 'svg') && coverItem.data !== null) {
    coverItem.properties.add('cover-image');
    coverId = coverItem.id;
    spineExtra.push(coverPage(book, coverItem, meta, input.format));
  } else if (input.cover && !coverItem) {
    book.gap('cover: not available, the book has no cover image');
  }

  let toc = pruneToc(input.toc.map((e) => tocPoint(e)));
  if (toc.length === 0) toc = chapters.map((c) => ({ label: c.doc!.title, target: { item: c }, children: [] }));
  const stylesheets = input.format === 'kindle' ? [book.kindleCss()] : [];
  const nav = book.add('\u0000nav', { mediaType: 'application/xhtml+xml', kind: 'xhtml', data: null, out: 'nav.xhtml', id: 'nav' });
  nav.data = utf8.encode(navDocument({ out: nav.out, title: meta.title, language: meta.language, toc, stylesheets }));
  nav.properties.add('nav');
  const identifier = identifierOf(meta);
  const ncx = book.add('\u0000ncx', { mediaType: 'application/x-dtbncx+xml', kind: 'ncx', data: null, out: 'toc.ncx', id: 'ncx' });
  ncx.data = utf8.encode(ncxDocument({ out: ncx.out, uid: identifier, title: meta.title, language: meta.language, toc }));
  const opfOut = book.reserve('content.opf');
  const opf = opfDocument({
    out: opfOut,
    identifier,
    meta,
    modified: modifiedOf(meta.date),
    items: [...book.items.values()],
    spine: [...spineExtra, ...chapters].map((c) => ({ idref: c.id, linear: true })),
    tocId: ncx.id,
    ...(coverId === undefined ? {} : { coverId }),
  });
  return entriesOf(book, opfOut, opf, chapters.length);

  function tocPoint(e: TocEntry): TocPoint {
    let raw = e.path.replace(new RegExp(`^${input.bookId}-/`), '');
    let fragment = e.fragment;
    const hash = raw.indexOf('#');
    if (hash >= 0) {
      fragment ??= raw.slice(hash + 1);
      raw = raw.slice(0, hash);
    }
    const path = safePackagePath(raw);
    const item = path === null ? undefined : book.find(path);
    const children = e.children.map((c) => tocPoint(c));
    if (!item?.doc) return { label: e.title, children };
    item.linked = true;
    const id = fragment === undefined || fragment === '' ? undefined : lookupId(item.doc.ids, fragment);
    return { label: e.title, target: id === undefined ? { item } : { item, fragment: id }, children };
  }
}

function expectedCss(a: AssetInput): boolean {
  return (a.mediaType ?? '').toLowerCase().startsWith('text/css') || a.path.toLowerCase().endsWith('.css');
}

interface UrlRoot {
  origin: string;
  /** Decoded path prefix (ending in '/') under which the chapter's folders mirror the package. */
  prefix: string;
}

/** Where a chapter URL ends in the chapter's own path, the rest of the URL is the package root. */
function rootOf(url: string, path: string): UrlRoot | null {
  const u = new URL(url);
  const decoded = decodeURIComponentSafe(u.pathname);
  if (!decoded.endsWith(`/${path}`)) return null;
  return { origin: u.origin, prefix: decoded.slice(0, decoded.length - path.length) };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function coverPage(book: Book, image: Item, meta: BookMeta, format: Format): Item {
  const page = book.add('\u0000cover', { mediaType: 'application/xhtml+xml', kind: 'xhtml', data: null, out: 'cover.xhtml', id: 'cover' });
  const out = page.out;
  const css = format === 'kindle' ? `<link rel="stylesheet" type="text/css" href="${escapeXmlAttr(relativeHref(out, book.kindleCss().out))}"/>` : '';
  const lang = escapeXmlAttr(meta.language);
  const xhtml =
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n' +
    `<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="${lang}" xml:lang="${lang}">` +
    `<head><title>${escapeXmlText(meta.title || 'Cover')}</title>${css}<style type="text/css">body{margin:0;text-align:center}img{max-width:100%;max-height:100%}</style></head>` +
    `<body><section epub:type="cover"><img src="${escapeXmlAttr(relativeHref(out, image.out))}" alt="${escapeXmlAttr(`Cover of ${meta.title}`)}"/></section></body></html>\n`;
  page.data = utf8.encode(xhtml);
  return page;
}
