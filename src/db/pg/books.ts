import type pg from 'pg';
import type { Async } from '../async.js';
import type { ArchivedFormat, BookCatalogue, BookRecord, BuildMode } from '../books.js';
import { mergeSkills } from '../jobs.js';
import { inTransaction, type Queryable } from './connect.js';
import { run } from './statement.js';

/** A row of `books` as node-postgres returns it (bigint as number, jsonb parsed). */
interface BookRow {
  id: string;
  format: ArchivedFormat;
  title: string;
  authors: string[];
  skills: string[];
  path: string;
  sha256: string;
  bytes: number;
  archived_at: number;
  mode: BuildMode;
  gaps: string[];
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
    authors: r.authors,
    skills: r.skills,
    path: r.path,
    sha256: r.sha256,
    bytes: r.bytes,
    archivedAt: r.archived_at,
    mode: r.mode,
    gaps: r.gaps,
    ...(r.virtual_pages !== null && { virtualPages: r.virtual_pages }),
    ...(r.issued !== null && { issued: r.issued }),
    revision: r.revision,
    ...(r.previous_sha256 !== null && { previousSha256: r.previous_sha256 }),
  };
}

/**
 * Every statement of the PostgreSQL catalogue, the rules of sqliteBookCatalogue (src/db/books.ts).
 *
 * `upsert` is one statement, so two hosts recording the same (id, format) at once leave one whole
 * row, never a mix. Which row is deterministic, not whichever commit came last: a record replaces
 * the stored one unless that one is later by (revision, archived_at, sha256) — revisions only grow
 * and a re-archive is later, so every replacement SQLite makes in practice is made here too, and
 * two racing records of one book end as the same row in either commit order.
 */
const SQL = {
  upsert: {
    name: 'books-upsert',
    text: `INSERT INTO books (id, format, title, authors, skills, path, sha256, bytes, archived_at, mode, gaps, virtual_pages, issued, revision, previous_sha256)
           VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15)
           ON CONFLICT (id, format) DO UPDATE SET title = excluded.title, authors = excluded.authors, skills = excluded.skills,
             path = excluded.path, sha256 = excluded.sha256, bytes = excluded.bytes, archived_at = excluded.archived_at,
             mode = excluded.mode, gaps = excluded.gaps, virtual_pages = excluded.virtual_pages, issued = excluded.issued,
             revision = excluded.revision, previous_sha256 = excluded.previous_sha256
           WHERE (excluded.revision, excluded.archived_at, excluded.sha256 COLLATE "C") >= (books.revision, books.archived_at, books.sha256 COLLATE "C")`,
  },
  get: { name: 'books-get', text: 'SELECT * FROM books WHERE id = $1 AND format = $2' },
  has: { name: 'books-has', text: 'SELECT 1 FROM books WHERE id = $1 AND format = $2' },
  byIdLocked: { name: 'books-by-id-locked', text: 'SELECT * FROM books WHERE id = $1 ORDER BY format FOR UPDATE' },
  list: { name: 'books-list', text: 'SELECT * FROM books ORDER BY id COLLATE "C", format COLLATE "C"' },
  setSkills: { name: 'books-set-skills', text: 'UPDATE books SET skills = $1::jsonb WHERE id = $2 AND format = $3' },
  noteIssued: { name: 'books-note-issued', text: 'UPDATE books SET issued = $1 WHERE id = $2 AND issued IS NULL' },
} as const;

/**
 * The catalogue on PostgreSQL, plus `recordOn`: the same upsert on a transaction the caller holds,
 * so a job's success and the rows it produced can commit together (SqliteStore.completeJob).
 */
export type PgBookCatalogue = Async<BookCatalogue> & {
  recordOn(c: Queryable, book: BookRecord): Promise<void>;
};

/** The catalogue on PostgreSQL: what is in the library every host shares. */
export function pgBookCatalogue(pool: pg.Pool): PgBookCatalogue {
  const recordOn = async (c: Queryable | pg.Pool, book: BookRecord) => {
    await run(c, SQL.upsert, [
      book.id,
      book.format,
      book.title,
      JSON.stringify(book.authors),
      JSON.stringify(book.skills),
      book.path,
      book.sha256,
      book.bytes,
      book.archivedAt,
      book.mode,
      JSON.stringify(book.gaps),
      book.virtualPages ?? null,
      book.issued ?? null,
      book.revision ?? 1,
      book.previousSha256 ?? null,
    ]);
  };
  return {
    record: (book) => recordOn(pool, book),
    recordOn,
    async get(id, format) {
      const row = (await run<BookRow>(pool, SQL.get, [id, format])).rows[0];
      return row && toRecord(row);
    },
    async list() {
      return (await run<BookRow>(pool, SQL.list, [])).rows.map(toRecord);
    },
    async has(id, format) {
      return (await run(pool, SQL.has, [id, format])).rows.length > 0;
    },
    addSkill(id, skill) {
      // Read, merged and written under the rows' locks: two hosts adding skills at once keep both.
      return inTransaction(pool, async (c) => {
        const rows = (await run<BookRow>(c, SQL.byIdLocked, [id])).rows;
        for (const r of rows) {
          const skills = mergeSkills(r.skills, [skill.trim()].filter(Boolean));
          await run(c, SQL.setSkills, [JSON.stringify(skills), r.id, r.format]);
        }
        return rows.length > 0;
      });
    },
    async noteIssued(id, issued) {
      await run(pool, SQL.noteIssued, [issued, id]);
    },
  };
}
