import { mergeSkills, PRIORITY, type BookFormat, type DiscoverPayload, type EnqueueItem } from '../db/jobs.js';
import type { Store } from '../db/store.js';
import { BookdError } from '../errors.js';
import { isAudiobookId, isBookId } from '../ids.js';
import type { Playlist, SearchHit, TopicPage } from '../oreilly/types.js';
import { hasGrown } from './grown.js';

export interface Discovery {
  skill: string;
  /** Books to enqueue, in listing order, deduplicated by archive id. */
  books: SearchHit[];
  listed: number;
  notBooks: number;
  otherLanguage: number;
  excluded: number;
  /** Books the catalogue already has (they may still need a link into this skill's folder). */
  archived: SearchHit[];
  /** Of those, the ones the listing shows grown since (src/jobs/grown.ts): to be archived again. */
  updates: SearchHit[];
  /** Books the listing reports but refused to show (the page cap). */
  hidden: number;
}

const fold = (s: string) => s.trim().toLowerCase();

/**
 * Walks one skill's topic listing (docs/SERVICE.md §2) and keeps real books in the wanted
 * languages that are not archived yet. The listing's page cap ends the walk cleanly.
 */
export async function discoverSkill(opts: {
  /** One page of the skill's listing (OreillyClient.topicPage with the session bound). */
  listPage: (page: number) => Promise<TopicPage>;
  payload: DiscoverPayload;
  languages: string[];
  isArchived: (id: string, format: BookFormat) => Promise<boolean>;
  /** Whether an archived book has grown beyond its catalogued copy; without it, none has. */
  isGrown?: (hit: SearchHit, format: BookFormat) => Promise<boolean>;
  onPage?: (page: number, kept: number) => void;
}): Promise<Discovery> {
  const { payload } = opts;
  const excluded = new Set((payload.excludeSkills ?? []).map(fold));
  const langs = opts.languages.map(fold);
  const d: Discovery = { skill: payload.skill, books: [], listed: 0, notBooks: 0, otherLanguage: 0, excluded: 0, archived: [], updates: [], hidden: 0 };
  const seen = new Set<string>();
  let total = 0;
  for (let page = 0; ; page++) {
    const result = await opts.listPage(page);
    total = Math.max(total, result.total);
    for (const hit of result.results) {
      d.listed++;
      // Audiobooks (`…AU` ids) and videos share the listing with books (docs/SERVICE.md §2).
      if (isAudiobookId(hit.archiveId) || (hit.format && fold(hit.format) !== 'book')) {
        if (!seen.has(hit.archiveId)) d.notBooks++;
        seen.add(hit.archiveId);
        continue;
      }
      if (!isBookId(hit.archiveId) || seen.has(hit.archiveId)) continue;
      seen.add(hit.archiveId);
      if (hit.language && langs.length > 0 && !langs.some((l) => fold(hit.language).startsWith(l))) d.otherLanguage++;
      else if (hit.topics.some((t) => excluded.has(fold(t)))) d.excluded++;
      else if (await opts.isArchived(hit.archiveId, payload.format)) {
        d.archived.push(hit);
        if (await opts.isGrown?.(hit, payload.format)) d.updates.push(hit);
      } else if (payload.maxBooks === undefined || d.books.length < payload.maxBooks) d.books.push(hit);
    }
    opts.onPage?.(page, d.books.length);
    if (result.capped) {
      d.hidden = Math.max(0, total - d.listed);
      break;
    }
    if (!result.more || (payload.maxBooks !== undefined && d.books.length >= payload.maxBooks)) break;
  }
  if (d.listed === 0) {
    throw new BookdError(
      'permanent',
      `the listing has no books for skill "${payload.skill}": check the spelling against O'Reilly's topic names (for example "Python" or "Machine Learning")`,
    );
  }
  return d;
}

export function isArchivedIn(store: Store): (id: string, format: BookFormat) => Promise<boolean> {
  return async (id, format) => (format === 'both' ? (await store.books.has(id, 'epub')) && (await store.books.has(id, 'kindle')) : store.books.has(id, format));
}

