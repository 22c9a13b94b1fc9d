import { filesPrefix } from './render.js';
import type { BookContent, ChapterEntry } from './package.js';
import { chapterPage, htmlDialect, PAYWALL_HTML, PAYWALL_XHTML, relativeRef, renderSection, xhtmlDialect, xhtmlDocument } from './render.js';

/** Paragraphs a preview keeps before it is cut short. */
export const PREVIEW_BLOCKS = 2;

/**
 * A chapter as the chapter API serves it (`content_url`): an HTML page, no XML declaration, the
 * chapter inside `div#sbo-rt-content`. With `preview`, the truncated page a stale token gets (with
 * the paywall marker unless `silent`).
 */
export function chapterApiPage(content: BookContent, ch: ChapterEntry, baseUrl: string, preview = false, silent = false): string {
  const dialect = htmlDialect({
    baseUrl,
    bookId: content.book.id,
    slug: content.book.slug,
    chapterPaths: content.chapters.map((x) => x.path),
    self: ch.path,
  });
  const css = `${baseUrl}${filesPrefix(content.book.id)}${content.plan.css}`;
  return chapterPage([css], renderSection(ch.model, dialect, preview ? PREVIEW_BLOCKS : undefined), preview && !silent ? PAYWALL_HTML : '');
}

/** The package XHTML of a chapter, truncated, as the files API serves it to a stale token in preview mode. */
export function previewXhtml(content: BookContent, ch: ChapterEntry, silent = false): string {
  return xhtmlDocument({
    language: content.book.language,
    title: ch.title,
    stylesheet: relativeRef(ch.path, content.plan.css),
    body:
      renderSection(
        ch.model,
        xhtmlDialect(
          content.chapters.map((x) => x.path),
          ch.path,
        ),
        PREVIEW_BLOCKS,
      ) + (silent ? '' : PAYWALL_XHTML),
  });
}
