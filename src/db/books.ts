import type { Database } from 'better-sqlite3';
import { mergeSkills } from './jobs.js';
import type { WriteTransaction } from './write-lock.js';

export type ArchivedFormat = 'epub' | 'kindle';

/** How the EPUB was built: the publisher's own package, or assembled from chapter pages. */
export type BuildMode = 'package' | 'chapters';

export interface BookRecord {
  id: string;
  format: ArchivedFormat;
  title: string;
  authors: string[];
  skills: string[];
  /** Relative to the library root, '/'-separated. */
  path: string;
  sha256: string;
  bytes: number;
  archivedAt: number;
  mode: BuildMode;
  /** Asset paths the service would not serve; empty for a complete book. */
  gaps: string[];
  /** The book metadata's `virtual_pages` when it was archived; undefined for rows of an older bookd. */
  virtualPages?: number | undefined;
  /** The service's date for the book (the listing's `issued`, else `publication_date`), as it spells it. */
  issued?: string | undefined;
  /** 1 for the first file archived (also when left out); one more each time a grown book's new file replaced the old one. */
  revision?: number;
  /** The sha256 of the file the last revision replaced. */
  previousSha256?: string | undefined;
}

/** What is in the library. The catalogue, not the job table, is the record of what is archived. */
export interface BookCatalogue {
  /** Inserts or replaces the entry for (id, format). */
  record(book: BookRecord): void;
  get(id: string, format: ArchivedFormat): BookRecord | undefined;
  list(): BookRecord[];
  has(id: string, format: ArchivedFormat): boolean;
  /** Adds a skill to every format of the book; false when the book is not catalogued. */
  addSkill(id: string, skill: string): boolean;
  /**
   * The date a listing shows for a book whose row has none (archived by an older bookd): the
   * baseline later listings are compared with, so the upgrade does not fetch the library again.
   */
  noteIssued(id: string, issued: string): void;
}

interface BookRow {
  id: string;
  format: ArchivedFormat;
  title: string;
  authors: string;
  skills: string;
  path: string;
  sha256: string;
  bytes: number;
  archived_at: number;
  mode: BuildMode;
  gaps: string;
  virtual_pages: number | null;
  issued: string | null;
  revision: number;
  previous_sha256: string | null;
}

function toRecord(r: BookRow): BookRecord {
  return {
    id: r.id,
    format: r.format,
    title: r.title,
    authors: JSON.parse(r.authors) as string[],
    skills: JSON.parse(r.skills) as string[],
    path: r.path,
    sha256: r.sha256,
    bytes: r.bytes,
    archivedAt: r.archived_at,
    mode: r.mode,
    gaps: JSON.parse(r.gaps) as BookRecord['gaps'],
    ...(r.virtual_pages !== null && { virtualPages: r.virtual_pages }),
    ...(r.issued !== null && { issued: r.issued }),
    revision: r.revision,
    ...(r.previous_sha256 !== null && { previousSha256: r.previous_sha256 }),
  };
}

export function sqliteBookCatalogue(db: Database, deps: { tx: WriteTransaction }): BookCatalogue {
  const s = {
    upsert: db.prepare(
      `INSERT INTO books (id, format, title, authors, skills, path, sha256, bytes, archived_at, mode, gaps, virtual_pages, issued, revision, previous_sha256)
       VALUES (@id, @format, @title, @authors, @skills, @path, @sha256, @bytes, @archivedAt, @mode, @gaps, @virtualPages, @issued, @revision, @previousSha256)
       ON CONFLICT (id, format) DO UPDATE SET title = excluded.title, authors = excluded.authors, skills = excluded.skills,
         path = excluded.path, sha256 = excluded.sha256, bytes = excluded.bytes, archived_at = excluded.archived_at,
         mode = excluded.mode, gaps = excluded.gaps, virtual_pages = excluded.virtual_pages, issued = excluded.issued,
         revision = excluded.revision, previous_sha256 = excluded.previous_sha256`,
    ),
    get: db.prepare<[string, string], BookRow>('SELECT * FROM books WHERE id = ? AND format = ?'),
    byId: db.prepare<[string], BookRow>('SELECT * FROM books WHERE id = ?'),
    list: db.prepare<[], BookRow>('SELECT * FROM books ORDER BY id, format'),
    setSkills: db.prepare('UPDATE books SET skills = ? WHERE id = ? AND format = ?'),
    noteIssued: db.prepare<[string, string]>('UPDATE books SET issued = ? WHERE id = ? AND issued IS NULL'),
  };

  const addSkill = deps.tx((id: string, skill: string): boolean => {
    const rows = s.byId.all(id);
    for (const r of rows) {
      const skills = mergeSkills(JSON.parse(r.skills) as string[], [skill.trim()].filter(Boolean));
      s.setSkills.run(JSON.stringify(skills), r.id, r.format);
    }
    return rows.length > 0;
  });

  return {
    record: deps.tx((book: BookRecord) => {
      s.upsert.run({
        ...book,
        authors: JSON.stringify(book.authors),
        skills: JSON.stringify(book.skills),
        gaps: JSON.stringify(book.gaps),
        virtualPages: book.virtualPages ?? null,
        issued: book.issued ?? null,
        revision: book.revision ?? 1,
        previousSha256: book.previousSha256 ?? null,
      });
    }),
    get(id, format) {
      const row = s.get.get(id, format);
      return row && toRecord(row);
    },
    list: () => s.list.all().map(toRecord),
    has: (id, format) => s.get.get(id, format) !== undefined,
    addSkill,
    noteIssued: deps.tx((id: string, issued: string) => {
      s.noteIssued.run(issued, id);
    }),
  };
}
