import { rewriteCss } from './css.js';
import type { CssResolver } from './css.js';
import { lookupId, toXmlName, uniqueName } from './html/ids.js';
import type { IdMap } from './html/ids.js';
import type { DocRefs } from './html/refs.js';
import type { Document } from './html/tree.js';
import { KINDLE_CSS, KINDLE_CSS_NAME } from './kindle.js';
import { encodeFragment, extensionOf, printable, relativeHref, zipSafePath } from './paths.js';
import { PLACEHOLDER_NAME, PLACEHOLDER_SVG } from './placeholder.js';
import { resolveRef } from './resolve.js';
import type { UrlToPath } from './resolve.js';
import type { Kind } from './sniff.js';

/** A parsed content document, between repair (ids known) and serialisation. */
export interface ContentDoc {
  /**
   * The parsed document; released (null) once serialised. Past the book's budget of kept documents
   * (BUILD_KEPT_DOCUMENT_CHARS), a document keeps `rebuild` instead: its tree is dropped once its
   * ids are known and made again, the same, when it is written, so a big book's trees do not all
   * live at once.
   */
  tree: Document | null;
  rebuild?: () => Document;
  ids: IdMap;
  /** The URL relative references in this document resolve against. */
  base: string;
  title: string;
  svg: boolean;
  mathml: boolean;
}

/** One file of the book being assembled. */
export interface Item {
  /** Its path in the source (the server's package path); the key references resolve to. */
  source: string;
  /** Its path in our zip. */
  out: string;
  /** Manifest id. */
  id: string;
  mediaType: string;
  kind: Kind;
  /** Final bytes; content documents and stylesheets get theirs when written out. */
  data: Uint8Array | null;
  properties: Set<string>;
  doc?: ContentDoc;
  /** A stylesheet's text and the URL its references resolve against. */
  css?: { text: string; base: string };
  /** Some hyperlink or TOC entry points here: a content document must then be in the spine. */
  linked?: boolean;
}

/**
 * The book being assembled, shared by both modes: which files exist under which source path,
 * where each goes in the zip, what is missing (each gap recorded once), and how a document's
 * references are answered.
 */
export class Book {
  readonly items = new Map<string, Item>();
  private readonly gapSet = new Set<string>();
  private readonly missing = new Set<string>();
  private readonly outTaken = new Set<string>();
  private readonly idTaken = new Set<string>();
  private readonly byStem = new Map<string, Item | null>();
  private placeholder: Item | undefined;
  private kindle: Item | undefined;

  /** `generatedDir`: where our own files (placeholder, e-reader CSS) go, next to the OPF. */
  constructor(private readonly generatedDir: string) {}

  get gaps(): string[] {
    return [...this.gapSet];
  }

  gap(text: string): void {
    this.gapSet.add(text);
  }

  /** A file we do not have: recorded once, and references to it get a placeholder or are dropped. */
  markMissing(source: string, reason: string, shown = source): void {
    if (this.missing.has(source)) return;
    this.missing.add(source);
    this.gap(`${printable(shown)}: ${reason}`);
  }

  isMissing(source: string): boolean {
    return this.missing.has(source);
  }

  /** A unique zip path for `wanted` (case-insensitively unique: some file systems fold case). */
  reserve(wanted: string): string {
    const safe = zipSafePath(wanted);
    let out = safe;
    const ext = extensionOf(safe);
    const stem = safe.slice(0, safe.length - ext.length);
    for (let i = 2; this.outTaken.has(out.toLowerCase()) || out.toLowerCase() === 'mimetype' || out.toLowerCase().startsWith('meta-inf/'); i++) {
      out = `${stem}-${i}${ext}`;
    }
    this.outTaken.add(out.toLowerCase());
    return out;
  }

