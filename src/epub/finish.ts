import type { Book, Item } from './book.js';
import { rewriteCss } from './css.js';
import { rewriteRefs } from './html/refs.js';
import { serializeXhtml } from './html/serialize.js';
import { appendChild, createElement, findElement } from './html/tree.js';
import type { EpubBuild, Format } from './model.js';
import { containerXml } from './opf.js';
import { relativeHref } from './paths.js';
import type { UrlToPath } from './resolve.js';

const utf8 = new TextEncoder();

/**
 * Second pass over the parsed documents, once every file and anchor is known: references
 * rewritten, the e-reader CSS linked (kindle), manifest properties set, XHTML written.
 */
export function finishDocuments(book: Book, toPath: UrlToPath, format: Format, afterRefs?: (item: Item) => void): void {
  const kindle = format === 'kindle' ? book.kindleCss() : undefined;
  for (const item of [...book.items.values()]) {
    const doc = item.doc;
    if (!doc || item.data !== null) continue;
    const tree = doc.tree ?? doc.rebuild?.();
    if (!tree) continue;
    rewriteRefs(tree, book.refs(item, toPath));
    afterRefs?.(item);
    if (kindle) {
      const head = findElement(tree, (el) => el.tagName === 'head');
      if (head) appendChild(head, createElement('link', { rel: 'stylesheet', type: 'text/css', href: relativeHref(item.out, kindle.out) }));
    }
    if (doc.svg) item.properties.add('svg');
    if (doc.mathml) item.properties.add('mathml');
    item.data = utf8.encode(serializeXhtml(tree));
    doc.tree = null;
    delete doc.rebuild;
  }
}

export function finishStylesheets(book: Book, toPath: UrlToPath): void {
  for (const item of [...book.items.values()]) {
    if (!item.css || item.data !== null) continue;
    item.data = utf8.encode(rewriteCss(item.css.text, book.cssResolver(item.out, item.css.base, toPath)));
  }
}

/** The zip entries: container, OPF, then every item in manifest order. */
export function entriesOf(book: Book, opfOut: string, opf: string, chapters: number): EpubBuild {
  const entries: EpubBuild['entries'] = [
    { path: 'META-INF/container.xml', data: utf8.encode(containerXml(opfOut)) },
    { path: opfOut, data: utf8.encode(opf) },
  ];
  for (const item of book.items.values()) {
    if (item.data === null) throw new Error(`internal: ${item.out} has no bytes at packaging time`);
    entries.push({ path: item.out, data: item.data });
  }
  return { entries, gaps: book.gaps, chapters };
}
