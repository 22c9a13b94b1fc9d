import { UsageError } from '../errors.js';
import { badBookRefMessage, parseBookRef } from '../ids.js';
import { mergeSkills, type BookFormat, type EnqueueItem } from '../db/jobs.js';
import { discoveryItems, splitSkills } from './discover.js';

/**
 * What an operator asks to enqueue, read the same way wherever it is asked (`bookd enqueue`, the
 * web page's form and its API): book ids or URLs, skills to discover, and how.
 */
export interface BookWanted {
  id: string;
  title?: string;
  skills: string[];
}

/** Book ids or URLs as typed; `label` names where they came from in the message (`--book`, `books`). */
export function parseBookRefs(refs: readonly string[], label: string): BookWanted[] {
  return refs.map((ref) => {
    const id = parseBookRef(ref);
    if (!id) throw new UsageError(`${label}: ${badBookRefMessage(ref)}; nothing was enqueued`);
    return { id, skills: [] };
  });
}

/** Comma-separated skill names; at least one. */
export function skillList(text: string, label = '--skills'): string[] {
  const skills = splitSkills(text);
  if (skills.length === 0) throw new UsageError(`${label}: give at least one skill name, such as "Python, Go"`);
  return skills;
}

/** The same book named twice (on the command line and in a file) is one job with both skills. */
export function mergeBooks(books: readonly BookWanted[]): BookWanted[] {
  const byId = new Map<string, BookWanted>();
  for (const b of books) {
    const seen = byId.get(b.id);
    if (!seen) byId.set(b.id, { ...b, skills: [...b.skills] });
    else byId.set(b.id, { ...seen, ...(b.title && !seen.title && { title: b.title }), skills: mergeSkills(seen.skills, b.skills) });
  }
  return [...byId.values()];
}

export interface EnqueueRequest {
  books: readonly BookWanted[];
  skills: readonly string[];
  format: BookFormat;
  priority?: number;
  maxBooks?: number;
  excludeSkills?: readonly string[];
}

/** One book job per distinct book, then one discover job per skill. */
export function enqueueItems(r: EnqueueRequest): EnqueueItem[] {
  const common = r.priority === undefined ? {} : { priority: r.priority };
  const items: EnqueueItem[] = mergeBooks(r.books).map((b) => ({
    kind: 'book',
    payload: { bookId: b.id, format: r.format, skills: b.skills, ...(b.title && { title: b.title }) },
    ...common,
  }));
  items.push(
    ...discoveryItems(r.skills, {
      format: r.format,
      ...(r.maxBooks !== undefined && { maxBooks: r.maxBooks }),
      ...(r.priority !== undefined && { priority: r.priority }),
      excludeSkills: [...(r.excludeSkills ?? [])],
    }),
  );
  return items;
}
