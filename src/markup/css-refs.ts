/**
 * The references of a stylesheet (or of a `style` attribute), found by css-tree's parser rather
 * than by patterns: `url()` anywhere in a value (rules nested in `@media`, `@supports`, `@layer`,
 * `@container`, `@font-face` `src:` lists), `@import` in its string and `url()` forms, and the
 * strings of `image-set()` and `src()`. Comments, strings and at-rule preludes other than
 * `@import`'s (`@namespace url(...)` names a namespace, it loads nothing) are not references.
 *
 * Each reference says where it is in the text and what to put there when it cannot be had, so the
 * EPUB writer (css.ts) can splice replacements into the author's text, and the chapter-mode
 * download (src/oreilly/asset-refs.ts) can list what a stylesheet pulls in, from one walk.
 *
 * What css-tree keeps as raw text (custom properties, rules nested without `&`, anything it could
 * not parse) is read token by token with css-tree's tokenizer, so its url() is found too.
 *
 * Hostile input stays bounded (src/epub/hostile.test.ts, css.test.ts):
 * - css-tree parses and walks recursively, so brackets nested deeper than MAX_DEPTH are blanked
 *   out for the parser (same length, so offsets hold) and their url()s found by the tokenizer
 *   (as plain `other` references: no real stylesheet nests that deep).
 * - css-tree builds each parse error's message from the whole text it was given (a cost linear in
 *   its length, per error), so the text is parsed in pieces of a few kilobytes of whole top-level
 *   statements, and once the errors have cost ERROR_BUDGET the rest is read by the tokenizer alone,
 *   with the same rules for `@import`, `@font-face` and `@namespace`.
 */
// The parts by their own entry points: the package's main one also builds the lexer from its
// syntax data, about 6 MB of every thread that loads it (main and build), which nothing here uses.
import parse from 'css-tree/parser';
import walk from 'css-tree/walker';
import { tokenize, tokenTypes as T } from 'css-tree/tokenizer';
import { string as cssString, url as cssUrl } from 'css-tree/utils';
import type { Atrule, CssNode, WalkContext } from 'css-tree';

export type CssRefUse = 'font' | 'import' | 'other';

/** Replace [start, end) of the text with `text`. */
export interface CssEdit {
  start: number;
  end: number;
  text: string;
}

export interface CssRef {
  /** The reference as the author meant it (escapes decoded). */
  value: string;
  use: CssRefUse;
  /** Where the reference is written: a `url()` (or `@import` string), or a string of `image-set()`/`src()`. */
  start: number;
  end: number;
  form: 'url' | 'string';
  /** What to do when it cannot be had: drop the `@import` or the `@font-face` rule, or put `none`. */
  fail: CssEdit;
}

/** Brackets deeper than any real stylesheet nests; each level costs css-tree a few stack frames. */
const MAX_DEPTH = 64;
/** Parse-error cost, in characters of fragment css-tree renders, before the parser is given up. */
const ERROR_BUDGET = 20_000_000;
/** Each error's fixed cost (an Error and its stack) counted as this many characters. */
const ERROR_COST = 10_000;
/** Statements are parsed in groups this long: one parse call per tiny statement costs more. */
const MIN_CHUNK = 4096;

