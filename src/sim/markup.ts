import { parse, type DefaultTreeAdapterMap } from 'parse5';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

/** Escapes text for XML (and HTML) content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The characters the chapter API writes as named HTML entities; the package XHTML carries the same
 * characters literally (or as numeric references), so both have the same text.
 */
const NAMED: Record<string, string> = {
  '\u00a0': '&nbsp;',
  '\u2014': '&mdash;',
  '\u2013': '&ndash;',
  '\u00e9': '&eacute;',
  '\u2026': '&hellip;',
  '\u00a9': '&copy;',
  '\u2019': '&rsquo;',
  '\u00fc': '&uuml;',
};
const NAMED_RE = new RegExp(`[${Object.keys(NAMED).join('')}]`, 'g');

/** Escapes text for the chapter API's HTML, using named entities where HTML has them. */
export function escapeHtml(s: string): string {
  return escapeXml(s).replace(NAMED_RE, (c) => NAMED[c]!);
}

/** Escapes text for package XHTML; no-break spaces become numeric references (still well-formed XML). */
export function escapeXhtml(s: string): string {
  return escapeXml(s).replace(/\u00a0/g, '&#160;');
}

function attr(el: Element, name: string): string | undefined {
  return el.attrs.find((a) => a.name === name)?.value;
}

function findContent(node: Node): Element | undefined {
  if ('tagName' in node) {
    if (attr(node, 'id') === 'sbo-rt-content') return node;
  }
  if ('childNodes' in node) {
    for (const child of node.childNodes) {
      const hit = findContent(child);
      if (hit) return hit;
    }
  }
  return undefined;
}

function findTag(node: Node, tag: string): Element | undefined {
  if ('tagName' in node && node.tagName === tag) return node;
  if ('childNodes' in node) {
    for (const child of node.childNodes) {
      const hit = findTag(child, tag);
      if (hit) return hit;
    }
  }
  return undefined;
}

function collect(node: Node, out: string[]): void {
  if (node.nodeName === '#text') {
    out.push((node as DefaultTreeAdapterMap['textNode']).value);
    return;
  }
  if ('tagName' in node && (node.tagName === 'script' || node.tagName === 'style' || node.tagName === 'head')) return;
  if ('content' in node && node.nodeName === 'template') return;
  if ('childNodes' in node) for (const child of node.childNodes) collect(child, out);
}

/**
 * The readable text of a chapter, whitespace collapsed: the content of `#sbo-rt-content` when the
 * page has one (chapter API), else of `<body>` (package XHTML). Both forms of one chapter give the
 * same string, which is how tests compare an archived book with its source.
 */
export function chapterText(markup: string): string {
  const doc = parse(markup);
  const root = findContent(doc) ?? findTag(doc, 'body') ?? doc;
  const out: string[] = [];
  collect(root, out);
  return out
    .join('')
    .replace(/[\s\u00a0]+/g, ' ')
    .trim();
}
