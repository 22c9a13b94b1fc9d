import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Store } from '../db/store.js';
import type { OreillyClient } from '../oreilly/client.js';
import { linkIntoSkills } from '../library/place.js';
import type { JobHandler } from '../daemon/daemon.js';
import { describeDiscovery, discoverSkill, discoveredItems, isArchivedIn, isGrownIn, updateItems } from './discover.js';
import type { MachineBudget } from '../pool/budget.js';
import { jobRetrying } from './retry.js';

/**
 * A book archived under one skill and found again under another gets that skill too: a link in
 * its folder and the skill on its catalogue row, without downloading it again.
 */
async function linkArchived(store: Store, libraryRoot: string, ids: string[], skill: string): Promise<number> {
  let linked = 0;
  for (const id of ids) {
    const records = (await Promise.all((['epub', 'kindle'] as const).map((format) => store.books.get(id, format)))).filter(
      (r) => r !== undefined && !r.skills.some((s) => s.toLowerCase() === skill.toLowerCase()),
    );
    for (const record of records) await linkIntoSkills({ libraryRoot, path: record!.path, skills: [skill] });
    if (records.length > 0) {
      await store.books.addSkill(id, skill);
      linked++;
    }
  }
  return linked;
}

/** The daemon's handler for `discover` jobs: walk the listing, enqueue what is new. */
export function discoverHandler(deps: { store: Store; client: OreillyClient; clock: Clock; config: Config; budget?: MachineBudget }): JobHandler {
  return async (job, ctx) => {
    if (job.kind !== 'discover') throw new Error(`discover handler got a ${job.kind} job`);
    const payload = job.payload;
    const requests = jobRetrying(deps, ctx);
    const d = await discoverSkill({
      listPage: (page) => requests.run(() => deps.client.topicPage(ctx.session, payload.skill, page, ctx.signal)),
      payload,
      languages: deps.config.languages,
      isArchived: isArchivedIn(deps.store),
      isGrown: isGrownIn(deps.store),
      onPage: (page, kept) => ctx.progress({ phase: 'listing', done: page + 1, found: kept }),
    });
    const results = await deps.store.jobs.enqueue(discoveredItems(d, payload));
    const added = results.filter((r) => r.status === 'added' || r.status === 'requeued').length;
    // A grown book's earlier job has succeeded: only `force` queues it again (a job still queued
    // or running for it is left as it is: it will fetch the book as it is now).
    const updated = (await deps.store.jobs.enqueue(updateItems(d, payload), { force: true })).filter(
      (r) => r.status === 'requeued' || r.status === 'added',
    ).length;
    // Rows of an older bookd have no date: the listing's becomes the one later listings are compared with.
    for (const hit of d.archived) if (hit.issued) await deps.store.books.noteIssued(hit.archiveId, hit.issued);
    const linked = await linkArchived(
      deps.store,
      deps.config.library,
      d.archived.map((h) => h.archiveId),
      payload.skill,
    );
    // A watch's run reports what its discovery added (`bookd watch list`).
    if (payload.watch !== undefined) await deps.store.watches.recordDiscovery(payload.watch, payload.skill, job.id, added, updated);
    const message = describeDiscovery(d, added, 'queued', linked, updated);
    ctx.logger.info({ skill: payload.skill, listed: d.listed, added, updated, hidden: d.hidden }, message);
    return { message };
  };
}
