import { NS, detach, getAttr, isElement, isText, removeAttr, setAttr, unwrap, walkElements } from './tree.js';
import type { Document, Element } from './tree.js';

/** How one document's references are answered; the book knows what exists and where. */
export interface DocRefs {
  /** The href of a hyperlink, or null to drop it (the text stays). */
  link(ref: string): string | null;
  /** The src of an image: a file in the package, or the placeholder. */
  image(ref: string): string;
  /** The href of a stylesheet, or null to drop the `<link>`. */
  stylesheet(ref: string): string | null;
  /** The src of audio, video or an embedded document, or null to drop the element. */
  embedded(ref: string): string | null;
  /** CSS (a `style` attribute or element) with its references rewritten. */
  css(text: string): string;
}

const LINK_ONLY_ATTRS = ['target', 'rel', 'hreflang', 'download', 'ping', 'referrerpolicy', 'type', 'media'];

function xlinkOrPlainHref(el: Element): { value: string; namespace: string | undefined } | undefined {
  const x = getAttr(el, 'href', NS.xlink);
  if (x !== undefined) return { value: x, namespace: NS.xlink };
  const p = getAttr(el, 'href');
  return p === undefined ? undefined : { value: p, namespace: undefined };
}

function setHref(el: Element, namespace: string | undefined, value: string): void {
  const a = el.attrs.find((x) => x.name === 'href' && x.namespace === namespace);
  if (a) a.value = value;
}

export function rewriteRefs(doc: Document, refs: DocRefs): void {
  walkElements(doc, (el) => {
    const style = getAttr(el, 'style');
    if (style !== undefined) setAttr(el, 'style', refs.css(style));
    if (el.namespaceURI === NS.svg) return rewriteSvg(el, refs);
    if (el.namespaceURI !== NS.html) return;
    switch (el.tagName) {
      case 'a':
      case 'area': {
        const href = getAttr(el, 'href');
        if (href === undefined) return;
        const next = refs.link(href);
        if (next === null) for (const name of ['href', ...LINK_ONLY_ATTRS]) removeAttr(el, name);
        else setAttr(el, 'href', next);
        return;
      }
      case 'img': {
        const src = getAttr(el, 'src');
        if (src === undefined || src.trim() === '') {
          detach(el);
          return 'skip';
        }
        setAttr(el, 'src', refs.image(src));
        return;
      }
      case 'input': {
        const src = getAttr(el, 'src');
        if (src !== undefined) setAttr(el, 'src', refs.image(src));
        return;
      }
      case 'link': {
        const href = getAttr(el, 'href');
        const next = href !== undefined && /(^|\s)stylesheet(\s|$)/i.test(getAttr(el, 'rel') ?? '') ? refs.stylesheet(href) : null;
        if (next === null) {
          detach(el);
          return 'skip';
        }
        el.attrs = [
          { name: 'rel', value: 'stylesheet' },
          { name: 'type', value: 'text/css' },
          { name: 'href', value: next },
        ];
        return;
      }
      case 'style': {
        const text = el.childNodes.map((c) => (isText(c) ? c.value : '')).join('');
        el.childNodes = [{ nodeName: '#text', value: refs.css(text), parentNode: el }];
        el.attrs = el.attrs.filter((a) => a.name === 'type' || a.name === 'media');
        return;
      }
      case 'video':
      case 'audio':
      case 'source':
      case 'track':
      case 'iframe':
      case 'embed':
      case 'object':
        return rewriteEmbedded(el, refs);
      default:
        return;
    }
  });
}

function rewriteEmbedded(el: Element, refs: DocRefs): void | 'skip' {
  const attr = el.tagName === 'object' ? 'data' : 'src';
  const poster = getAttr(el, 'poster');
  if (poster !== undefined) setAttr(el, 'poster', refs.image(poster));
  const value = getAttr(el, attr);
  if (value === undefined) return;
  const next = refs.embedded(value);
  if (next !== null) {
    setAttr(el, attr, next);
    return;
  }
  if (el.tagName === 'object') {
    // An object's children are its fallback: the reader shows them instead.
    for (const c of [...el.childNodes]) if (isElement(c) && c.tagName === 'param') detach(c);
    unwrap(el);
    return;
  }
  detach(el);
  return 'skip';
}

function rewriteSvg(el: Element, refs: DocRefs): void {
  const href = xlinkOrPlainHref(el);
  if (href === undefined) return;
  if (el.tagName === 'image') {
    setHref(el, href.namespace, refs.image(href.value));
  } else if (el.tagName === 'a') {
    const next = refs.link(href.value);
    if (next === null) removeAttr(el, 'href', href.namespace);
    else setHref(el, href.namespace, next);
  } else if (!href.value.trim().startsWith('#')) {
    removeAttr(el, 'href', href.namespace);
  }
}
