import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { BookdError } from '../errors.js';
import { safePackagePath } from '../epub/paths.js';
import { childElements, descendants, parseXml, xmlText, type XmlElement } from '../epub/xml.js';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip-entries.js';

/**
 * What the catalogue does not keep but an e-reader shows: the summary (the package document's
 * `dc:description`), the book's own identifier and language, and where its cover image is. Read
 * from the archived EPUB itself (src/epub/opf.ts wrote it), a few small entries of the zip.
 */
export interface EpubMeta {
  description?: string;
  /** `dc:identifier` the package names unique (an ISBN URN, or `urn:orm:book:…`). */
  identifier?: string;
  language?: string;
  cover?: { entry: string; mediaType: string };
}

export interface EpubCover {
  bytes: Buffer;
  mediaType: string;
}

/** Package documents and container files are a few KB; anything this big is not ours. */
const MAX_XML_BYTES = 4 * 1024 * 1024;
/** A cover image bigger than this is not served (nor held in memory). */
export const MAX_COVER_BYTES = 16 * 1024 * 1024;
/** What a reader can show as a cover (docs/EPUB.md core media types, and WebP). */
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/svg+xml', 'image/webp']);

async function rootfile(fh: FileHandle, entries: Map<string, ZipEntry>): Promise<string | undefined> {
  const container = entries.get('META-INF/container.xml');
  if (!container) return undefined;
  const doc = parseXml((await readZipEntry(fh, container, MAX_XML_BYTES)).toString('utf8'));
  const path = doc && descendants(doc, 'rootfile')[0]?.getAttribute('full-path');
  return path ? (safePackagePath(path) ?? undefined) : undefined;
}

/** Reads the package document of the EPUB at `file`; throws when the file is unreadable or not a zip. */
export async function readEpubMeta(file: string): Promise<EpubMeta> {
  const fh = await open(file, 'r');
  try {
    const entries = await readZipDirectory(fh);
    const opfPath = await rootfile(fh, entries);
    const opfEntry = opfPath === undefined ? undefined : entries.get(opfPath);
    if (!opfPath || !opfEntry) return {};
    const doc = parseXml((await readZipEntry(fh, opfEntry, MAX_XML_BYTES)).toString('utf8'));
    const pkg = doc?.documentElement;
    if (!pkg) return {};
    const metadata = childElements(pkg, 'metadata')[0];
    const manifest = childElements(pkg, 'manifest')[0];
    const dc = (name: string) => (metadata ? childElements(metadata, name) : []);
    const out: EpubMeta = {};
    const description = xmlText(dc('description')[0]);
    if (description) out.description = description;
    const uid = pkg.getAttribute('unique-identifier');
    const ids = dc('identifier');
    const identifier = xmlText(ids.find((e) => uid && e.getAttribute('id') === uid) ?? ids[0]);
    if (identifier) out.identifier = identifier;
    const language = xmlText(dc('language')[0]);
    if (language) out.language = language;
    const items = manifest ? childElements(manifest, 'item') : [];
    const cover = coverItem(items, metadata);
    const href = cover?.getAttribute('href');
    const mediaType = cover?.getAttribute('media-type') ?? '';
    if (href && IMAGE_TYPES.has(mediaType)) {
      const entry = safePackagePath(posix.join(posix.dirname(opfPath), decodeHref(href)));
      if (entry !== null && entries.has(entry)) out.cover = { entry, mediaType };
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** EPUB 3 marks the cover `properties="cover-image"`; EPUB 2 readers look for `<meta name="cover">` (src/epub/opf.ts writes both). */
function coverItem(items: XmlElement[], metadata: XmlElement | undefined): XmlElement | undefined {
  const marked = items.find((i) => (i.getAttribute('properties') ?? '').split(/\s+/).includes('cover-image'));
  if (marked) return marked;
  const named = metadata && childElements(metadata, 'meta').find((m) => m.getAttribute('name') === 'cover');
  const id = named?.getAttribute('content');
  return id ? items.find((i) => i.getAttribute('id') === id) : undefined;
}

function decodeHref(href: string): string {
  const path = href.split('#')[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The cover image's bytes, from the entry `readEpubMeta` found. */
export async function readEpubCover(file: string, cover: NonNullable<EpubMeta['cover']>): Promise<EpubCover> {
  const fh = await open(file, 'r');
  try {
    const entry = (await readZipDirectory(fh)).get(cover.entry);
    if (!entry) throw new BookdError('permanent', `${cover.entry} is not in ${file}`);
    return { bytes: await readZipEntry(fh, entry, MAX_COVER_BYTES), mediaType: cover.mediaType };
  } finally {
    await fh.close();
  }
}
