import { defaultTreeAdapter as ta, html } from 'parse5';
import type { DefaultTreeAdapterTypes as T } from 'parse5';

/** Small helpers over parse5's default tree: the one tree every content document is worked on. */
export type Element = T.Element;
export type Node = T.Node;
export type ChildNode = T.ChildNode;
export type ParentNode = T.ParentNode;
export type Document = T.Document;

export const NS = {
  html: html.NS.HTML,
  svg: html.NS.SVG,
  math: html.NS.MATHML,
  xlink: html.NS.XLINK,
  xml: html.NS.XML,
  xmlns: html.NS.XMLNS,
  epub: 'http://www.idpf.org/2007/ops',
} as const;

export const isElement = (n: Node): n is Element => 'tagName' in n;
export const isText = (n: Node): n is T.TextNode => n.nodeName === '#text';

export function getAttr(el: Element, name: string, namespace?: string): string | undefined {
  return el.attrs.find((a) => a.name === name && a.namespace === namespace)?.value;
}

export function setAttr(el: Element, name: string, value: string): void {
  const a = el.attrs.find((x) => x.name === name && x.namespace === undefined);
  if (a) a.value = value;
  else el.attrs.push({ name, value });
}

export function removeAttr(el: Element, name: string, namespace?: string): void {
  el.attrs = el.attrs.filter((a) => !(a.name === name && a.namespace === namespace));
}

export function createElement(tag: string, attrs: Record<string, string> = {}, namespace: string = NS.html): Element {
  return ta.createElement(
    tag,
    namespace as html.NS,
    Object.entries(attrs).map(([name, value]) => ({ name, value })),
  );
}

export function appendChild(parent: ParentNode, child: ChildNode): void {
  if (child.parentNode) detach(child);
  ta.appendChild(parent, child);
}

export function appendText(parent: ParentNode, text: string): void {
  ta.insertText(parent, text);
}

export function detach(node: ChildNode): void {
  ta.detachNode(node);
}

/** Replaces `el` by its children (an element we cannot keep whose text we must). */
export function unwrap(el: Element): void {
  const parent = el.parentNode;
  if (!parent) return;
  const at = parent.childNodes.indexOf(el);
  const kids = el.childNodes;
  for (const k of kids) k.parentNode = parent;
  parent.childNodes.splice(at, 1, ...kids);
  el.childNodes = [];
  el.parentNode = null;
}

/**
 * Depth-first walk in document order. The callback may unwrap the element it is given (its
 * children are still visited) or detach it and return 'skip' (they are not).
 */
export function walkElements(root: ParentNode, visit: (el: Element) => void | 'skip'): void {
  const stack: ChildNode[] = [...root.childNodes].reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!isElement(n)) continue;
    const kids = n.childNodes.slice();
    if (visit(n) === 'skip') continue;
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}

export function findElement(root: ParentNode, pred: (el: Element) => boolean): Element | undefined {
  const stack: ChildNode[] = [...root.childNodes].reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!isElement(n)) continue;
    if (pred(n)) return n;
    for (let i = n.childNodes.length - 1; i >= 0; i--) stack.push(n.childNodes[i]!);
  }
  return undefined;
}

export function findAll(root: ParentNode, pred: (el: Element) => boolean): Element[] {
  const out: Element[] = [];
  walkElements(root, (el) => {
    if (pred(el)) out.push(el);
  });
  return out;
}

/**
 * Makes every text node's value one flat string. The parser builds a text node by appending each
 * run of characters it reads (a word, a space), which V8 keeps as a chain of pieces, several times
 * the text's size, until something reads it; a tree kept for later holds the text alone.
 */
export function flattenText(root: ParentNode): void {
  const stack: ChildNode[] = [...root.childNodes];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (isText(n)) {
      // A number conversion reads the string whole, and V8 flattens a chained string to read it.
      void Number(n.value);
    } else if ('childNodes' in n) {
      for (const c of n.childNodes) stack.push(c);
    }
  }
}

export function textContent(node: Node): string {
  if (isText(node)) return node.value;
  if (!('childNodes' in node)) return '';
  let s = '';
  for (const c of node.childNodes) s += textContent(c);
  return s;
}
