import { NS, getAttr, isElement, textContent, walkElements } from './html/tree.js';
import type { Document, Element } from './html/tree.js';
import type { TocPoint } from './toc.js';
import { childElements, descendants, xmlText } from './xml.js';
import type { XmlDocument, XmlElement } from './xml.js';

/** Turns an href of the nav or NCX into a point's target, or undefined when it leads nowhere we have. */
export type Locate = (href: string) => TocPoint['target'];

export type NavType = 'toc' | 'landmarks' | 'page-list';

export interface NavList {
  element: Element;
  type: NavType;
  heading: string;
  points: TocPoint[];
}

const typesOf = (el: Element) => (getAttr(el, 'epub:type') ?? '').split(/\s+/);

/** The publisher's `<nav>` lists, read into points (their markup is rewritten from these later). */
export function readNavLists(tree: Document, locate: Locate): NavList[] {
  const lists: NavList[] = [];
  walkElements(tree, (el) => {
    if (el.namespaceURI !== NS.html || el.tagName !== 'nav') return;
    const type = (['toc', 'landmarks', 'page-list'] as const).find((t) => typesOf(el).includes(t));
    if (type === undefined) return;
    const ol = el.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'ol');
    const headingEl = el.childNodes.find((n): n is Element => isElement(n) && /^(h[1-6]|hgroup)$/.test(n.tagName));
    const heading = headingEl ? textContent(headingEl).replace(/\s+/g, ' ').trim() : '';
    let points = ol ? readOl(ol, locate, type === 'landmarks') : [];
    if (type !== 'toc') points = flatten(points).filter((p) => p.target && (type !== 'landmarks' || p.type));
    if (type === 'landmarks') points = uniqueLandmarks(points);
    lists.push({ element: el, type, heading, points });
    return 'skip';
  });
  return lists;
}

function readOl(ol: Element, locate: Locate, landmarks: boolean): TocPoint[] {
  const points: TocPoint[] = [];
  for (const li of ol.childNodes) {
    if (!isElement(li) || li.tagName !== 'li') continue;
    const nested = li.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'ol');
    const head = findHead(li);
    const label = (
      head
        ? textContent(head)
        : li.childNodes
            .filter((n) => n !== nested)
            .map(textContent)
            .join(' ')
    )
      .replace(/\s+/g, ' ')
      .trim();
    const href = head && head.tagName === 'a' ? getAttr(head, 'href') : undefined;
    const target = href === undefined ? undefined : locate(href);
    const type = landmarks && head ? typesOf(head).find((t) => t !== '') : undefined;
    points.push({
      label,
      ...(target ? { target } : {}),
      ...(type ? { type } : {}),
      children: nested ? readOl(nested, locate, landmarks) : [],
    });
  }
  return points;
}

/** The entry's own `<a>` or `<span>`: a direct child first, else the first one outside the nested list. */
function findHead(li: Element): Element | undefined {
  const direct = li.childNodes.find((n): n is Element => isElement(n) && (n.tagName === 'a' || n.tagName === 'span'));
  if (direct) return direct;
  let found: Element | undefined;
  walkElements(li, (el) => {
    if (found || el.tagName === 'ol') return 'skip';
    if (el.tagName === 'a' || el.tagName === 'span') found = el;
  });
  return found;
}

function flatten(points: TocPoint[]): TocPoint[] {
  return points.flatMap((p) => [{ ...p, children: [] }, ...flatten(p.children)]);
}

function uniqueLandmarks(points: TocPoint[]): TocPoint[] {
  const seen = new Set<string>();
  return points.filter((p) => {
    const key = `${p.type}|${p.target?.item.out}#${p.target?.fragment ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The NCX navMap as points. */
export function readNcx(doc: XmlDocument, locate: Locate): TocPoint[] {
  const navMap = descendants(doc, 'navMap')[0];
  return navMap ? readNavPoints(navMap, locate) : [];
}

function readNavPoints(parent: XmlElement, locate: Locate): TocPoint[] {
  return childElements(parent, 'navPoint').map((np) => {
    const label = xmlText(childElements(childElements(np, 'navLabel')[0] ?? np, 'text')[0]);
    const src = childElements(np, 'content')[0]?.getAttribute('src') ?? undefined;
    const target = src === undefined || src === null ? undefined : locate(src);
    return { label, ...(target ? { target } : {}), children: readNavPoints(np, locate) };
  });
}