/** Whether the listing shows a catalogued book (in any of the wanted formats) grown beyond what was archived. */
export function isGrownIn(store: Store): (hit: SearchHit, format: BookFormat) => Promise<boolean> {
  return async (hit, format) => {
    const records = await Promise.all((format === 'both' ? (['epub', 'kindle'] as const) : [format]).map((f) => store.books.get(hit.archiveId, f)));
    return records.some((record) => record !== undefined && hasGrown(record, { issued: hit.issued }));
  };
}

/**
 * The re-archives of the grown books a discovery found: book jobs that say they are updates. They
 * are enqueued with `force`, since the book's earlier job has succeeded (src/db/jobs.ts).
 */
export function updateItems(d: Discovery, payload: DiscoverPayload): EnqueueItem[] {
  return d.updates.map((hit) => ({
    kind: 'book',
    priority: payload.priority ?? PRIORITY.discovered,
    payload: {
      bookId: hit.archiveId,
      format: payload.format,
      skills: [payload.skill],
      title: hit.title,
      update: true,
      ...(payload.keepPrevious && { keepPrevious: true }),
      ...(hit.issued && { listedIssued: hit.issued }),
    },
  }));
}

/** The book jobs a discovery creates, tagged with its skill. */
export function discoveredItems(d: Discovery, payload: DiscoverPayload): EnqueueItem[] {
  return d.books.map((hit) => ({
    kind: 'book',
    priority: payload.priority ?? PRIORITY.discovered,
    payload: { bookId: hit.archiveId, format: payload.format, skills: [payload.skill], title: hit.title },
  }));
}

export function describeDiscovery(d: Discovery, added: number, verb = 'queued', linked = 0, updated = 0): string {
  const parts = [`${d.skill}: ${d.listed} listed, ${added} new book${added === 1 ? '' : 's'} ${verb}`];
  if (updated) parts.push(`${updated} grown book${updated === 1 ? '' : 's'} ${verb} again`);
  const skipped = d.books.length - added;
  if (skipped > 0) parts.push(`${skipped} already queued`);
  if (d.archived.length) parts.push(`${d.archived.length} already archived${linked ? ` (${linked} linked into ${d.skill}/)` : ''}`);
  if (d.notBooks) parts.push(`${d.notBooks} not books`);
  if (d.otherLanguage) parts.push(`${d.otherLanguage} in other languages`);
  if (d.excluded) parts.push(`${d.excluded} in excluded skills`);
  if (d.hidden) parts.push(`the listing could not show ${d.hidden} more (it stops after page 10)`);
  return parts.join(', ');
}

/** "Python, Go" as skill names: trimmed, empty ones dropped, each once (case-insensitively). */
export function splitSkills(text: string): string[] {
  return mergeSkills(
    [],
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export interface DiscoveryOptions {
  format: BookFormat;
  maxBooks?: number;
  excludeSkills?: string[];
  /** Priority of the discover jobs and of the books they find. */
  priority?: number;
  /** The watch that queues them (its run records what each found). */
  watch?: number;
  /** The watch's `--keep-previous`. */
  keepPrevious?: boolean;
}

/**
 * One discover job per skill: what `bookd enqueue --skills` and every run of a skills watch put
 * in the queue. Its dedupe key is the skill, so a skill whose discovery is still queued or
 * running is not queued twice (src/db/jobs.ts).
 */
export function discoveryItems(skills: readonly string[], o: DiscoveryOptions): EnqueueItem[] {
  const exclude = mergeSkills([], (o.excludeSkills ?? []).map((s) => s.trim()).filter(Boolean));
  return skills.map((skill) => ({
    kind: 'discover',
    payload: {
      skill,
      format: o.format,
      ...(o.maxBooks !== undefined && { maxBooks: o.maxBooks }),
      ...(o.priority !== undefined && { priority: o.priority }),
      ...(exclude.length && { excludeSkills: exclude }),
      ...(o.watch !== undefined && { watch: o.watch }),
      ...(o.keepPrevious && { keepPrevious: true }),
    },
    ...(o.priority !== undefined && { priority: o.priority }),
  }));
}

/** The playlist named by uuid, or by name as the site shows it (case-insensitively). */
export function findPlaylist(playlists: readonly Playlist[], wanted: string): Playlist | undefined {
  return playlists.find((x) => x.uuid === wanted || x.name.toLowerCase() === wanted.toLowerCase());
}
