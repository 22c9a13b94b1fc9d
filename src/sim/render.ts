import { posix } from 'node:path';
import { escapeHtml, escapeXhtml, escapeXml } from './markup.js';
import type { Block, ChapterModel, Inline } from './chapter-model.js';

/**
 * How one rendering spells what differs between the package XHTML and the chapter-API HTML:
 * entities, void elements, footnote ids and the form of every reference. Text is never changed.
 */
export interface Dialect {
  text(s: string): string;
  /** Closes a void element the XML way or leaves it open the HTML way. */
  close: '/>' | '>';
  image(path: string, n: number): string;
  chapter(index: number, fragment: string, n: number): string;
  noteId(chapter: number, n: number): string;
  noteRefId(chapter: number, n: number): string;
}

/** Package-relative reference from the file at `from` to the file at `to` (both full paths). */
export function relativeRef(from: string, to: string): string {
  if (to.startsWith('/')) return to;
  return posix.relative(posix.dirname(from), to);
}

/** The package's own spelling: XML escapes, closed void elements, XML-name ids, relative refs. */
export function xhtmlDialect(chapterPaths: readonly string[], self: string): Dialect {
  return {
    text: escapeXhtml,
    close: '/>',
    image: (path) => relativeRef(self, path),
    chapter: (index, fragment) => {
      const target = chapterPaths[index]!;
      return target === self ? `#${fragment}` : `${relativeRef(self, target)}#${fragment}`;
    },
    noteId: (c, n) => `fn-${c}-${n}`,
    noteRefId: (c, n) => `fnref-${c}-${n}`,
  };
}

export interface ChapterApiContext {
  /** e.g. `http://127.0.0.1:8765` */
  baseUrl: string;
  bookId: string;
  slug: string;
  chapterPaths: readonly string[];
  self: string;
}

export const filesPrefix = (bookId: string) => `/api/v2/epubs/urn:orm:book:${bookId}/files/`;

/**
 * The chapter API's spelling: named entities, open void elements, digit-leading footnote ids (fine
 * in HTML, not in the package), and references in a mix of absolute, root-relative and relative forms.
 */
export function htmlDialect(ctx: ChapterApiContext): Dialect {
  const files = filesPrefix(ctx.bookId);
  return {
    text: escapeHtml,
    close: '>',
    image: (path, n) => {
      if (path.startsWith('/')) return path;
      switch (n % 3) {
        case 0:
          return `${ctx.baseUrl}${files}${path}`;
        case 1:
          return `${files}${path}`;
        default:
          return relativeRef(ctx.self, path);
      }
    },
    chapter: (index, fragment, n) => {
      const target = ctx.chapterPaths[index]!;
      if (target === ctx.self) return `#${fragment}`;
      return n % 2 === 0 ? `${relativeRef(ctx.self, target)}#${fragment}` : `/library/view/${ctx.slug}/${ctx.bookId}/${target}#${fragment}`;
    },
    noteId: (c, n) => `${c}-fn-${n}`,
    noteRefId: (c, n) => `${c}-fnref-${n}`,
  };
}

class Writer {
  private images = 0;
  private links = 0;
  constructor(
    private readonly d: Dialect,
    private readonly chapter: number,
  ) {}

  inline(inl: Inline[]): string {
    return inl
      .map((i) => {
        if (typeof i === 'string') return this.d.text(i);
        switch (i.t) {
          case 'em':
          case 'strong':
          case 'code':
            return `<${i.t}>${this.d.text(i.text)}</${i.t}>`;
          case 'xref':
            return `<a data-type="xref" href="${escapeXml(this.d.chapter(i.chapter, `sec-${i.chapter + 1}-${i.section + 1}`, this.links++))}">${this.d.text(i.text)}</a>`;
          case 'noteref':
            return `<sup><a data-type="noteref" id="${this.d.noteRefId(this.chapter, i.n)}" href="#${this.d.noteId(this.chapter, i.n)}">${i.n}</a></sup>`;
        }
      })
      .join('');
  }

