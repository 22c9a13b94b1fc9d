import { NS, isElement } from './tree.js';
import type { ChildNode, Document, Element } from './tree.js';

/**
 * Serialises a parse5 tree as a well-formed XHTML content document (docs/EPUB.md "Content documents"):
 * XML declaration, `<!DOCTYPE html>`, namespaces declared, void elements closed, only characters
 * and names XML allows. Comments are dropped: `--` inside one is not well-formed and they carry
 * nothing a reader shows.
 */
export const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

// Characters XML 1.0 forbids, and halves of surrogate pairs.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export const xmlChars = (s: string) => s.replace(INVALID_XML_CHARS, '');

// Most text and attribute values need no escaping at all: one test skips the replacing (a book is
// a few hundred thousand text nodes). Surrogates are in the test so lone halves still go.
const TEXT_SPECIAL = /[&<>\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/;
const ATTR_SPECIAL = /[&<>"\t\n\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/;
const TEXT_ESCAPES = /[&<>]/g;
const ATTR_ESCAPES = /[&<>"\t\n\r]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };
const entity = (c: string) => ENTITY[c]!;

export function escapeXmlText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return xmlChars(s).replace(TEXT_ESCAPES, entity);
}

export function escapeXmlAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return xmlChars(s).replace(ATTR_ESCAPES, entity);
}

/** An XML name without a colon (NCName), close enough: what ids, tags and attribute names must be. */
export const NCNAME = /^[\p{L}_][\p{L}\p{N}\p{M}_.\-\u00b7]*$/u;
const ASCII_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** The attribute as written in XHTML, or null when XML cannot carry it. */
function attrName(a: { name: string; namespace?: string }): string | null {
  if (a.namespace === NS.xlink) return ASCII_NAME.test(a.name) ? `xlink:${a.name}` : null;
  if (a.namespace === NS.xml) return ASCII_NAME.test(a.name) ? `xml:${a.name}` : null;
  if (a.namespace !== undefined) return null;
  if (a.name === 'xmlns' || a.name.startsWith('xmlns:')) return null;
  const colon = a.name.indexOf(':');
  if (colon >= 0) {
    const prefix = a.name.slice(0, colon);
    const local = a.name.slice(colon + 1);
    if ((prefix === 'epub' || prefix === 'xml') && ASCII_NAME.test(local)) return a.name;
    return null;
  }
  return ASCII_NAME.test(a.name) ? a.name : null;
}

export function serializeXhtml(doc: Document): string {
  const root = doc.childNodes.find(isElement);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'];
  if (root) writeElement(root, out, undefined);
  out.push('\n');
  return out.join('');
}

function writeElement(el: Element, out: string[], parentNs: Element['namespaceURI'] | undefined): void {
  const ns = el.namespaceURI;
  if (!NCNAME.test(el.tagName) || (ns !== NS.html && ns !== NS.svg && ns !== NS.math)) {
    writeChildren(el.childNodes, out, parentNs);
    return;
  }
  out.push('<', el.tagName);
  if (parentNs === undefined) {
    out.push(` xmlns="${ns}"`);
    if (ns === NS.html) out.push(` xmlns:epub="${NS.epub}"`);
    if (ns === NS.svg) out.push(` xmlns:xlink="${NS.xlink}"`);
  } else if (ns !== parentNs) {
    out.push(` xmlns="${ns}"`);
    if (ns === NS.svg) out.push(` xmlns:xlink="${NS.xlink}"`);
  }
  const seen = new Set<string>();
  for (const a of el.attrs) {
    const name = attrName(a);
    if (name === null || seen.has(name)) continue;
    seen.add(name);
    out.push(' ', name, '="', escapeXmlAttr(a.value), '"');
  }
  if (ns === NS.html && VOID_ELEMENTS.has(el.tagName)) {
    out.push('/>');
    return;
  }
  if (el.childNodes.length === 0 && ns !== NS.html) {
    out.push('/>');
    return;
  }
  out.push('>');
  writeChildren(el.childNodes, out, ns);
  out.push('</', el.tagName, '>');
}

function writeChildren(nodes: ChildNode[], out: string[], ns: Element['namespaceURI'] | undefined): void {
  for (const c of nodes) {
    if (isElement(c)) writeElement(c, out, ns);
    else if (c.nodeName === '#text') out.push(escapeXmlText(c.value));
  }
}
