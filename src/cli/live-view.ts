import cliProgress from 'cli-progress';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import { duration } from './store.js';

interface Sample {
  at: number;
  done: number;
}

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

/** Progress of the book jobs, a books-per-hour rate over the last minute, and an ETA. */
export function liveFigures(store: Store, samples: Sample[], now: number): LiveFigures {
  // All counts minus the (few) discover jobs: cheap even with a hundred thousand books queued.
  const c = { ...store.views.counts() };
  for (const d of store.views.list({ kind: 'discover', limit: 10_000 })) c[d.state]--;
  const totalBooks = c.queued + c.running + c.succeeded + c.failed + c.cancelled;
  const done = c.succeeded;
  const failed = c.failed + c.cancelled;
  const running = c.running;
  samples.push({ at: now, done });
  while (samples.length > 2 && now - samples[0]!.at > 60_000) samples.shift();
  const first = samples[0]!;
  const perHour = now - first.at >= 2_000 && done > first.done ? ((done - first.done) / (now - first.at)) * 3_600_000 : undefined;
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
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/** The progress block of `status --watch`: overall and per-skill bars, pace and ETA. */
export function renderProgress(f: LiveFigures): string {
  const label = (s: string) => s.slice(0, 18).padEnd(18);
  const lines = [
    `${label('all books')} ${bar(f.done, f.total)} ${f.done}/${f.total}${f.failed ? ` (${f.failed} failed)` : ''} · ${f.running} running · ${
      f.perHour ? `${Math.round(f.perHour)} books/hour` : 'measuring pace…'
    } · ${f.etaMs !== undefined ? `ETA ${duration(f.etaMs)}` : 'ETA -'}`,
  ];
  for (const k of f.skills) lines.push(`${label(`  ${k.skill}`)} ${bar(k.done, k.total)} ${k.done}/${k.total}`);
  if (f.lastFailure) lines.push(`last failure ${f.lastFailure}`);
  return `${lines.join('\n')}\n`;
}

function summaryLine(f: LiveFigures): string {
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

/**
 * The live view of `status --watch` and `demo`: progress bars (overall and per skill), books per
 * hour, ETA, sessions, the last failure. Without a terminal it prints one summary line now and then.
 */
export function startLiveView(opts: { store: Store; clock: Clock; out?: NodeJS.WriteStream; intervalMs?: number }): { stop(): void } {
  const out = opts.out ?? process.stdout;
  const samples: Sample[] = [];
  const interval = opts.intervalMs ?? 500;
  if (!out.isTTY) {
    let last = '';
    const timer = setInterval(() => {
      const line = summaryLine(liveFigures(opts.store, samples, opts.clock.now()));
      if (line !== last) out.write(`${line}\n`);
      last = line;
    }, Math.max(interval, 5000));
    return { stop: () => clearInterval(timer) };
  }
  const multi = new cliProgress.MultiBar(
    { stream: out, clearOnComplete: false, hideCursor: true, format: ' {label} |{bar}| {value}/{total} {info}', barsize: 30, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const overall = multi.create(1, 0, { label: 'all books'.padEnd(18), info: '' });
  const status = multi.create(1, 0, { label: '', info: '' }, { format: ' {info}' });
  const failure = multi.create(1, 0, { label: '', info: '' }, { format: ' {info}' });
  const skillBars = new Map<string, cliProgress.SingleBar>();
  const render = () => {
    const f = liveFigures(opts.store, samples, opts.clock.now());
    overall.setTotal(Math.max(1, f.total));
    overall.update(f.done, { info: f.failed ? `(${f.failed} failed)` : '' });
    for (const k of f.skills) {
      let bar = skillBars.get(k.skill);
      if (!bar) {
        bar = multi.create(Math.max(1, k.total), 0, { label: `  ${k.skill}`.slice(0, 18).padEnd(18), info: '' });
        skillBars.set(k.skill, bar);
      }
      bar.setTotal(Math.max(1, k.total));
      bar.update(k.done, { info: '' });
    }
    status.update(0, {
      info: `${f.running} running · ${f.perHour ? `${Math.round(f.perHour)} books/hour` : 'measuring pace…'} · ${f.etaMs !== undefined ? `ETA ${duration(f.etaMs)}` : 'ETA -'} · sessions: ${f.sessions}`,
    });
    failure.update(0, { info: f.lastFailure ? `last failure ${f.lastFailure}`.slice(0, (out.columns ?? 100) - 2) : '' });
  };
  render();
  const timer = setInterval(render, interval);
  return {
    stop: () => {
      clearInterval(timer);
      render();
      multi.stop();
    },
  };
}
