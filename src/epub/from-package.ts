import { parseFragment } from 'parse5';
import { BUILD_KEPT_DOCUMENT_CHARS } from '../config.js';
import { BookdError } from '../errors.js';
import { Book } from './book.js';
import type { Item } from './book.js';
import { guardDepth } from './guard.js';
import { entriesOf, finishDocuments, finishStylesheets } from './finish.js';
import { fixIds, lookupId } from './html/ids.js';
import { decodeMarkup, parseXhtml } from './html/parse.js';
import { normalizeHead, sanitizeDocument } from './html/sanitize.js';
import { findElement, flattenText, isElement, textContent } from './html/tree.js';
import type { Element } from './html/tree.js';
import type { BookMeta, EpubBuild, FetchedFile, Format } from './model.js';
import { readNavLists, readNcx } from './nav-read.js';
import type { Locate, NavList } from './nav-read.js';
import { identifierOf, languageOf, modifiedOf, opfDocument, PACKAGE_LANGUAGE } from './opf.js';
import { bookPathFromUrl, dirOf, packageUrl, printable, safePackagePath } from './paths.js';
import { resolveRef } from './resolve.js';
import { addResource } from './resources.js';
import { sniff } from './sniff.js';
import { navDocument, navElement, ncxDocument, pruneToc } from './toc.js';
import type { TocPoint } from './toc.js';
import { childElements, descendants, parseXml, xmlText } from './xml.js';
import type { XmlDocument, XmlElement } from './xml.js';

export type { EpubBuild } from './model.js';

export interface FromPackageInput {
  meta: BookMeta;
  bookId: string;
  /** `path` = the server's full_path; includes the OPF, NCX, nav, XHTML, CSS, images, fonts. */
  files: FetchedFile[];
  format: Format;
}

interface Declared {
  id: string;
  path: string;
  mediaType: string;
  properties: string[];
}

const utf8 = new TextEncoder();
const XHTML_TYPES = new Set(['application/xhtml+xml', 'text/html']);
const RENDITION: Record<string, RegExp> = {
  'rendition:layout': /^(reflowable|pre-paginated)$/,
  'rendition:orientation': /^(auto|landscape|portrait)$/,
  'rendition:spread': /^(none|landscape|portrait|both|auto)$/,
  'rendition:flow': /^(paginated|scrolled-continuous|scrolled-doc|auto)$/,
};
const ITEMREF_PROPERTY =
  /^(page-spread-(left|right)|rendition:(page-spread-center|layout-(reflowable|pre-paginated)|orientation-(auto|landscape|portrait)|spread-(none|landscape|portrait|both|auto)|flow-(paginated|scrolled-continuous|scrolled-doc|auto)|align-x-center))$/;

const unusable = (why: string) => new BookdError('permanent', `The publisher package is unusable (${why}); rebuild the book from its chapters.`);

/**
 * Publisher-package mode (docs/EPUB.md): the publisher's own files, with the files-API prefixes
 * rewritten to package-relative paths, the OPF/nav/NCX kept in substance and repaired wherever
 * epubcheck would reject them. Throws BookdError('permanent') when there is no usable package
 * (no OPF, OPF not XML, no spine document), so the caller can rebuild from chapters.
 */
export function buildFromPackage(input: FromPackageInput, keptChars = BUILD_KEPT_DOCUMENT_CHARS): EpubBuild {
  return guardDepth('publisher package', () => assembleFromPackage(input, keptChars));
}

