import type { Watch, WatchFound } from '../db/watches.js';
import { duration, iso } from './format.js';

/** The books the last run added, when all of it has finished: null before the first run or while a discovery is still going. */
export function booksAdded(found: WatchFound | undefined): number | null {
  if (!found || found.error !== undefined) return found ? 0 : null;
  if (found.skills)
    return found.skills.some((s) => s.status === 'queued' && s.added === undefined && s.error === undefined)
      ? null
      : found.skills.reduce((n, s) => n + (s.added ?? 0), 0);
  return found.added ?? 0;
}

/** What the last run found, in a few words. */
export function foundText(w: Watch): string {
  const f = w.lastFound;
  if (!f) return w.lastRunAt === undefined ? 'not run yet' : 'running';
  if (f.error) return `could not run: ${f.error}`;
  const again = (n: number | undefined) => (n ? `, ${n} grown queued again` : '');
  if (!f.skills) return `${f.added ?? 0} book${f.added === 1 ? '' : 's'} added${again(f.updated)}`;
  return f.skills
    .map((s) =>
      s.added !== undefined
        ? `${s.skill} +${s.added}${again(s.updated)}`
        : s.error !== undefined
          ? `${s.skill}: discovery #${s.job} failed: ${s.error}`
          : s.status === 'busy'
            ? `${s.skill}: skipped, discovery #${s.job} was still queued or running`
            : `${s.skill}: discovering (#${s.job})`,
    )
    .join('; ');
}

export function describeWatch(w: Watch): string {
  const extra = [
    w.options.format !== 'epub' ? w.options.format : '',
    w.options.maxBooks !== undefined ? `max ${w.options.maxBooks}` : '',
    w.options.excludeSkills?.length ? `not ${w.options.excludeSkills.join(', ')}` : '',
    w.options.keepPrevious ? 'keep previous' : '',
  ].filter(Boolean);
  return `${w.kind === 'skills' ? 'skills' : 'playlist'} ${w.target}${extra.length ? ` (${extra.join('; ')})` : ''}`;
}

/** A watch as `watch list --json` and `status --json` print it (times in ISO 8601, UTC). */
export function watchJson(w: Watch) {
  return {
    id: w.id,
    kind: w.kind,
    target: w.target,
    options: w.options,
    period_ms: w.periodMs,
    every: duration(w.periodMs),
    created_at: iso(w.createdAt),
    last_run_at: iso(w.lastRunAt),
    next_run_at: iso(w.nextRunAt),
    last_found: w.lastFound ?? null,
    failures: w.failures,
    books_added: booksAdded(w.lastFound),
  };
}
