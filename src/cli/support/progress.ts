import type { Tuning } from '../../config.js';
import type { Store } from '../../db/store.js';
import { duration } from './format.js';

/** One reading of the finished-book count, for the books-per-hour rate. */
export interface Sample {
  at: number;
  done: number;
}

/** What the progress lines show: one snapshot of the queue, read by `liveFigures`. */
export interface LiveFigures {
  total: number;
  done: number;
  failed: number;
  running: number;
  perHour: number | undefined;
  etaMs: number | undefined;
  skills: { skill: string; done: number; total: number }[];
  sessions: string;
  lastFailure: string | undefined;
}

/** What the rate is measured over (`tuning.status`). */
export type RateWindow = Pick<Tuning['status'], 'rateWindowMs' | 'rateMinSpanMs'>;

/** Progress of the book jobs, a books-per-hour rate over the last `rateWindowMs`, and an ETA. */
export function liveFigures(store: Store, samples: Sample[], now: number, rate: RateWindow): LiveFigures {
  // All counts minus the (few) discover jobs: cheap even with a hundred thousand books queued.
  const c = { ...store.views.counts() };
  for (const d of store.views.list({ kind: 'discover', limit: 10_000 })) c[d.state]--;
  const totalBooks = c.queued + c.running + c.succeeded + c.failed + c.cancelled;
  const done = c.succeeded;
  const failed = c.failed + c.cancelled;
  const running = c.running;
  samples.push({ at: now, done });
  while (samples.length > 2 && now - samples[0]!.at > rate.rateWindowMs) samples.shift();
  const first = samples[0]!;
  const perHour = now - first.at >= rate.rateMinSpanMs && done > first.done ? ((done - first.done) / (now - first.at)) * 3_600_000 : undefined;
  const remaining = totalBooks - done - failed;
  const skills = store.views
    .countsBySkill()
    .map((k) => ({ skill: k.skill, done: k.succeeded + k.failed + k.cancelled, total: k.queued + k.running + k.succeeded + k.failed + k.cancelled }));
  const byState = new Map<string, number>();
  for (const s of store.sessions.list()) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
  const lastFailed = store.views.list({ state: 'failed', limit: 1 })[0];
  return {
    total: totalBooks,
    done,
    failed,
    running,
    perHour,
    etaMs: perHour ? (remaining / perHour) * 3_600_000 : undefined,
    skills,
    sessions: [...byState].map(([state, n]) => `${n} ${state}`).join(', ') || 'none',
    lastFailure: lastFailed?.lastError ? `#${lastFailed.id}: ${lastFailed.lastError.message}` : undefined,
  };
}

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

const pace = (f: LiveFigures) => (f.perHour ? `${Math.round(f.perHour)} books/hour` : 'measuring pace…');
const eta = (f: LiveFigures) => (f.etaMs !== undefined ? `ETA ${duration(f.etaMs)}` : 'ETA -');

/**
 * The progress lines of `status --watch` and of the demo's live view: overall and per-skill bars,
 * pace, ETA, sessions, the last failure. `width` (a terminal's columns) cuts lines that would wrap,
 * since a wrapped line breaks redrawing in place.
 */
export function progressLines(f: LiveFigures, width?: number): string[] {
  const label = (s: string) => s.slice(0, 18).padEnd(18);
  const lines = [`${label('all books')} ${bar(f.done, f.total)} ${f.done}/${f.total}${f.failed ? ` (${f.failed} failed)` : ''}`];
  for (const k of f.skills) lines.push(`${label(`  ${k.skill}`)} ${bar(k.done, k.total)} ${k.done}/${k.total}`);
  lines.push(`${f.running} running · ${pace(f)} · ${eta(f)} · sessions: ${f.sessions}`);
  if (f.lastFailure) lines.push(`last failure ${f.lastFailure}`);
  return width === undefined ? lines : lines.map((l) => ([...l].length > width - 1 ? `${[...l].slice(0, Math.max(1, width - 2)).join('')}…` : l));
}

/** The same figures as one line, for output that is not a terminal (a log, CI). */
export function summaryLine(f: LiveFigures): string {
  return [
    `${f.done}/${f.total} books`,
    `${f.running} running`,
    f.failed ? `${f.failed} failed` : '',
    f.perHour ? `${Math.round(f.perHour)} books/h` : '',
    f.etaMs !== undefined ? `ETA ${duration(f.etaMs)}` : '',
    `sessions: ${f.sessions}`,
  ]
    .filter(Boolean)
    .join(' · ');
}
