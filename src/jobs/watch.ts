import type { Clock } from '../clock.js';
import type { EnqueueItem } from '../db/jobs.js';
import type { Store } from '../db/store.js';
import type { Watch, WatchFound } from '../db/watches.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Playlist } from '../oreilly/types.js';
import { discoveryItems, findPlaylist, isArchivedIn, splitSkills } from './discover.js';
import { hasGrown, type Listed } from './grown.js';

export interface WatchRunnerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** `tuning.watch.jitterPercent`. */
  jitterPercent: number;
  /** The account's playlists, read with a session borrowed from the pool. */
  playlists: (signal: AbortSignal) => Promise<Playlist[]>;
  /**
   * What the search listing says of each of these books now (its `issued`), read with a borrowed
   * session: a playlist lists only ids, so this is how a playlist watch sees a book grow.
   */
  listed: (ids: string[], signal: AbortSignal) => Promise<Map<string, Listed>>;
}

/** What a skills watch's run queues: one discover job per skill, as `bookd enqueue --skills` does. */
async function runSkills(store: Store, w: Watch): Promise<WatchFound> {
  const skills = splitSkills(w.target);
  const results = await store.jobs.enqueue(discoveryItems(skills, { ...w.options, watch: w.id }));
  return {
    skills: results.map((r, i) => ({
      skill: skills[i]!,
      job: r.id,
      // A discovery still queued or running (this watch's last run, or an enqueue) is this run.
      status: r.status === 'added' || r.status === 'requeued' ? 'queued' : 'busy',
    })),
  };
}

/**
 * A playlist watch reads the playlist itself, in the duty, with a session borrowed from the pool:
 * it is one small request, and a job kind of its own would need a schema change and a handler
 * for what `bookd enqueue --playlist` also does inline. The duty runs in the background, never
 * twice at once (src/daemon/supervisor.ts), and the claim keeps another daemon from the same run.
 */
async function runPlaylist(deps: WatchRunnerDeps, w: Watch, signal: AbortSignal): Promise<WatchFound> {
  const playlist = findPlaylist(await deps.playlists(signal), w.target);
  if (!playlist) return { added: 0, error: `no playlist ${w.target} on the account` };
  const archived = isArchivedIn(deps.store);
  const format = w.options.format;
  const isArchived = await Promise.all(playlist.bookIds.map((id) => archived(id, format)));
  const items: EnqueueItem[] = playlist.bookIds.filter((_, i) => !isArchived[i]).map((bookId) => ({ kind: 'book', payload: { bookId, format, skills: [] } }));
  const results = await deps.store.jobs.enqueue(items);
  const have = playlist.bookIds.filter((_, i) => isArchived[i]);
  const now = have.length > 0 ? await deps.listed(have, signal) : new Map<string, Listed>();
  const records = (id: string) => Promise.all((format === 'both' ? (['epub', 'kindle'] as const) : [format]).map((f) => deps.store.books.get(id, f)));
  const grown: string[] = [];
  for (const id of have) {
    const listed = now.get(id);
    if (listed !== undefined && (await records(id)).some((r) => r !== undefined && hasGrown(r, listed))) grown.push(id);
  }
  // Rows of an older bookd have no date: the listing's becomes the one later listings are compared with.
  for (const [id, listed] of now) if (listed.issued) await deps.store.books.noteIssued(id, listed.issued);
  const updates = await deps.store.jobs.enqueue(
    grown.map((bookId) => {
      const issued = now.get(bookId)?.issued;
      return {
        kind: 'book',
        payload: { bookId, format, skills: [], update: true, ...(w.options.keepPrevious && { keepPrevious: true }), ...(issued && { listedIssued: issued }) },
      };
    }),
    { force: true },
  );
  const queued = (r: { status: string }) => r.status === 'added' || r.status === 'requeued';
  const updated = updates.filter(queued).length;
  return { added: results.filter(queued).length, ...(updated > 0 && { updated }) };
}

/**
 * The daemon's `watch` duty: every due watch is claimed (its next run moved a jittered period on,
 * so the schedule survives restarts) and run once.
 */
export function watchRunner(deps: WatchRunnerDeps): (signal: AbortSignal) => Promise<void> {
  const { store, logger } = deps;
  return async (signal) => {
    for (const due of await store.watches.due(deps.clock.now())) {
      if (signal.aborted) return;
      const w = await store.watches.claim(due.id, deps.jitterPercent);
      if (!w) continue;
      let found: WatchFound;
      try {
        found = w.kind === 'skills' ? await runSkills(store, w) : await runPlaylist(deps, w, signal);
      } catch (err) {
        // Recorded as a failed run: it says why, and the next comes after a backoff, not a period.
        found = { error: errorMessage(err) };
      }
      await store.watches.markRun(w.id, found);
      // A failed run comes back sooner than the claim said (src/db/watches.ts).
      const next = new Date((await store.watches.get(w.id))?.nextRunAt ?? w.nextRunAt).toISOString();
      if (found.error) logger.warn({ watch: w.id, target: w.target, err: found.error, next }, `watch ${w.id} could not run`);
      else logger.info({ watch: w.id, kind: w.kind, target: w.target, next, ...found }, `watch ${w.id} ran: ${w.kind} ${w.target}`);
    }
  };
}