function assembleFromPackage(input: FromPackageInput, keptBudget: number): EpubBuild {
  const files = new Map<string, FetchedFile>();
  const unsafe: string[] = [];
  for (const f of input.files) {
    const p = safePackagePath(f.path);
    if (p === null) {
      unsafe.push(f.path);
      continue;
    }
    const prev = files.get(p);
    if (!prev || (prev.data === null && f.data !== null)) files.set(p, f);
  }

  const opfPath = findOpf(files);
  const opfText = decodeMarkup(files.get(opfPath)!.data!);
  const opf = parseXml(opfText);
  const pkg = opf?.documentElement;
  if (!opf || !pkg || pkg.localName !== 'package') throw unusable(`${printable(opfPath)} is not a package document`);
  const opfBase = packageUrl(opfPath);
  const toPath = (u: URL) => bookPathFromUrl(u, input.bookId);

  const book = new Book(dirOf(opfPath));
  const opfOut = book.reserve(opfPath);
  for (const p of unsafe) book.gap(`${printable(p)}: unsafe path, skipped`);

  // Manifest: hrefs resolved to package paths; remote, duplicate and unresolvable entries dropped.
  const declared = new Map<string, Declared>();
  const idToPath = new Map<string, string>();
  const manifestEl = childElements(pkg, 'manifest')[0];
  for (const it of manifestEl ? childElements(manifestEl, 'item') : []) {
    const id = it.getAttribute('id') ?? '';
    const href = it.getAttribute('href') ?? '';
    const t = resolveRef(href, opfBase, toPath);
    if (t.kind === 'remote') {
      book.gap(`${printable(t.url)}: remote resource in the manifest, dropped`);
      continue;
    }
    if (t.kind !== 'local') {
      book.gap(`${printable(href)}: manifest entry with no usable href, dropped`);
      continue;
    }
    if (!declared.has(t.path) && t.path !== opfPath) {
      declared.set(t.path, {
        id,
        path: t.path,
        mediaType: (it.getAttribute('media-type') ?? '').trim().toLowerCase(),
        properties: (it.getAttribute('properties') ?? '').split(/\s+/).filter(Boolean),
      });
    }
    if (id !== '' && !idToPath.has(id)) idToPath.set(id, t.path);
  }

  const spineEl = childElements(pkg, 'spine')[0];
  const spineRefs = (spineEl ? childElements(spineEl, 'itemref') : []).map((r) => ({
    idref: r.getAttribute('idref') ?? '',
    linear: (r.getAttribute('linear') ?? 'yes').trim() !== 'no',
    properties: (r.getAttribute('properties') ?? '').split(/\s+/).filter((p) => ITEMREF_PROPERTY.test(p)),
  }));
  const spinePaths = new Set(spineRefs.map((r) => idToPath.get(r.idref)).filter((p): p is string => p !== undefined));
  const ncxPath = findNcx(spineEl, idToPath, declared, files);
  const navPath = [...declared.values()].find((d) => d.properties.includes('nav'))?.path;

  // Files: the declared ones in manifest order, then those the manifest forgot.
  const docs: { path: string; data: Uint8Array; id?: string }[] = [];
  for (const d of declared.values()) {
    if (d.path === ncxPath) continue;
    const f = files.get(d.path);
    if (!f || f.data === null) {
      book.markMissing(d.path, 'missing');
      continue;
    }
    const isDoc = XHTML_TYPES.has(d.mediaType) || spinePaths.has(d.path) || d.path === navPath;
    if (isDoc) {
      if (sniff(f.data, d.mediaType, d.path).kind === 'xhtml') docs.push({ path: d.path, data: f.data, id: d.id });
      else book.markMissing(d.path, `not an XHTML document (the server sent ${sniff(f.data, d.mediaType, d.path).mediaType})`);
      continue;
    }
    addResource(book, d.path, f.data, d.mediaType || f.mediaType, packageUrl(d.path), d.id);
  }
  for (const [path, f] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (declared.has(path) || path === opfPath || path === ncxPath || path === 'mimetype' || path.toLowerCase().startsWith('meta-inf/')) continue;
    if (f.data === null) continue;
    const s = sniff(f.data, f.mediaType, path);
    if (s.kind === 'xhtml') docs.push({ path, data: f.data });
    else if (['image', 'svg', 'css', 'font'].includes(s.kind)) addResource(book, path, f.data, f.mediaType, packageUrl(path));
    else book.gap(`${printable(path)}: not declared in the package and not a book resource, skipped`);
  }

  // Content documents: parsed, repaired, ids known, before any reference is rewritten.
  const bookTitle = input.meta.title || xmlText(descendants(pkg, 'title')[0]);
  // The nav's tree is read before the documents are written (its lists), so it is always kept;
  // every other tree is kept while the book's kept documents fit BUILD_KEPT_DOCUMENT_CHARS, and
  // past that dropped once its ids are known and parsed again when written, so a big book's
  // hundred documents never live at once.
  let keptChars = 0;
  for (const d of docs) {
    const repaired = () => {
      const text = decodeMarkup(d.data);
      const tree = parseXhtml(text);
      const found = sanitizeDocument(tree);
      const head = normalizeHead(tree, bookTitle);
      return { tree, found, head, ids: fixIds(tree), chars: text.length };
    };
    const { tree, found, head, ids, chars } = repaired();
    const item = book.add(d.path, { mediaType: 'application/xhtml+xml', kind: 'xhtml', data: null, ...(d.id === undefined ? {} : { id: d.id }) });
    item.doc = { tree, ids, base: packageUrl(d.path), title: titleOf(head), svg: found.svg, mathml: found.mathml };
    if (d.path !== navPath && (keptChars += chars) > keptBudget) {
      item.doc.tree = null;
      item.doc.rebuild = () => repaired().tree;
    } else {
      flattenText(tree);
    }
  }

  const spine: { item: Item; linear: boolean; properties: string[] }[] = [];
  for (const r of spineRefs) {
    const path = idToPath.get(r.idref);
    const item = path === undefined ? undefined : book.items.get(path);
    if (!item?.doc) {
      if (path === undefined) book.gap(`spine entry "${printable(r.idref)}": not in the manifest, dropped`);
      continue;
    }
    if (spine.some((s) => s.item === item)) continue;
    spine.push({ item, linear: r.linear, properties: r.properties });
  }
  if (spine.length === 0) throw unusable('no document of its spine could be read');

  const locateFrom =
    (base: string): Locate =>
    (href) => {
      const t = resolveRef(href, base, toPath);
      if (t.kind !== 'local') return undefined;
      const item = book.find(t.path);
      if (!item?.doc) return undefined;
      item.linked = true;
      const fragment = t.fragment === undefined || t.fragment === '' ? undefined : lookupId(item.doc.ids, t.fragment);
      return fragment === undefined ? { item } : { item, fragment };
    };

  const navItem = navPath === undefined ? undefined : book.items.get(navPath);
  const navLists = navItem?.doc?.tree ? readNavLists(navItem.doc.tree, locateFrom(navItem.doc.base)) : [];
  const ncxDoc = ncxPath === undefined ? null : parseNcx(files.get(ncxPath));
  const ncxPoints = ncxDoc && ncxPath !== undefined ? pruneToc(readNcx(ncxDoc, locateFrom(packageUrl(ncxPath)))) : [];
  const navToc = pruneToc(navLists.find((l) => l.type === 'toc')?.points ?? []);
  const spineToc = (): TocPoint[] => spine.filter((s) => s.linear).map((s) => ({ label: s.item.doc!.title, target: { item: s.item }, children: [] }));
  const toc = navToc.length > 0 ? navToc : ncxPoints.length > 0 ? ncxPoints : spineToc();
  for (const p of toc) markLinked(p);

  finishDocuments(book, toPath, input.format, (item) => {
    if (item === navItem) rewriteNav(item, navLists, toc);
  });
  finishStylesheets(book, toPath);

  const meta = mergeMeta(input.meta, pkg);
  const stylesheets = input.format === 'kindle' ? [book.kindleCss()] : [];
  let nav = navItem?.doc ? navItem : undefined;
  if (!nav) {
    nav = book.add('\u0000nav', { mediaType: 'application/xhtml+xml', kind: 'xhtml', data: null, out: join(dirOf(opfPath), 'nav.xhtml'), id: 'nav' });
    nav.data = utf8.encode(navDocument({ out: nav.out, title: meta.title, language: meta.language, toc, stylesheets }));
    book.gap('navigation document: missing from the package, generated');
  }
  nav.properties.add('nav');

  const identifier = publisherIdentifier(pkg) ?? identifierOf(input.meta);
  const ncxId = ncxPath !== undefined ? declared.get(ncxPath)?.id : undefined;
  const ncx = book.add(ncxPath ?? '\u0000ncx', {
    mediaType: 'application/x-dtbncx+xml',
    kind: 'ncx',
    data: null,
    out: ncxPath ?? join(dirOf(opfPath), 'toc.ncx'),
    id: ncxId || 'ncx',
  });
  ncx.data = utf8.encode(
    ncxDocument({ out: ncx.out, uid: identifier, title: meta.title, language: meta.language, toc: ncxPoints.length > 0 ? ncxPoints : toc }),
  );
  if (ncxPath === undefined) book.gap('NCX: missing from the package, generated');

  // Documents something links to must be in the spine (RSC-011); they go at the end, out of the reading order.
  for (const item of book.items.values()) {
    if (item.doc && item.linked && item !== nav && !spine.some((s) => s.item === item)) spine.push({ item, linear: false, properties: [] });
  }
  if (nav.linked && !spine.some((s) => s.item === nav)) spine.push({ item: nav, linear: false, properties: [] });

  const cover = coverOf(book, declared, idToPath, pkg);
  if (cover) cover.properties.add('cover-image');

  const opfXml = opfDocument({
    out: opfOut,
    identifier,
    otherIdentifiers: descendants(pkg, 'identifier')
      .map((e) => xmlText(e))
      .filter(usableIdentifier),
    meta,
    modified: publisherModified(pkg) ?? modifiedOf(meta.date),
    items: [...book.items.values()],
    spine: spine.map((s) => ({ idref: s.item.id, linear: s.linear, properties: s.properties })),
    tocId: ncx.id,
    ...(cover ? { coverId: cover.id } : {}),
    ...directionOf(spineEl),
    rendition: renditionOf(pkg),
  });
  return entriesOf(book, opfOut, opfXml, spine.filter((s) => s.linear).length);
}

