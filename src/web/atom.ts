import { escapeXmlAttr, escapeXmlText } from '../epub/html/serialize.js';

/**
 * A small XML builder for the feeds (Atom, OpenSearch). Text and attribute values are always
 * escaped, and characters XML 1.0 forbids (control characters, lone surrogate halves) dropped:
 * titles and authors come from the service and may hold anything. Only `Xml` values built here
 * are inserted as markup, so nothing else can smuggle a tag in.
 */
export interface Xml {
  readonly xml: string;
}

export type Child = Xml | string | undefined | false;
export type Attrs = Record<string, string | number | undefined>;

/** `<name attrs>children</name>`; strings among the children are text; undefined attributes and children are left out. */
export function el(name: string, attrs: Attrs = {}, ...children: Child[]): Xml {
  let open = `<${name}`;
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) open += ` ${k}="${escapeXmlAttr(String(v))}"`;
  const inner = children.map((c) => (c === undefined || c === false ? '' : typeof c === 'string' ? escapeXmlText(c) : c.xml)).join('');
  return { xml: inner === '' ? `${open}/>` : `${open}>${inner}</${name}>` };
}

/** A whole document: the XML declaration and its root element. */
export function xmlDocument(root: Xml): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root.xml}\n`;
}

/** Atom's date format (RFC 3339) from epoch ms. */
export function atomDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
