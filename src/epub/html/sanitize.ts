import { NS, appendChild, createElement, detach, getAttr, isElement, removeAttr, setAttr, textContent, unwrap, walkElements } from './tree.js';
import type { Document, Element } from './tree.js';

/**
 * Makes a parsed page fit the EPUB 3 content-document schema epubcheck applies, keeping every
 * piece of text a reader would see: elements the schema does not know are unwrapped (their text
 * stays), obsolete ones renamed to their modern equivalent, scripts and their kin dropped (a
 * scripted document needs a manifest property and reading systems rarely run them anyway).
 */
const HTML_ELEMENTS = new Set(
  (
    'a abbr address area article aside audio b bdi bdo blockquote body br button canvas caption cite code col colgroup ' +
    'data datalist dd del details dfn div dl dt em embed fieldset figcaption figure footer h1 h2 h3 h4 h5 h6 head header ' +
    'hgroup hr html i iframe img input ins kbd label legend li link main map mark menu meta meter nav object ol optgroup option ' +
    'output p param pre progress q rp rt ruby s samp section select small source span strong style sub summary sup ' +
    'table tbody td textarea tfoot th thead time title tr track u ul var video wbr'
  ).split(' '),
);

const DROP_WITH_CONTENT = new Set([
  'script',
  'noscript',
  'template',
  'base',
  'basefont',
  'bgsound',
  'frame',
  'frameset',
  'noframes',
  'applet',
  'isindex',
  'keygen',
  'menuitem',
  'command',
  'slot',
]);

const RENAME: Record<string, string> = {
  center: 'div',
  font: 'span',
  big: 'span',
  tt: 'code',
  strike: 's',
  acronym: 'abbr',
  dir: 'ul',
  listing: 'pre',
  xmp: 'pre',
  plaintext: 'pre',
  marquee: 'span',
  blink: 'span',
  nobr: 'span',
  form: 'div',
  dialog: 'div',
  rb: 'span',
  rtc: 'span',
  search: 'div',
};

/** Attributes every element may carry: what survives a rename. */
const GLOBAL_ATTR = /^(id|class|style|title|lang|xml:lang|dir|hidden|role|epub:type|data-[\w.-]+|aria-[a-z]+)$/;

/** Flow content that phrasing content (a `span`, a `p`) must not contain. */
const BLOCK = new Set(
  (
    'address article aside blockquote details div dl fieldset figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr ' +
    'main menu nav ol p pre section table ul'
  ).split(' '),
);
/** Inline wrappers that may be unwrapped (losing only styling) to let a block through. */
const INLINE = new Set('span em strong b i u s small code sub sup mark cite q abbr dfn kbd samp var time bdi bdo data'.split(' '));
/** Elements that only take phrasing content and must keep their own meaning. */
const PHRASING_HOSTS = new Set('h1 h2 h3 h4 h5 h6 pre label button summary legend dt rt rp ruby output meter progress'.split(' '));

/** Attributes HTML5 made obsolete (epubcheck reports each as an error) or that run code. */
const OBSOLETE_ATTRS = new Set(
  (
    'align valign bgcolor background char charoff clear compact frame frameborder hspace vspace link vlink alink text ' +
    'nowrap rules axis cellpadding cellspacing summary longdesc lowsrc datasrc datafld dataformatas charset rev ' +
    'language profile version scheme archive classid codebase codetype declare standby marginheight marginwidth ' +
    'scrolling allowtransparency noshade color face srcset sizes loading decoding fetchpriority'
  ).split(' '),
);

const SIZED = new Set(['img', 'video', 'canvas', 'iframe', 'embed', 'object', 'input']);
const MEDIA_PARENTS = new Set(['video', 'audio']);

export interface SanitizeResult {
  /** Inline SVG or MathML present: the manifest item needs the `svg` / `mathml` property. */
  svg: boolean;
  mathml: boolean;
}

export function sanitizeDocument(doc: Document): SanitizeResult {
  const result: SanitizeResult = { svg: false, mathml: false };
  const html = doc.childNodes.find(isElement);
  if (!html) return result;
  const head = html.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'head');
  walkElements(doc, (el) => {
    if (el.namespaceURI === NS.svg) {
      result.svg = true;
      return sanitizeForeign(el);
    }
    if (el.namespaceURI === NS.math) {
      result.mathml = true;
      return sanitizeForeign(el);
    }
    return sanitizeHtml(el, head);
  });
  html.attrs = html.attrs.filter((a) => a.name === 'lang' || a.name === 'dir' || a.name === 'xml:lang' || (a.namespace === NS.xml && a.name === 'lang'));
  return result;
}

function sanitizeForeign(el: Element): void | 'skip' {
  if (el.tagName === 'script' || el.tagName === 'foreignObject') {
    detach(el);
    return 'skip';
  }
  el.attrs = el.attrs.filter((a) => !/^on/i.test(a.name));
}

function sanitizeHtml(el: Element, head: Element | undefined): void | 'skip' {
  const tag = el.tagName;
  if (DROP_WITH_CONTENT.has(tag)) {
    detach(el);
    return 'skip';
  }
  const renamed = RENAME[tag];
  if (renamed !== undefined) {
    rename(el, renamed);
  } else if (!HTML_ELEMENTS.has(tag)) {
    unwrap(el);
    return;
  }
  if (el.tagName === 'style' && head && el.parentNode !== head) appendChild(head, el);
  fixContext(el);
  if (BLOCK.has(el.tagName)) fixBlockInPhrasing(el);
  fixAttributes(el);
}

function rename(el: Element, tag: string): void {
  el.tagName = tag;
  el.nodeName = tag;
  el.attrs = el.attrs.filter((a) => GLOBAL_ATTR.test(a.name) || (a.namespace === NS.xml && a.name === 'lang'));
}