/** epubcheck checks what a `urn:uuid:` holds; a malformed one is dropped rather than carried along. */
function usableIdentifier(value: string): boolean {
  if (value === '') return false;
  const uuid = /^urn:uuid:(.*)$/i.exec(value);
  return !uuid || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid[1]!);
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function markLinked(p: TocPoint): void {
  if (p.target) p.target.item.linked = true;
  p.children.forEach(markLinked);
}

function titleOf(head: Element): string {
  const t = head.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'title');
  return t ? textContent(t).trim() : '';
}

/** The OPF: where container.xml says, else the one file that looks like a package document. */
function findOpf(files: Map<string, FetchedFile>): string {
  const container = files.get('META-INF/container.xml');
  if (container?.data) {
    const doc = parseXml(decodeMarkup(container.data));
    for (const rf of doc ? descendants(doc, 'rootfile') : []) {
      const p = safePackagePath(rf.getAttribute('full-path') ?? '');
      if (p !== null && files.get(p)?.data) return p;
    }
  }
  // A listing may hold more than one OPF; the publisher's own is usually content.opf (docs/SERVICE.md §2).
  const isContentOpf = (p: string) => p.toLowerCase().split('/').pop() === 'content.opf';
  const candidates = [...files.values()]
    .filter((f) => f.data !== null && ((f.mediaType ?? '').includes('oebps-package') || f.path.toLowerCase().endsWith('.opf')))
    .map((f) => safePackagePath(f.path)!)
    .sort((a, b) => Number(isContentOpf(b)) - Number(isContentOpf(a)) || a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
  const found = candidates.find((p) => sniff(files.get(p)!.data!, undefined, p).kind === 'opf') ?? candidates[0];
  if (found === undefined) throw unusable('it has no OPF package document');
  return found;
}

function findNcx(
  spineEl: XmlElement | undefined,
  idToPath: Map<string, string>,
  declared: Map<string, Declared>,
  files: Map<string, FetchedFile>,
): string | undefined {
  const byToc = idToPath.get(spineEl?.getAttribute('toc') ?? '');
  const candidates = [byToc, ...[...declared.values()].filter((d) => d.mediaType === 'application/x-dtbncx+xml').map((d) => d.path)];
  for (const p of candidates) if (p !== undefined && files.get(p)?.data) return p;
  for (const [p, f] of files) if (f.data !== null && p.toLowerCase().endsWith('.ncx')) return p;
  return undefined;
}

function parseNcx(f: FetchedFile | undefined): XmlDocument | null {
  if (!f?.data) return null;
  const doc = parseXml(decodeMarkup(f.data));
  return doc?.documentElement?.localName === 'ncx' ? doc : null;
}

/** Replaces the publisher's nav lists with clean markup built from what they pointed at. */
function rewriteNav(item: Item, lists: NavList[], toc: TocPoint[]): void {
  const tree = item.doc!.tree!;
  const replace = (el: Element, xhtml: string) => {
    const parent = el.parentNode;
    if (!parent) return;
    const nodes = parseFragment(xhtml).childNodes;
    const at = parent.childNodes.indexOf(el);
    for (const n of nodes) n.parentNode = parent;
    parent.childNodes.splice(at, 1, ...nodes);
  };
  let tocDone = false;
  for (const list of lists) {
    if (list.type === 'toc' && !tocDone) {
      replace(list.element, navElement('toc', list.heading || 'Table of Contents', toc, item.out));
      tocDone = true;
      continue;
    }
    const points = list.type === 'toc' ? [] : list.points;
    if (points.length === 0) replace(list.element, '');
    else replace(list.element, navElement(list.type, list.heading, points, item.out));
  }
  if (!tocDone) {
    const body = findElement(tree, (el) => el.tagName === 'body');
    if (body) {
      const nodes = parseFragment(navElement('toc', 'Table of Contents', toc, item.out)).childNodes;
      for (const n of nodes) n.parentNode = body;
      body.childNodes.unshift(...nodes);
    }
  }
}

function mergeMeta(meta: BookMeta, pkg: XmlElement): BookMeta {
  const dc = (name: string) =>
    descendants(pkg, name)
      .map((e) => xmlText(e))
      .filter(Boolean);
  const language = PACKAGE_LANGUAGE.test(meta.language.trim()) ? languageOf(meta.language) : languageOf(dc('language')[0]);
  const description = meta.description ?? dc('description')[0];
  const date = meta.date ?? dc('date')[0];
  return {
    ...meta,
    title: meta.title.trim() || dc('title')[0] || 'Untitled',
    authors: meta.authors.length > 0 ? meta.authors : dc('creator'),
    publishers: meta.publishers.length > 0 ? meta.publishers : dc('publisher'),
    language,
    subjects: meta.subjects.length > 0 ? meta.subjects : dc('subject'),
    ...(description === undefined ? {} : { description }),
    ...(date === undefined ? {} : { date }),
  };
}

function publisherIdentifier(pkg: XmlElement): string | undefined {
  const uid = pkg.getAttribute('unique-identifier') ?? '';
  const ids = descendants(pkg, 'identifier');
  const chosen = ids.find((e) => e.getAttribute('id') === uid) ?? ids[0];
  const value = xmlText(chosen);
  return value === '' ? undefined : value;
}

const MODIFIED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The latest well-formed `dcterms:modified` the publisher gave (some give two, some none). */
function publisherModified(pkg: XmlElement): string | undefined {
  const values = descendants(pkg, 'meta')
    .filter((m) => m.getAttribute('property') === 'dcterms:modified' && !m.getAttribute('refines'))
    .map((m) => xmlText(m))
    .filter((v) => MODIFIED.test(v))
    .sort();
  return values.at(-1);
}

function renditionOf(pkg: XmlElement): [string, string][] {
  const out = new Map<string, string>();
  for (const m of descendants(pkg, 'meta')) {
    const prop = m.getAttribute('property') ?? '';
    const value = xmlText(m);
    if (!m.getAttribute('refines') && RENDITION[prop]?.test(value) && !out.has(prop)) out.set(prop, value);
  }
  return [...out];
}

function directionOf(spineEl: XmlElement | undefined): { direction?: 'ltr' | 'rtl' } {
  const d = spineEl?.getAttribute('page-progression-direction');
  return d === 'ltr' || d === 'rtl' ? { direction: d } : {};
}

/** The cover image: the item the publisher marked `cover-image`, else the one `<meta name="cover">` names. */
function coverOf(book: Book, declared: Map<string, Declared>, idToPath: Map<string, string>, pkg: XmlElement): Item | undefined {
  const usable = (path: string | undefined) => {
    const item = path === undefined ? undefined : book.items.get(path);
    return item && (item.kind === 'image' || item.kind === 'svg') ? item : undefined;
  };
  const marked = [...declared.values()].find((d) => d.properties.includes('cover-image'));
  const byMeta =
    descendants(pkg, 'meta')
      .find((m) => m.getAttribute('name') === 'cover')
      ?.getAttribute('content') ?? undefined;
  return usable(marked?.path) ?? usable(byMeta === undefined ? undefined : idToPath.get(byMeta));
}
