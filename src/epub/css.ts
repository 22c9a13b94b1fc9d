/**
 * Rewrites the references of a stylesheet (or a `style` attribute): `url()` and `@import`.
 * `resolve` returns the new href, or null when the target cannot be had: an `@import` is then
 * removed, and an `@font-face` rule is removed whole (a font rule without its font is invalid).
 *
 * The references are found by css-tree (css-refs.ts) and the replacements spliced into the
 * author's text, so everything else (formatting, comments, rules css-tree does not know) is kept
 * as written; each replacement is a whole token or a whole rule, so the result parses as the
 * input did.
 */
import { cssReferences } from '../markup/css-refs.js';
import type { CssEdit, CssRefUse } from '../markup/css-refs.js';

export type { CssRefUse } from '../markup/css-refs.js';
export type CssResolver = (ref: string, use: CssRefUse) => string | null;

const escape = (href: string) => href.replace(/["\\\n]/g, (c) => `\\${c === '\n' ? 'a ' : c}`);

export function rewriteCss(css: string, resolve: CssResolver): string {
  const edits: CssEdit[] = [];
  for (const ref of cssReferences(css)) {
    const href = resolve(ref.value, ref.use);
    if (href === null) edits.push(ref.fail);
    else edits.push({ start: ref.start, end: ref.end, text: ref.form === 'url' ? `url("${escape(href)}")` : `"${escape(href)}"` });
  }
  if (edits.length === 0) return css;
  // An edit inside one already made (a url() of a font rule that goes whole) is moot.
  edits.sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: string[] = [];
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) continue;
    parts.push(css.slice(at, edit.start), edit.text);
    at = edit.end;
  }
  parts.push(css.slice(at));
  return parts.join('');
}
