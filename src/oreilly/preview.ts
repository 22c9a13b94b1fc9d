import { BookdError } from '../errors.js';

/**
 * Truncated "preview" chapters: the server did not accept the token but answered 200 anyway
 * (docs/SERVICE.md §3). Writing one into a book is the worst failure in this field, so any sign
 * of it fails the session, never the book.
 */

const PAYWALL = /data-testid\s*=\s*["']preview-paywall["']|<div[^>]*\bclass\s*=\s*["'](?:[^"']*\s)?controls(?:\s[^"']*)?["']/i;

/** Words a virtual page holds at the least; a chapter far below its page count was cut short. */
const MIN_WORDS_PER_PAGE = 60;

/** A script or style element with its content: nothing of it is read. */
const SCRIPT_OR_STYLE = /<(script|style)\b[\s\S]*?<\/\1>/gi;
/** A letter or a digit, tested on characters outside ASCII only. */
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;

/** Whitespace as JavaScript's `\s` has it (what separates words). */
function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** `[#\w]`: what an entity name or number is made of. */
function isEntityChar(c: number): boolean {
  return c === 35 || c === 95 || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * The words a reader sees: runs of non-space holding a letter or a digit, once script and style
 * elements, tags (`<` to the next `>`) and entities (`&name;`, `&#n;`) are taken out, each as a
 * space. Counted in one pass over the characters: a chapter page is counted on every fetch, and the
 * same count by regular expressions (replacing tags and entities, then matching every word) cost
 * about a tenth of the main thread's CPU in the scaling bench.
 */
export function visibleWords(html: string): number {
  // Script and style elements go first, as a whole: a `<` or `&` inside them means nothing.
  const text = html.includes('<') ? html.replace(SCRIPT_OR_STYLE, ' ') : html;
  const n = text.length;
  let words = 0;
  /** Inside a run of non-space, and whether it has held a letter or a digit so far. */
  let inRun = false;
  let counted = false;
  /** Where the next `>` is (n: none left), found once and reused until passed. */
  let nextClose = -1;
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (c === 60) {
      if (nextClose < i) {
        const at = text.indexOf('>', i + 1);
        nextClose = at < 0 ? n : at;
      }
      if (nextClose < n) {
        inRun = false;
        i = nextClose + 1;
        continue;
      }
    } else if (c === 38) {
      let j = i + 1;
      while (j < n && isEntityChar(text.charCodeAt(j))) j++;
      if (j > i + 1 && j < n && text.charCodeAt(j) === 59) {
        inRun = false;
        i = j + 1;
        continue;
      }
    }
    if (isSpace(c)) {
      inRun = false;
      i++;
      continue;
    }
    if (!inRun) {
      inRun = true;
      counted = false;
    }
    // A pair of surrogates is one character, tested whole (letters outside the BMP exist).
    const wide = c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    if (!counted) {
      const letter = c < 128 ? (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) : LETTER_OR_DIGIT.test(text.slice(i, i + wide));
      if (letter) {
        counted = true;
        words++;
      }
    }
    i += wide;
  }
  return words;
}

/**
 * Throws an auth-class error when `html` is a preview instead of the chapter; returns its visible
 * words (counted once, for the caller's totals too).
 */
export function assertNotPreview(html: string, where: string, virtualPages = 0): number {
  if (PAYWALL.test(html)) {
    throw new BookdError('auth', `the server sent a truncated preview instead of ${where} (sign-in block present): the session is not accepted`);
  }
  const words = visibleWords(html);
  if (virtualPages >= 2) {
    if (words < virtualPages * MIN_WORDS_PER_PAGE && /(…|\.\.\.)\s*(<\/[^>]+>\s*)*$/.test(html.replace(/<\/(body|html|div)>\s*/gi, '').trimEnd())) {
      throw new BookdError(
        'auth',
        `the server sent ${words} words for ${where}, far fewer than its ${virtualPages} pages hold: a truncated preview, the session is not accepted`,
      );
    }
  }
  return words;
}
