import type { SimBook, SimCollection } from './catalogue.js';
import type { BookContent, ChapterEntry, PackageFile } from './package.js';
import { escapeXml } from './markup.js';
import { filesPrefix } from './render.js';

/** JSON bodies of the API endpoints, shaped as docs/SERVICE.md §2 describes the live service's. */

export const ourn = (id: string) => `urn:orm:book:${id}`;
export const bookPrefix = (id: string) => `/api/v2/epubs/urn:orm:book:${id}`;

/** How the chapter API's `content_url` differs from the package file's URL (see README). */
const CHAPTER_VIEW = { param: 'format', value: 'html' } as const;

export function isChapterView(query: URLSearchParams): boolean {
  return query.get(CHAPTER_VIEW.param) === CHAPTER_VIEW.value;
}

export function fileUrl(base: string, id: string, path: string): string {
  return `${base}${filesPrefix(id)}${path.split('/').map(encodeURIComponent).join('/')}`;
}

export function chapterContentUrl(base: string, id: string, path: string): string {
  return `${fileUrl(base, id, path)}?${CHAPTER_VIEW.param}=${CHAPTER_VIEW.value}`;
}

/** The thumbnail; `…/600/` is the full-resolution cover. */
export function coverUrl(base: string, id: string): string {
  return `${base}/library/cover/${id}/`;
}

/** `OEBPS%2ftext%2fch01.xhtml`: a path as the end of an `ourn` spells it under `encoded-ourn`. */
export function encodedPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('%2f');
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** DRF-style limit/offset pagination with absolute next/previous links. */
export function paginate<T>(items: T[], limit: number, offset: number, urlFor: (offset: number) => string): Page<T> {
  return {
    count: items.length,
    next: offset + limit < items.length ? urlFor(offset + limit) : null,
    previous: offset > 0 ? urlFor(Math.max(0, offset - limit)) : null,
    results: items.slice(offset, offset + limit),
  };
}

export function metadataView(base: string, content: BookContent) {
  const b = content.book;
  const p = `${base}${bookPrefix(b.id)}`;
  return {
    ourn: ourn(b.id),
    identifier: b.id,
    isbn: b.isbn,
    title: b.title,
    descriptions: { 'text/plain': b.description, 'text/html': `<p>${escapeXml(b.description)}</p>` },
    language: b.language,
    publication_date: b.issued,
    virtual_pages: content.chapters.reduce((n, c) => n + c.virtualPages, 0),
    tags: b.skills,
    content_format: 'book',
    chapters: `${base}/api/v2/epub-chapters/?epub_identifier=${ourn(b.id)}`,
    table_of_contents: `${p}/table-of-contents/`,
    spine: `${p}/spine/`,
    files: `${p}/files/`,
  };
}

export function searchResult(base: string, b: SimBook) {
  return {
    archive_id: b.id,
    isbn: b.isbn,
    ourn: `urn:orm:${b.format}:${b.id}`,
    title: b.title,
    authors: b.authors,
    publishers: b.publishers,
    cover_url: coverUrl(base, b.id),
    issued: `${b.issued}T00:00:00Z`,
    topics: b.skills,
    subjects: b.skills,
    web_url: `${base}/library/view/${b.slug}/${b.id}/`,
    url: `${base}${bookPrefix(b.id)}/`,
    language: b.language,
    format: b.format,
    content_format: b.format,
    description: b.description,
  };
}

/** A chapter-list item; under `encoded-ourn` its `ourn` ends in the encoded path and it has no `reference_id`. */
export function chapterView(base: string, content: BookContent, c: ChapterEntry) {
  const id = content.book.id;
  const encoded = content.book.variants.includes('encoded-ourn');
  return {
    ourn: `${ourn(id)}:chapter:${encoded ? encodedPath(c.path) : c.path}`,
    title: c.title,
    ...(encoded ? {} : { reference_id: `${id}-/${c.path}` }),
    content_url: chapterContentUrl(base, id, c.path),
    related_assets: {
      images: c.images.map((p) => (p.startsWith('/') ? `${base}${p}` : fileUrl(base, id, p))),
      stylesheets: [fileUrl(base, id, content.plan.css)],
    },
    virtual_pages: c.virtualPages,
    minutes_required: c.minutesRequired,
  };
}

export function tocView(base: string, content: BookContent) {
  const id = content.book.id;
  return content.chapters.map((c) => ({
    depth: 1,
    fragment: '',
    ourn: `${ourn(id)}:chapter:${c.path}`,
    title: c.title,
    label: c.title,
    reference_id: `${id}-/${c.path}`,
    url: fileUrl(base, id, c.path),
    href: c.path,
    children: c.sections.map((s) => ({
      depth: 2,
      fragment: s.id,
      ourn: `${ourn(id)}:chapter:${c.path}#${s.id}`,
      title: s.title,
      label: s.title,
      reference_id: `${id}-/${c.path}#${s.id}`,
      url: `${fileUrl(base, id, c.path)}#${s.id}`,
      href: `${c.path}#${s.id}`,
      children: [],
    })),
  }));
}

/** The spine in reading order, one item per chapter (paginated by the route). */
export function spineItems(content: BookContent) {
  const id = content.book.id;
  return content.chapters.map((c) => ({
    title: c.title,
    reference_id: `${id}-/${c.path}`,
    ourn: `${ourn(id)}:chapter:${c.path}`,
  }));
}

/** A files-listing item; `withUrl` false (variant `no-url`) leaves `url` out. */
export function fileView(base: string, id: string, f: PackageFile, fileSize: number, withUrl = true) {
  const name = f.path.slice(f.path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return {
    ...(withUrl ? { url: f.path.startsWith('/') ? `${base}${filesPrefix(id)}${f.path}` : fileUrl(base, id, f.path) } : {}),
    full_path: f.path,
    filename: name,
    filename_ext: dot >= 0 ? name.slice(dot) : '',
    media_type: f.mediaType,
    kind: f.kind,
    file_size: fileSize,
  };
}

export function collectionView(base: string, c: SimCollection) {
  return {
    uuid: c.uuid,
    slug: c.slug,
    name: c.name,
    url: `${base}/api/v2/collections/${c.uuid}/`,
    content: c.content.map((o) => ({ ourn: o })),
  };
}
