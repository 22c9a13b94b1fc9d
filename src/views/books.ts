import type { BookRecord } from '../db/books.js';
import { iso } from './format.js';

/** A catalogued book as `library list --json` and `/api/library` give it (times in ISO 8601). */
export function bookJson(b: BookRecord) {
  return {
    id: b.id,
    format: b.format,
    title: b.title,
    authors: b.authors,
    skills: b.skills,
    path: b.path,
    sha256: b.sha256,
    bytes: b.bytes,
    archived_at: iso(b.archivedAt),
    mode: b.mode,
    gaps: b.gaps,
    virtual_pages: b.virtualPages ?? null,
    issued: b.issued ?? null,
    revision: b.revision ?? 1,
    previous_sha256: b.previousSha256 ?? null,
  };
}
