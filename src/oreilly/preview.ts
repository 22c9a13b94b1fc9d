import { BookdError } from '../errors.js';

/**
 * Truncated "preview" chapters: the server did not accept the token but answered 200 anyway
 * (docs/SERVICE.md §3). Writing one into a book is the worst failure in this field, so any sign
 * of it fails the session, never the book.
 */

const PAYWALL = /data-testid\s*=\s*["']preview-paywall["']|<div[^>]*\bclass\s*=\s*["'](?:[^"']*\s)?controls(?:\s[^"']*)?["']/i;

/** Words a virtual page holds at the least; a chapter far below its page count was cut short. */
const MIN_WORDS_PER_PAGE = 60;

/** A run of non-space that holds a letter or a digit: one word. */
const WORD = /\S*[\p{L}\p{N}]\S*/gu;

export function visibleWords(html: string): number {
  const text = html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[#\w]+;/g, ' ');
  // Counted in one pass over the text: splitting it and testing every piece took three times as long.
  let words = 0;
  for (const _ of text.matchAll(WORD)) words++;
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
