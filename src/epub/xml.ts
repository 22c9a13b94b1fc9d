import { DOMParser } from '@xmldom/xmldom';
import type { Document as XmlDocument, Element as XmlElement } from '@xmldom/xmldom';

export type { XmlDocument, XmlElement };

/**
 * Parses the small XML files of a package (OPF, NCX, container.xml). xmldom expands no DTD
 * entities and loads nothing external, so a hostile file cannot reach outside. Null when the text
 * is not XML at all.
 */
export function parseXml(text: string): XmlDocument | null {
  try {
    const doc = new DOMParser({ onError: () => {} }).parseFromString(text.replace(/^\ufeff/, ''), 'application/xml');
    return doc.documentElement ? doc : null;
  } catch {
    return null;
  }
}

/** Child elements by local name, in any namespace (publishers mix prefixes freely). */
export function childElements(parent: XmlElement | XmlDocument, localName?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (localName === undefined || (n as XmlElement).localName === localName)) out.push(n as XmlElement);
  }
  return out;
}

export function descendants(parent: XmlElement | XmlDocument, localName: string): XmlElement[] {
  return Array.from(parent.getElementsByTagNameNS('*', localName));
}

export function xmlText(el: XmlElement | undefined): string {
  return (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
}
