import type { Job } from '../db/jobs.js';

/** A time for JSON output: ISO 8601 in UTC ("2026-01-01T13:03:09.000Z"), null when there is none. */
export function iso(ms: number | undefined | null): string | null {
  return ms === undefined || ms === null ? null : new Date(ms).toISOString();
}

/** "3m 20s", "2h 5m", "4d 1h": coarse enough to read at a glance. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** "5m ago" / "in 2h" relative to `now`. */
export function relative(at: number, now: number): string {
  if (Math.abs(at - now) < 1000) return 'now';
  return at < now ? `${duration(now - at)} ago` : `in ${duration(at - now)}`;
}

/** Local date and time to the second, for humans ("2026-01-01 14:03:09"). */
export function timestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Short text for a job's progress as the worker reported it ({done,total}, a phase, or a number). */
export function progressText(progress: unknown): string {
  if (progress === undefined || progress === null) return '-';
  if (typeof progress === 'number') return `${progress}`;
  if (typeof progress === 'string') return progress.length > 40 ? `${progress.slice(0, 37)}...` : progress;
  if (typeof progress === 'object') {
    const p = progress as Record<string, unknown>;
    const parts: string[] = [];
    const phase = p.phase ?? p.stage;
    if (typeof phase === 'string') parts.push(phase);
    if (typeof p.done === 'number' && typeof p.total === 'number') parts.push(`${p.done}/${p.total}`);
    else if (typeof p.done === 'number') parts.push(`${p.done}`);
    if (parts.length) return parts.join(' ');
  }
  const json = JSON.stringify(progress);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

/** "book 9781492056348 epub" or "discover Python": what a job is about, in one phrase. */
export function jobSubject(job: Job): string {
  return job.kind === 'book' ? `book ${job.payload.bookId} ${job.payload.format}` : `discover ${job.payload.skill}`;
}

/** The skills a job belongs to: a book's skill list, or the skill being discovered. */
export function jobSkills(job: Job): string[] {
  return job.kind === 'book' ? job.payload.skills : [job.payload.skill];
}
