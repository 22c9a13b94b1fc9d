import { parse } from 'parse5';
import type { Document } from './tree.js';

/**
 * Every content document is parsed with parse5 (an HTML parser: forgiving and fast). XHTML from a
 * publisher package is XML, so the few XML constructs whose HTML reading differs are rewritten
 * first: `<a id="x"/>` would otherwise swallow the rest of the page, CDATA would vanish as a
 * comment and the newline right after `<pre>` would be dropped.
 */
export function parseHtml(text: string): Document {
  return parse(text);
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr', 'param', 'keygen']);

// A start tag ending in "/>". No alternative may cross a '<' (XML allows none inside a tag), so
// every attempt stops at the next tag and hostile input cannot make this quadratic.
const SELF_CLOSING = /<([A-Za-z][^\s/<>]*)((?:[^<>"'/]|"[^"<]*"|'[^'<]*'|\/(?!>))*)\/>/g;
const PRE_START = /(<(?:pre|textarea|listing)\b(?:[^<>"']|"[^"<]*"|'[^'<]*')*>)(\r?\n)/gi;

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function xhtmlToHtml(text: string): string {
  return unwrapCdata(text)
    .replace(SELF_CLOSING, (m, tag: string, attrs: string) => (VOID.has(tag.toLowerCase()) ? m : `<${tag}${attrs}></${tag}>`))
    .replace(PRE_START, '$1$2$2');
}

/** CDATA sections as text (escaped unless they hold no markup characters, as in `<style>`). */
function unwrapCdata(text: string): string {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    const start = text.indexOf('<![CDATA[', at);
    const end = start < 0 ? -1 : text.indexOf(']]>', start + 9);
    if (end < 0) break;
    const body = text.slice(start + 9, end);
    parts.push(text.slice(at, start), /[<&]/.test(body) ? escapeText(body) : body);
    at = end + 3;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

export function parseXhtml(text: string): Document {
  return parse(xhtmlToHtml(text));
}

/** Bytes of a markup file to text: BOM first, then the XML declaration or `<meta charset>`, else UTF-8. */
export function decodeMarkup(data: Uint8Array): string {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return new TextDecoder('utf-8').decode(data.subarray(3));
  if (data[0] === 0xff && data[1] === 0xfe) return new TextDecoder('utf-16le').decode(data.subarray(2));
  if (data[0] === 0xfe && data[1] === 0xff) return new TextDecoder('utf-16be').decode(data.subarray(2));
  const head = new TextDecoder('latin1').decode(data.subarray(0, 1024));
  const declared = /^<\?xml[^>]*encoding=["']([\w.:-]+)["']/.exec(head)?.[1] ?? /<meta[^>]+charset=["']?([\w.:-]+)/i.exec(head)?.[1];
  let label = (declared ?? 'utf-8').toLowerCase();
  try {
    new TextDecoder(label);
  } catch {
    label = 'utf-8';
  }
  return new TextDecoder(label).decode(data);
}