  manifestId(wanted: string | undefined, out: string): string {
    const base = wanted !== undefined && wanted !== '' ? toXmlName(wanted, 'id-') : toXmlName(out.replace(/\//g, '_'), 'f-');
    const id = uniqueName(base, this.idTaken);
    this.idTaken.add(id);
    return id;
  }

  add(source: string, init: { mediaType: string; kind: Kind; data: Uint8Array | null; id?: string; out?: string }): Item {
    const out = this.reserve(init.out ?? source);
    const item: Item = {
      source,
      out,
      id: this.manifestId(init.id, out),
      mediaType: init.mediaType,
      kind: init.kind,
      data: init.data,
      properties: new Set(),
    };
    this.items.set(source, item);
    if (init.kind === 'xhtml') {
      const stem = stemOf(source);
      this.byStem.set(stem, this.byStem.has(stem) ? null : item);
    }
    return item;
  }

  /** The item at `source`; a document also by its path without extension (`ch01.html` → `ch01.xhtml`). */
  find(source: string): Item | undefined {
    return this.items.get(source) ?? this.byStem.get(stemOf(source)) ?? undefined;
  }

  placeholderImage(): Item {
    this.placeholder ??= this.add(`\u0000${PLACEHOLDER_NAME}`, {
      mediaType: 'image/svg+xml',
      kind: 'svg',
      data: PLACEHOLDER_SVG,
      out: join(this.generatedDir, PLACEHOLDER_NAME),
      id: 'bookd-missing-image',
    });
    return this.placeholder;
  }

  kindleCss(): Item {
    this.kindle ??= this.add(`\u0000${KINDLE_CSS_NAME}`, {
      mediaType: 'text/css',
      kind: 'css',
      data: KINDLE_CSS,
      out: join(this.generatedDir, KINDLE_CSS_NAME),
      id: 'bookd-kindle-css',
    });
    return this.kindle;
  }

  /** Answers the references of the content document `doc` (docs/EPUB.md "Every reference resolves inside the package"). */
  refs(doc: Item, toPath: UrlToPath): DocRefs {
    const content = doc.doc!;
    const base = content.base;
    const placeholder = () => relativeHref(doc.out, this.placeholderImage().out);
    return {
      link: (ref) => {
        const t = resolveRef(ref, base, toPath);
        if (t.kind === 'self') {
          const id = t.fragment === '' ? undefined : lookupId(content.ids, t.fragment);
          return id === undefined ? null : `#${encodeFragment(id)}`;
        }
        if (t.kind === 'remote' || t.kind === 'link-only') return t.url;
        if (t.kind !== 'local') return null;
        const target = this.find(t.path);
        if (!target?.doc) return null;
        const fragment = t.fragment === undefined || t.fragment === '' ? undefined : lookupId(target.doc.ids, t.fragment);
        if (target === doc) return fragment === undefined ? relativeHref(doc.out, doc.out) : `#${encodeFragment(fragment)}`;
        target.linked = true;
        return relativeHref(doc.out, target.out, fragment);
      },
      image: (ref) => {
        const t = resolveRef(ref, base, toPath);
        if (t.kind === 'data') return ref.trim();
        if (t.kind === 'local') {
          const item = this.find(t.path);
          if (item && (item.kind === 'image' || item.kind === 'svg') && item.data !== null) return relativeHref(doc.out, item.out);
          if (!item) this.markMissing(t.path, 'referenced but not in the package, replaced by a placeholder');
          else if (!this.isMissing(item.source)) this.markMissing(item.source, `not an image (${item.mediaType}), replaced by a placeholder`);
        } else if (t.kind === 'remote') {
          this.gap(`${printable(t.url)}: remote image not fetched, replaced by a placeholder`);
        } else {
          this.gap(`${printable(ref)}: not a usable image reference, replaced by a placeholder`);
        }
        return placeholder();
      },
      stylesheet: (ref) => this.resourceHref(doc.out, ref, base, toPath, ['css'], 'stylesheet'),
      embedded: (ref) => this.resourceHref(doc.out, ref, base, toPath, ['image', 'svg', 'xhtml', 'audio', 'video'], 'embedded resource'),
      css: (text) => rewriteCss(text, this.cssResolver(doc.out, base, toPath)),
    };
  }

  private resourceHref(from: string, ref: string, base: string, toPath: UrlToPath, kinds: Kind[], what: string): string | null {
    const t = resolveRef(ref, base, toPath);
    if (t.kind === 'local') {
      const item = this.find(t.path);
      if (item && kinds.includes(item.kind) && (item.data !== null || item.doc !== undefined || item.css !== undefined)) {
        if (item.kind === 'xhtml') item.linked = true;
        return relativeHref(from, item.out);
      }
      if (!item) this.markMissing(t.path, `referenced but not in the package, ${what} dropped`);
    } else if (t.kind === 'remote') {
      this.gap(`${printable(t.url)}: remote ${what} not fetched`);
    }
    return null;
  }

  /** Answers url() and @import in CSS at zip path `from`, resolving against `base`. */
  cssResolver(from: string, base: string, toPath: UrlToPath): CssResolver {
    return (ref, use) => {
      const t = resolveRef(ref, base, toPath);
      if (t.kind === 'data') return ref.trim();
      if (t.kind === 'self') return ref.trim();
      const what = use === 'font' ? 'font' : use === 'import' ? 'stylesheet' : 'image';
      if (t.kind === 'local') {
        const item = this.find(t.path);
        const fits =
          item !== undefined &&
          (item.data !== null || item.css !== undefined) &&
          (use === 'font' ? item.kind === 'font' : use === 'import' ? item.kind === 'css' : ['image', 'svg', 'font'].includes(item.kind));
        if (fits) return relativeHref(from, item.out);
        if (!item)
          this.markMissing(
            t.path,
            use === 'other' ? 'referenced but not in the package, replaced by a placeholder' : `referenced but not in the package, ${what} dropped`,
          );
      } else if (t.kind === 'remote') {
        this.gap(`${printable(t.url)}: remote ${what} not fetched`);
      } else {
        return null;
      }
      return use === 'other' ? relativeHref(from, this.placeholderImage().out) : null;
    };
  }
}

function stemOf(path: string): string {
  const ext = extensionOf(path);
  return ['.html', '.xhtml', '.htm', '.xml'].includes(ext) ? path.slice(0, path.length - ext.length) : path;
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
