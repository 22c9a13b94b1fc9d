import type { Tuning } from '../config.js';
import type { Store } from '../db/store.js';

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
export async function liveFigures(store: Store, samples: Sample[], now: number, rate: RateWindow): Promise<LiveFigures> {
  // All counts minus the (few) discover jobs: cheap even with a hundred thousand books queued.
  const c = { ...(await store.views.counts()) };
  for (const d of await store.views.list({ kind: 'discover', limit: 10_000 })) c[d.state]--;
  const totalBooks = c.queued + c.running + c.succeeded + c.failed + c.cancelled;
  const done = c.succeeded;
  const failed = c.failed + c.cancelled;
  const running = c.running;
  samples.push({ at: now, done });
  while (samples.length > 2 && now - samples[0]!.at > rate.rateWindowMs) samples.shift();
  const first = samples[0]!;
  const perHour = now - first.at >= rate.rateMinSpanMs && done > first.done ? ((done - first.done) / (now - first.at)) * 3_600_000 : undefined;
  const remaining = totalBooks - done - failed;
  const skills = (await store.views.countsBySkill()).map((k) => ({
    skill: k.skill,
    done: k.succeeded + k.failed + k.cancelled,
    total: k.queued + k.running + k.succeeded + k.failed + k.cancelled,
  }));
  const byState = new Map<string, number>();
  for (const s of await store.sessions.list()) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
  const lastFailed = (await store.views.list({ state: 'failed', limit: 1 }))[0];
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
