import { NCNAME } from './serialize.js';
import { getAttr, removeAttr, walkElements } from './tree.js';
import type { Document, Element } from './tree.js';

/** The ids of one content document after repair, and what became of the original ones. */
export interface IdMap {
  /** Original id → id in the output; links use the first element that carried an id. */
  rename: Map<string, string>;
  /** Every id in the output document. */
  ids: Set<string>;
}

/** Where an original id now lives, or undefined when the document has no such anchor. */
export function lookupId(map: IdMap, original: string): string | undefined {
  return map.rename.get(original) ?? (map.ids.has(original) ? original : undefined);
}

const IDREF_ATTRS = [
  'for',
  'headers',
  'list',
  'form',
  'aria-labelledby',
  'aria-describedby',
  'aria-controls',
  'aria-owns',
  'aria-flowto',
  'aria-activedescendant',
  'aria-details',
  'aria-errormessage',
  'itemref',
];

/**
 * Ids must be XML names (HTMLBook footnotes often start with a digit) and unique. Invalid ones
 * are renamed, duplicates after the first get a new name, and attributes naming ids (`for`,
 * `aria-*`, `headers` …) follow the rename or are dropped when their target does not exist.
 */
export function fixIds(doc: Document): IdMap {
  const rename = new Map<string, string>();
  const ids = new Set<string>();
  const elements: Element[] = [];
  walkElements(doc, (el) => {
    elements.push(el);
    const id = getAttr(el, 'id');
    if (id === undefined) return;
    const trimmed = id.trim();
    if (trimmed === '') {
      removeAttr(el, 'id');
      return;
    }
    if (NCNAME.test(trimmed) && !ids.has(trimmed)) {
      ids.add(trimmed);
      if (trimmed !== id) setAttrValue(el, 'id', trimmed);
      return;
    }
    const next = uniqueName(toXmlName(trimmed), ids);
    ids.add(next);
    setAttrValue(el, 'id', next);
    // A duplicate of an id already kept leaves links on the first; only a first invalid id is renamed.
    if (!ids.has(trimmed) && !rename.has(trimmed)) rename.set(trimmed, next);
  });
  const map = { rename, ids };
  for (const el of elements) {
    for (const name of IDREF_ATTRS) {
      const v = getAttr(el, name);
      if (v === undefined) continue;
      const refs = v
        .split(/\s+/)
        .filter(Boolean)
        .map((r) => lookupId(map, r))
        .filter((r): r is string => r !== undefined);
      if (refs.length === 0) removeAttr(el, name);
      else setAttrValue(el, name, refs.join(' '));
    }
    const usemap = getAttr(el, 'usemap');
    if (usemap !== undefined) removeAttr(el, 'usemap');
  }
  return map;
}

function setAttrValue(el: Element, name: string, value: string): void {
  const a = el.attrs.find((x) => x.name === name && x.namespace === undefined);
  if (a) a.value = value;
}

/** `raw` made into an XML name: invalid characters become `_`, a bad first character gets a prefix. */
export function toXmlName(raw: string, prefix = 'id-'): string {
  const cleaned = [...raw].map((c) => (/[\p{L}\p{N}\p{M}_.\-\u00b7]/u.test(c) ? c : '_')).join('');
  return /^[\p{L}_]/u.test(cleaned) ? cleaned : `${prefix}${cleaned}`;
}

export function uniqueName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}
