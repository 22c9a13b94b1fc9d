/** What the O'Reilly APIs tell us about a book, normalised for the EPUB writer and the library. */
export interface BookMeta {
  /** 13-digit archive id. */
  id: string;
  isbn?: string;
  title: string;
  authors: string[];
  publishers: string[];
  /** BCP 47, from the book ('en', 'de-DE' …). */
  language: string;
  /** Plain text. */
  description?: string;
  /** Publication date as given (YYYY or YYYY-MM-DD). */
  date?: string;
  /** Topics. */
  subjects: string[];
}

export type Format = 'epub' | 'kindle';

/**
 * One fetched file. `data === null` without `file` means the server did not give it (404, wrong
 * type …). A staged file may be named by `file` instead of held in `data` (null then): a book in
 * flight keeps its bytes on disk, and the build reads them there (src/epub/staged-input.ts).
 */
export interface FetchedFile {
  path: string;
  mediaType?: string;
  data: Uint8Array | null;
  /** The staged file holding the bytes (src/library/staging.ts). */
  file?: string;
  /** Its size, known without reading it. */
  bytes?: number;
}

export interface EpubBuild {
  /** Everything except `mimetype` (the zip writer adds it first); container.xml included. */
  entries: { path: string; data: Uint8Array }[];
  /** Human-readable list of what is missing or replaced, e.g. 'OEBPS/images/a/fig.png: missing (404)'. */
  gaps: string[];
  chapters: number;
}
