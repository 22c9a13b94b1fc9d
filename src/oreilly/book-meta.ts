import type { BookMeta } from '../epub/model.js';
import type { EpubInfo, SearchHit } from './types.js';

/** The epubs endpoint has no authors, publishers or cover; search fills them in (docs/SERVICE.md §2). */
export function bookMeta(id: string, info: EpubInfo, hit: SearchHit | undefined): BookMeta {
  return {
    id,
    ...(info.isbn || hit?.isbn ? { isbn: info.isbn || hit!.isbn } : {}),
    title: info.title || hit?.title || id,
    authors: hit?.authors ?? [],
    publishers: hit?.publishers ?? [],
    language: info.language || hit?.language || 'en',
    ...(info.description ? { description: info.description } : {}),
    ...(info.publicationDate || hit?.issued ? { date: info.publicationDate || hit!.issued } : {}),
    subjects: [...new Set([...(hit?.topics ?? []), ...info.tags])],
  };
}