// Cheap test for "nothing to find": every reference starts with one of these.
const MAY_REFER = /url\(|@import|image-set\(|src\(/i;

const OPENERS = new Map<number, number>([
  [T.Function, T.RightParenthesis],
  [T.LeftParenthesis, T.RightParenthesis],
  [T.LeftSquareBracket, T.RightSquareBracket],
  [T.LeftCurlyBracket, T.RightCurlyBracket],
]);

/** A top-level statement the tokenizer alone must treat apart if the parser is given up. */
interface Statement {
  end: number;
  /** The at-rule (lowercase name): import, font-face, namespace or charset. */
  at: string;
  atStart: number;
}

/**
 * What one parse is given: whole top-level statements (rules, at-rules, or the declarations of a
 * `style` attribute), at least MIN_CHUNK characters unless the text ends.
 */
interface Chunk {
  start: number;
  end: number;
  special: Statement[];
}

type Mode = 'stylesheet' | 'declarations';

class BudgetSpent extends Error {}

/** The references of `css`, in text order. */
export function cssReferences(css: string): CssRef[] {
  if (!MAY_REFER.test(css)) return [];
  // A text with no `{` token is a declaration list (a `style` attribute).
  let prepared = prepare(css, css.includes('{') ? 'stylesheet' : 'declarations');
  if (prepared.mode === 'stylesheet' && !prepared.sawBlock) prepared = prepare(css, 'declarations');
  const { text, deep, chunks, mode } = prepared;
  const out: CssRef[] = [];
  let cost = 0;
  let parsing = true;
  for (const chunk of chunks) {
    if (parsing) {
      try {
        walkChunk(text, chunk, mode, out, (len) => {
          cost += len + ERROR_COST;
          if (cost > ERROR_BUDGET) throw new BudgetSpent();
        });
        continue;
      } catch (err) {
        if (!(err instanceof BudgetSpent) && !(err instanceof SyntaxError)) throw err;
        parsing = false;
        dropFrom(out, chunk.start);
      }
    }
    scanChunk(text, chunk, out);
  }
  for (const [start, end] of deep) scanValues(css, start, end, 'other', null, out);
  return deep.length > 0 ? out.sort((a, b) => a.start - b.start) : out;
}

/** Forgets what a walk given up half-way found in its chunk. */
function dropFrom(out: CssRef[], start: number): void {
  while (out.length > 0 && out[out.length - 1]!.start >= start) out.pop();
}

const SPECIAL = new Set(['import', 'font-face', 'namespace', 'charset']);

/**
 * One tokenizer pass: the text the parser sees (over-deep brackets blanked), those blanked ranges,
 * and the chunks of top-level statements.
 */
function prepare(css: string, mode: Mode): { text: string; deep: [number, number][]; chunks: Chunk[]; mode: Mode; sawBlock: boolean } {
  const closers: number[] = [];
  const deep: [number, number][] = [];
  let deepStart = -1;
  let sawBlock = false;
  const chunks: Chunk[] = [];
  let chunk: Chunk = { start: 0, end: 0, special: [] };
  // The statement being read: empty so far, or the at-rule it is.
  let empty = true;
  let at: string | null = null;
  let atStart = 0;
  const endStatement = (end: number) => {
    if (at !== null && SPECIAL.has(at)) chunk.special.push({ end, at, atStart });
    empty = true;
    at = null;
    if (end - chunk.start >= MIN_CHUNK) {
      chunks.push({ ...chunk, end });
      chunk = { start: end, end, special: [] };
    }
  };
  tokenize(css, (type, start, end) => {
    const closer = OPENERS.get(type);
    if (closer !== undefined) {
      if (type === T.LeftCurlyBracket) sawBlock = true;
      if (closers.length === MAX_DEPTH && deepStart < 0) deepStart = start;
      closers.push(closer);
    } else if (closers.length > 0 && type === closers[closers.length - 1]) {
      closers.pop();
      if (closers.length === MAX_DEPTH && deepStart >= 0) {
        deep.push([deepStart, end]);
        deepStart = -1;
      }
    }
    const top = closers.length === 0;
    if (empty && (top || closers.length === 1) && type !== T.WhiteSpace && type !== T.Comment && type !== T.CDO && type !== T.CDC && type !== T.Semicolon) {
      // The first token of a statement (an opener such as `{` is already counted).
      empty = false;
      if (type === T.AtKeyword) {
        at = css.slice(start + 1, end).toLowerCase();
        atStart = start;
      }
    }
    if (top && (type === T.RightCurlyBracket || (type === T.Semicolon && (mode === 'declarations' || at !== null)))) endStatement(end);
  });
  if (deepStart >= 0) deep.push([deepStart, css.length]);
  if (!empty) endStatement(css.length);
  if (chunk.start < css.length) chunks.push({ ...chunk, end: css.length });
  let text = css;
  if (deep.length > 0) {
    const parts: string[] = [];
    let from = 0;
    for (const [start, end] of deep) {
      parts.push(css.slice(from, start), ' '.repeat(end - start));
      from = end;
    }
    parts.push(css.slice(from));
    text = parts.join('');
  }
  return { text, deep, chunks, mode, sawBlock };
}

const lower = (s: string) => s.toLowerCase();
const isImageSet = (name: string) => name === 'image-set' || name === '-webkit-image-set';

function walkChunk(text: string, chunk: Chunk, mode: Mode, out: CssRef[], onError: (len: number) => void): void {
  const len = chunk.end - chunk.start;
  const ast = parse(text.slice(chunk.start, chunk.end), {
    context: mode === 'stylesheet' ? 'stylesheet' : 'declarationList',
    positions: true,
    offset: chunk.start,
    // Selectors never refer to files, and the one prelude that does (@import's) is read by tokens.
    parseRulePrelude: false,
    parseAtrulePrelude: false,
    onParseError: () => onError(len),
  });
  const range = (node: CssNode): [number, number] => [node.loc!.start.offset, node.loc!.end.offset];
  walk(ast, function (this: WalkContext, node: CssNode) {
    const atrule: Atrule | null = this.atrule;
    if (node.type === 'Atrule') {
      if (lower(node.name) === 'import' && node.prelude) {
        const [start, end] = range(node);
        firstRef(text, ...range(node.prelude), { start, end, text: '' }, out);
      }
      return;
    }
    // Selectors and at-rule preludes are never resources, except @import's (above).
    if (this.atrulePrelude || atrule?.prelude === node || this.rule?.prelude === node) return this.skip;
    const font = atrule !== null && lower(atrule.name) === 'font-face';
    const use: CssRefUse = font ? 'font' : 'other';
    const fontFail = font ? { start: range(atrule)[0], end: range(atrule)[1], text: '' } : null;
    const fn = this.function?.type === 'Function' ? this.function : null;
    const fnName = fn ? lower(fn.name) : '';
    const group = fn && (isImageSet(fnName) || fnName === 'src') ? { start: range(fn)[0], end: range(fn)[1], text: 'none' } : null;
    if (node.type === 'Url') {
      const [start, end] = range(node);
      push(out, node.value, use, start, end, 'url', fontFail ?? group ?? { start, end, text: 'none' });
    } else if (node.type === 'String' && fn && group) {
      // image-set() takes strings as URLs; src() takes one string, then modifiers.
      if (fnName === 'src' && fn.children.first !== node) return;
      push(out, node.value, use, ...range(node), 'string', fontFail ?? group);
    } else if (node.type === 'Raw') {
      // What css-tree could not parse (and custom properties) is kept as text; its url() still loads.
      scanValues(text, ...range(node), use, fontFail, out);
    }
    return undefined;
  });
}

function push(out: CssRef[], value: string, use: CssRefUse, start: number, end: number, form: CssRef['form'], fail: CssEdit): void {
  if (value.trim() !== '') out.push({ value, use, start, end, form, fail });
}

/** A chunk the parser was not given: its references by the tokenizer alone. */
function scanChunk(text: string, chunk: Chunk, out: CssRef[]): void {
  let from = chunk.start;
  for (const st of chunk.special) {
    scanValues(text, from, st.atStart, 'other', null, out);
    const whole = { start: st.atStart, end: st.end, text: '' };
    if (st.at === 'import') firstRef(text, st.atStart + '@import'.length, st.end, whole, out);
    else if (st.at === 'font-face') scanValues(text, st.atStart, st.end, 'font', whole, out);
    from = st.end;
  }
  scanValues(text, from, chunk.end, 'other', null, out);
}

/** The href of an `@import` prelude: its first token, a string or a `url()`. */
function firstRef(text: string, from: number, to: number, fail: CssEdit, out: CssRef[]): void {
  const src = text.slice(from, to);
  let state = 'start' as 'start' | 'url(' | 'url("' | 'done';
  let fnStart = 0;
  let value = '';
  tokenize(src, (type, s, e) => {
    if (state === 'done' || type === T.WhiteSpace || type === T.Comment) return;
    const tok = src.slice(s, e);
    if (state === 'start' && type === T.String) push(out, cssString.decode(tok), 'import', from + s, from + e, 'url', fail);
    else if (state === 'start' && type === T.Url) push(out, cssUrl.decode(tok), 'import', from + s, from + e, 'url', fail);
    else if (state === 'start' && type === T.Function && lower(tok) === 'url(') {
      fnStart = s;
      state = 'url(';
      return;
    } else if (state === 'url(' && type === T.String) {
      value = cssString.decode(tok);
      state = 'url("';
      return;
    } else if (state === 'url("' && type === T.RightParenthesis) push(out, value, 'import', from + fnStart, from + e, 'url', fail);
    state = 'done';
  });
  if (state === 'url("') push(out, value, 'import', from + fnStart, to, 'url', fail);
}

interface Frame {
  closer: number;
  kind: 'url' | 'set' | 'src' | 'other';
  start: number;
  /** For a `url(` function: 0 before its string, 1 after it, 2 not a url after all. */
  state: number;
  value: string;
  /** The innermost image-set()/src() around (or this one): replaced by `none` when a reference fails. */
  group: CssEdit | null;
  seen: boolean;
}

/**
 * The references in [from, to) of `text` by its tokens: url(), and the strings of image-set() and
 * src(). Iterative, so any nesting is fine. `fail` (a font rule) replaces the default failure edit.
 */
function scanValues(text: string, from: number, to: number, use: CssRefUse, fail: CssEdit | null, out: CssRef[]): void {
  const src = text.slice(from, to);
  const stack: Frame[] = [];
  tokenize(src, (type, s, e) => {
    const start = from + s;
    const end = from + e;
    const top = stack[stack.length - 1];
    if (top?.kind === 'url' && top.state < 2) {
      if (type === T.WhiteSpace || type === T.Comment) return;
      if (top.state === 0 && type === T.String) {
        top.value = cssString.decode(src.slice(s, e));
        top.state = 1;
        return;
      }
      if (top.state === 1 && type === T.RightParenthesis) {
        stack.pop();
        push(out, top.value, use, top.start, end, 'url', fail ?? top.group ?? { start: top.start, end, text: 'none' });
        return;
      }
      top.state = 2;
    }
    const closer = OPENERS.get(type);
    if (closer !== undefined) {
      const name = type === T.Function ? lower(src.slice(s, e - 1)) : '';
      const kind = name === 'url' ? 'url' : isImageSet(name) ? 'set' : name === 'src' ? 'src' : 'other';
      const group = kind === 'set' || kind === 'src' ? { start, end: to, text: 'none' } : (top?.group ?? null);
      stack.push({ closer, kind, start, state: 0, value: '', group, seen: false });
    } else if (top && type === top.closer) {
      stack.pop();
      if (top.kind === 'set' || top.kind === 'src') top.group!.end = end;
    } else if (type === T.Url) {
      push(out, cssUrl.decode(src.slice(s, e)), use, start, end, 'url', fail ?? top?.group ?? { start, end, text: 'none' });
    } else if (type === T.String && top && (top.kind === 'set' || (top.kind === 'src' && !top.seen))) {
      top.seen = true;
      push(out, cssString.decode(src.slice(s, e)), use, start, end, 'string', fail ?? top.group!);
    }
  });
  // A url("...") the text ends inside of.
  const last = stack[stack.length - 1];
  if (last?.kind === 'url' && last.state === 1)
    push(out, last.value, use, last.start, to, 'url', fail ?? last.group ?? { start: last.start, end: to, text: 'none' });
}
