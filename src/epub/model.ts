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

/** One fetched file. `data === null` means the server did not give it (404, wrong type …). */
export interface FetchedFile {
  path: string;
  mediaType?: string;
  data: Uint8Array | null;
}

export interface EpubBuild {
  /** Everything except `mimetype` (the zip writer adds it first); container.xml included. */
  entries: { path: string; data: Uint8Array }[];
  /** Human-readable list of what is missing or replaced, e.g. 'OEBPS/images/a/fig.png: missing (404)'. */
  gaps: string[];
  chapters: number;
}