  block(b: Block): string {
    switch (b.t) {
      case 'p':
        return `<p>${this.inline(b.inl)}</p>\n`;
      case 'figure':
        return `<figure id="${b.id}"><img src="${escapeXml(this.d.image(b.src, this.images++))}" alt="${escapeXml(b.alt)}"${this.d.close}\n<figcaption>${this.d.text(b.caption)}</figcaption></figure>\n`;
      case 'code':
        return `<pre data-type="programlisting" data-code-language="${b.lang}">${this.d.text(b.code)}</pre>\n`;
      case 'quote':
        return `<blockquote><p>${b.lines.map((l) => this.d.text(l)).join(`<br${this.d.close}\n`)}</p></blockquote>\n`;
      case 'ul':
        return `<ul>\n${b.items.map((i) => `<li>${this.inline(i)}</li>\n`).join('')}</ul>\n`;
      case 'raw':
        return `${b.markup}\n`;
    }
  }
}

/**
 * The chapter's `<section data-type="chapter">`. With `previewBlocks`, only that many blocks are
 * written and the last paragraph is cut short with "…" (what a stale token gets in preview mode).
 */
export function renderSection(m: ChapterModel, d: Dialect, previewBlocks?: number): string {
  const number = m.index + 1;
  const w = new Writer(d, number);
  const out: string[] = [`<section data-type="chapter" epub:type="chapter" id="${m.id}">\n<h1>${d.text(m.title)}</h1>\n`];
  if (previewBlocks !== undefined) {
    const blocks = [...m.intro, ...m.sections.flatMap((s) => s.blocks)].filter((b) => b.t === 'p').slice(0, previewBlocks);
    blocks.forEach((b, i) => {
      if (i < blocks.length - 1 || b.t !== 'p') {
        out.push(w.block(b));
        return;
      }
      const html = w.inline(b.inl.filter((x): x is string => typeof x === 'string'));
      out.push(`<p>${html.slice(0, Math.max(40, Math.floor(html.length / 3))).replace(/&[a-z#0-9]*$/i, '')}\u2026</p>\n`);
    });
    out.push('</section>\n');
    return out.join('');
  }
  for (const b of m.intro) out.push(w.block(b));
  for (const s of m.sections) {
    out.push(`<section data-type="sect1" id="${s.id}">\n<h2>${d.text(s.title)}</h2>\n`);
    for (const b of s.blocks) out.push(w.block(b));
    out.push('</section>\n');
  }
  if (m.notes.length > 0) {
    out.push('<div data-type="footnotes">\n');
    m.notes.forEach((n, i) => {
      out.push(`<p data-type="footnote" id="${d.noteId(number, i + 1)}"><sup><a href="#${d.noteRefId(number, i + 1)}">${i + 1}</a></sup> ${w.inline(n)}</p>\n`);
    });
    out.push('</div>\n');
  }
  out.push('</section>\n');
  return out.join('');
}

export const PAYWALL_XHTML =
  '<div class="controls"><div data-testid="preview-paywall"><p>This is a preview. Sign in or start a free trial to keep reading.</p><a href="/login/">Sign In</a></div></div>\n';

export const PAYWALL_HTML =
  '<div class="controls"><div data-testid="preview-paywall"><p>This is a preview. Sign in or start a free trial to keep reading.</p><a href="/login/">Sign In</a></div></div>';

export interface XhtmlDocOptions {
  language: string;
  title: string;
  stylesheet: string;
  body: string;
}

export function xhtmlDocument(o: XhtmlDocOptions): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n' +
    `<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="${o.language}" lang="${o.language}">\n` +
    `<head>\n<title>${escapeXhtml(o.title)}</title>\n<link rel="stylesheet" type="text/css" href="${escapeXml(o.stylesheet)}"/>\n</head>\n` +
    `<body data-type="book">\n${o.body}</body>\n</html>\n`
  );
}

/** The chapter API's page: no XML declaration, the content inside `div#sbo-rt-content`. */
export function chapterPage(stylesheets: string[], body: string, after = ''): string {
  const links = stylesheets.map((s) => `<link rel="stylesheet" type="text/css" href="${escapeXml(s)}">`).join('');
  return `<html><head>${links}</head><body><div id="sbo-rt-content">${body}</div>${after}</body></html>\n`;
}
