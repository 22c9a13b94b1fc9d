import type { Item } from './book.js';
import { escapeXmlAttr as attr, escapeXmlText as text } from './html/serialize.js';
import { relativeHref } from './paths.js';

/** One entry of a table of contents, landmarks or page list, pointing into the assembled book. */
export interface TocPoint {
  label: string;
  target?: { item: Item; fragment?: string };
  /** The landmark's `epub:type` (landmarks only). */
  type?: string;
  children: TocPoint[];
}

/** Entries that lead nowhere and hold nothing are dropped; labels are made non-empty. */
export function pruneToc(points: TocPoint[]): TocPoint[] {
  const out: TocPoint[] = [];
  for (const p of points) {
    const children = pruneToc(p.children);
    if (!p.target && children.length === 0) continue;
    out.push({ ...p, label: p.label.replace(/\s+/g, ' ').trim() || 'Untitled', children });
  }
  return out;
}

function href(from: string, t: NonNullable<TocPoint['target']>): string {
  return relativeHref(from, t.item.out, t.fragment);
}

function olOf(points: TocPoint[], from: string, landmarks: boolean): string {
  const lis = points.map((p) => {
    const label = text(p.label);
    const type = landmarks && p.type ? ` epub:type="${attr(p.type)}"` : '';
    const head = p.target ? `<a${type} href="${attr(href(from, p.target))}">${label}</a>` : `<span>${label}</span>`;
    const sub = p.children.length > 0 ? olOf(p.children, from, landmarks) : '';
    return `<li>${head}${sub}</li>`;
  });
  return `<ol>${lis.join('')}</ol>`;
}

/** A `<nav>` element as XHTML; `points` must be pruned (and, for landmarks, typed and flat). */
export function navElement(type: 'toc' | 'landmarks' | 'page-list', heading: string, points: TocPoint[], from: string): string {
  const hidden = type === 'toc' ? '' : ' hidden=""';
  const h = heading.trim() === '' ? '' : `<h1>${text(heading)}</h1>`;
  return `<nav epub:type="${type}" id="${type}"${hidden}>${h}${olOf(points, from, type === 'landmarks')}</nav>`;
}

export interface NavDocumentInput {
  out: string;
  title: string;
  language: string;
  toc: TocPoint[];
  landmarks?: TocPoint[];
  stylesheets?: Item[];
}

export function navDocument(input: NavDocumentInput): string {
  const links = (input.stylesheets ?? []).map((s) => `<link rel="stylesheet" type="text/css" href="${attr(relativeHref(input.out, s.out))}"/>`).join('');
  const lang = attr(input.language);
  const landmarks = input.landmarks && input.landmarks.length > 0 ? navElement('landmarks', 'Landmarks', input.landmarks, input.out) : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n' +
    `<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="${lang}" xml:lang="${lang}">` +
    `<head><title>${text(input.title)}</title>${links}</head>\n<body>` +
    navElement('toc', 'Table of Contents', input.toc, input.out) +
    landmarks +
    '</body></html>\n'
  );
}

export interface NcxInput {
  out: string;
  uid: string;
  title: string;
  language: string;
  toc: TocPoint[];
}

function firstTarget(p: TocPoint): TocPoint['target'] {
  if (p.target) return p.target;
  for (const c of p.children) {
    const t = firstTarget(c);
    if (t) return t;
  }
  return undefined;
}

/** The EPUB 2 table of contents, with `dtb:uid` equal to the OPF identifier (NCX-001 otherwise). */
export function ncxDocument(input: NcxInput): string {
  let count = 0;
  let depth = 0;
  // Entries pointing at the same place must share a playOrder (RSC-005 otherwise).
  const orderOf = new Map<string, number>();
  const points = (list: TocPoint[], level: number): string =>
    list
      .map((p) => {
        const target = firstTarget(p);
        if (!target) return '';
        depth = Math.max(depth, level);
        const src = href(input.out, target);
        const order = orderOf.get(src) ?? orderOf.size + 1;
        orderOf.set(src, order);
        const n = ++count;
        return (
          `<navPoint id="np-${n}" playOrder="${order}"><navLabel><text>${text(p.label)}</text></navLabel>` +
          `<content src="${attr(src)}"/>${points(p.children, level + 1)}</navPoint>`
        );
      })
      .join('');
  const map = points(input.toc, 1);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1" xml:lang="${attr(input.language)}">` +
    `<head><meta name="dtb:uid" content="${attr(input.uid)}"/><meta name="dtb:depth" content="${Math.max(depth, 1)}"/>` +
    '<meta name="dtb:totalPageCount" content="0"/><meta name="dtb:maxPageNumber" content="0"/></head>' +
    `<docTitle><text>${text(input.title)}</text></docTitle><navMap>${map}</navMap></ncx>\n`
  );
}