/**
 * A block inside phrasing content (`<span><div>`): inline wrappers around it are unwrapped, a
 * paragraph holding it becomes a div, and inside a heading or similar the block becomes a span.
 */
function fixBlockInPhrasing(el: Element): void {
  let parent = el.parentNode;
  while (parent && isElement(parent) && parent.namespaceURI === NS.html && INLINE.has(parent.tagName)) {
    unwrap(parent);
    parent = el.parentNode;
  }
  if (!parent || !isElement(parent) || parent.namespaceURI !== NS.html) return;
  if (parent.tagName === 'p') rename(parent, 'div');
  else if (PHRASING_HOSTS.has(parent.tagName)) rename(el, 'span');
}

/** Elements that are only valid inside a particular parent, found outside it. */
function fixContext(el: Element): void {
  const parentEl = el.parentNode && isElement(el.parentNode) ? el.parentNode : undefined;
  const parent = parentEl?.tagName ?? '';
  const grandparent = parentEl?.parentNode;
  const inDl =
    parent === 'dl' || (parent === 'div' && grandparent !== null && grandparent !== undefined && isElement(grandparent) && grandparent.tagName === 'dl');
  if (el.tagName === 'li' && !['ul', 'ol', 'menu'].includes(parent)) rename(el, 'div');
  else if ((el.tagName === 'dt' || el.tagName === 'dd') && !inDl) rename(el, 'div');
  else if (el.tagName === 'figcaption' && parent !== 'figure') rename(el, 'div');
  else if (el.tagName === 'legend' && parent !== 'fieldset') rename(el, 'div');
  else if (el.tagName === 'summary' && parent !== 'details') rename(el, 'div');
  else if ((el.tagName === 'rt' || el.tagName === 'rp') && parent !== 'ruby') rename(el, 'span');
  else if (el.tagName === 'caption' && parent !== 'table') rename(el, 'div');
  else if ((el.tagName === 'source' || el.tagName === 'track') && !MEDIA_PARENTS.has(parent)) detach(el);
  else if (el.tagName === 'param' && parent !== 'object') detach(el);
}

function fixAttributes(el: Element): void {
  const tag = el.tagName;
  const added: { name: string; value: string }[] = [];
  el.attrs = el.attrs.filter((a) => {
    if (a.namespace !== undefined) return a.namespace === String(NS.xml) && a.name === 'lang';
    const name = a.name;
    if (/^on/i.test(name) || OBSOLETE_ATTRS.has(name)) return false;
    if (name === 'border') return tag === 'table' && (a.value === '' || a.value === '1');
    if (name === 'width' || name === 'height') {
      if (!SIZED.has(tag)) return false;
      const px = /^\s*(\d+)(?:px)?\s*$/.exec(a.value);
      if (!px) return false;
      a.value = px[1]!;
      return true;
    }
    if (name === 'type' && (tag === 'ul' || tag === 'li')) return false;
    if (name === 'size' && tag !== 'input' && tag !== 'select') return false;
    if (name === 'scope' && tag !== 'th') return false;
    if (name === 'abbr' && tag !== 'th') return false;
    if ((name === 'shape' || name === 'coords') && tag === 'a') return false;
    if (name === 'name' && ['img', 'a', 'div', 'span', 'p', 'table', 'td', 'th'].includes(tag)) {
      if (tag === 'a' && getAttr(el, 'id') === undefined && a.value.trim() !== '') added.push({ name: 'id', value: a.value.trim() });
      return false;
    }
    if (name === 'dir') return ['ltr', 'rtl', 'auto'].includes(a.value);
    if (name === 'tabindex') return /^-?\d+$/.test(a.value.trim());
    if (name === 'target' || name === 'rel' || name === 'hreflang' || name === 'download' || name === 'ping' || name === 'referrerpolicy') {
      return tag !== 'a' && tag !== 'area' ? name === 'rel' && tag === 'link' : getAttr(el, 'href') !== undefined;
    }
    return true;
  });
  el.attrs.push(...added);
  const lang = getAttr(el, 'lang');
  const xmlLang = getAttr(el, 'xml:lang') ?? getAttr(el, 'lang', NS.xml);
  if (lang !== undefined && xmlLang !== undefined && lang !== xmlLang) {
    removeAttr(el, 'lang', NS.xml);
    setAttr(el, 'xml:lang', lang);
  }
  if (tag === 'img' && getAttr(el, 'alt') === undefined) el.attrs.push({ name: 'alt', value: '' });
}

/** `<head>` with exactly one non-empty `<title>` first; keeps stylesheets, styles and named metas. */
export function normalizeHead(doc: Document, fallbackTitle: string): Element {
  const html = doc.childNodes.find(isElement)!;
  let head = html.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'head');
  if (!head) {
    head = createElement('head');
    html.childNodes.unshift(head);
    head.parentNode = html;
  }
  const titleEl = head.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'title');
  const titleText = (titleEl ? textContent(titleEl) : '').replace(/\s+/g, ' ').trim() || fallbackTitle.trim() || 'Untitled';
  const keep = head.childNodes.filter(
    (n): n is Element =>
      isElement(n) &&
      ((n.tagName === 'link' && /(^|\s)stylesheet(\s|$)/i.test(getAttr(n, 'rel') ?? '')) ||
        n.tagName === 'style' ||
        (n.tagName === 'meta' && getAttr(n, 'name') !== undefined && getAttr(n, 'content') !== undefined)),
  );
  for (const n of [...head.childNodes]) detach(n);
  const title = createElement('title');
  title.childNodes.push({ nodeName: '#text', value: titleText, parentNode: title });
  appendChild(head, title);
  for (const n of keep) appendChild(head, n);
  return head;
}
