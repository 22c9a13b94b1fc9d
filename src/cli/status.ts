import type { Command } from '@commander-js/extra-typings';
import { systemClock } from '../clock.js';
import { JOB_STATES, type Job } from '../db/jobs.js';
import type { Config } from '../config.js';
import type { Store } from '../db/store.js';
import { expiringSoon } from '../pool/expiry.js';
import { liveFigures, progressLines } from './support/progress.js';
import { withStore } from './support/context.js';
import { duration, iso, jobSubject, printJson, progressText, relative, table, timestamp } from './support/format.js';
import { parsePositiveInteger } from './support/args.js';
import { watchJson, watchRows } from './watch.js';

function runningJson(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    subject: jobSubject(j),
    session: j.session ?? null,
    progress: j.progress ?? null,
    attempt: j.attempt,
    max_attempts: j.maxAttempts,
    owner: j.leaseOwner ?? null,
    started_at: j.startedAt ?? null,
    lease_expires_at: j.leaseExpiresAt ?? null,
    cancel_requested: j.cancelRequested,
  };
}

/** Everything `status` shows (times in epoch milliseconds; `statusJson` makes them ISO 8601). */
/** `staleMs`: a daemon that has not announced itself for this long is shown as stale (`tuning.status.daemonStaleMs`). */
export function statusSnapshot(store: Store, now: number, staleMs: number, expiryWarningMs: number) {
  const pause = store.control.state();
  const sessions = store.sessions.list();
  const oldest = store.views.oldestQueued();
  const counts = store.views.counts();
  return {
    jobs: counts,
    paused: pause.paused,
    pause: pause.paused ? { reason: pause.reason ?? null, since: pause.since ?? null } : null,
    oldest_queued: oldest ? { id: oldest.id, subject: jobSubject(oldest), created_at: oldest.createdAt, run_at: oldest.runAt } : null,
    next_run_at: store.jobs.nextRunAt() ?? null,
    running: store.views.running().map(runningJson),
    failed: { count: counts.failed, top: store.views.topFailures(5) },
    skills: store.views.countsBySkill(),
    /** Sessions that stop working within the warning threshold unless renewed (src/pool/expiry.ts). */
    expiring: expiringSoon(sessions, now, expiryWarningMs).map((e) => ({ name: e.name, until: e.until, limit: e.limit, message: e.message })),
    sessions: sessions.map((s) => ({
      name: s.name,
      state: s.state,
      cooldown_until: s.cooldownUntil ?? null,
      token_expires_at: s.tokenExpiresAt ?? null,
      refresh_expires_at: s.refreshExpiresAt ?? null,
      renewed_at: s.renewedAt ?? null,
      requests: s.requests,
      errors: s.errors,
      books_done: s.booksDone,
      error_score: s.errorScore,
      last_used_at: s.lastUsedAt ?? null,
      last_error: s.lastError ?? null,
    })),
    budget: store.budget.list().map((b) => ({
      scope: b.scope,
      rate: b.rate,
      reason: b.reason,
      changed_at: b.changedAt,
      edge_until: b.edgeUntil !== undefined && b.edgeUntil > now ? b.edgeUntil : null,
    })),
    /** Watched skills and playlists, with when each runs next (`bookd watch list`). */
    watches: store.watches.list(),
    daemons: store.control.daemons().map((d) => ({
      owner: d.owner,
      pid: d.pid,
      host: d.host,
      started_at: d.startedAt,
      seen_at: d.seenAt,
      note: d.note ?? null,
      stale: now - d.seenAt > staleMs,
    })),
  };
}

export type Snapshot = ReturnType<typeof statusSnapshot>;

/** The snapshot as `status --json` prints it: every time an ISO 8601 string (or null). */
export function statusJson(s: Snapshot) {
  return {
    ...s,
    pause: s.pause && { ...s.pause, since: iso(s.pause.since) },
    oldest_queued: s.oldest_queued && { ...s.oldest_queued, created_at: iso(s.oldest_queued.created_at), run_at: iso(s.oldest_queued.run_at) },
    next_run_at: iso(s.next_run_at),
    running: s.running.map((r) => ({ ...r, started_at: iso(r.started_at), lease_expires_at: iso(r.lease_expires_at) })),
    sessions: s.sessions.map((x) => ({
      ...x,
      cooldown_until: iso(x.cooldown_until),
      token_expires_at: iso(x.token_expires_at),
      refresh_expires_at: iso(x.refresh_expires_at),
      renewed_at: iso(x.renewed_at),
      last_used_at: iso(x.last_used_at),
    })),
    expiring: s.expiring.map((e) => ({ ...e, until: iso(e.until) })),
    budget: s.budget.map((b) => ({ ...b, changed_at: iso(b.changed_at), edge_until: iso(b.edge_until) })),
    watches: s.watches.map(watchJson),
    daemons: s.daemons.map((d) => ({ ...d, started_at: iso(d.started_at), seen_at: iso(d.seen_at) })),
  };
}

export function renderStatus(s: Snapshot, now: number): string {
  const out: string[] = [];
  const queue = s.pause
    ? `PAUSED${s.pause.since === null ? '' : ` since ${timestamp(s.pause.since)} (${relative(s.pause.since, now)})`}${s.pause.reason ? `: ${s.pause.reason}` : ''} — bookd resume to continue`
    : 'claiming';
  const rows: string[][] = [
    ['queue', queue],
    ['jobs', JOB_STATES.map((st) => `${st} ${s.jobs[st]}`).join(' · ')],
  ];
  if (s.oldest_queued) rows.push(['oldest', `#${s.oldest_queued.id} ${s.oldest_queued.subject}, queued ${relative(s.oldest_queued.created_at, now)}`]);
  if (s.next_run_at !== null && s.next_run_at > now) rows.push(['next', `earliest queued job is due ${relative(s.next_run_at, now)} (backoff or snooze)`]);
  for (const b of s.budget) {
    const rate = b.rate >= 10 ? b.rate.toFixed(0) : b.rate.toFixed(2);
    rows.push([`budget ${b.scope}`, `${rate} requests/s for the machine; ${b.reason} (${relative(b.changed_at, now)})`]);
    if (b.edge_until !== null) rows.push(['edge', `the edge refuses this machine: every session waits until ${timestamp(b.edge_until)}`]);
  }
  out.push(table(rows));

  if (s.running.length) {
    out.push('', 'running');
    out.push(
      table(
        [
          ['ID', 'JOB', 'SESSION', 'PROGRESS', 'ATTEMPT', 'RUNNING', 'LEASE'],
          ...s.running.map((r) => [
            `#${r.id}`,
            r.subject + (r.cancel_requested ? ' (cancelling)' : ''),
            r.session ?? '-',
            progressText(r.progress),
            `${r.attempt}/${r.max_attempts}`,
            r.started_at === null ? '-' : duration(now - r.started_at),
            r.lease_expires_at === null ? '-' : r.lease_expires_at >= now ? `${duration(r.lease_expires_at - now)} left` : 'expired',
          ]),
        ],
        '  ',
      ),
    );
  }

  if (s.failed.count) {
    out.push('', `failed ${s.failed.count}, top reasons (bookd jobs list --state failed; bookd jobs retry --failed)`);
    out.push(
      table(
        s.failed.top.map((f) => [`${f.count}×`, `${f.kind ?? '?'}: ${f.message ?? '(no message)'}`]),
        '  ',
      ),
    );
  }

  if (s.skills.length) {
    out.push('', 'skills (book jobs)');
    out.push(
      table([['SKILL', ...JOB_STATES.map((st) => st.toUpperCase())], ...s.skills.map((k) => [k.skill, ...JOB_STATES.map((st) => String(k[st]))])], '  '),
    );
  }

  out.push('', 'sessions');
  if (s.sessions.length === 0) out.push('  none: add one with bookd sessions add NAME --cookies FILE');
  else
    out.push(
      table(
        [
          ['NAME', 'STATE', 'REQUESTS', 'ERRORS', 'BOOKS', 'LAST USED', 'NOTE'],
          ...s.sessions.map((x) => [
            x.name,
            x.state,
            String(x.requests),
            String(x.errors),
            String(x.books_done),
            x.last_used_at === null ? '-' : relative(x.last_used_at, now),
            [x.cooldown_until !== null && x.cooldown_until > now ? `cooling until ${timestamp(x.cooldown_until)}` : '', x.last_error ?? '']
              .filter(Boolean)
              .join('; '),
          ]),
        ],
        '  ',
      ),
    );

  for (const e of s.expiring) out.push(`  expiring: ${e.message}`);

  if (s.watches.length) {
    out.push('', 'watches (bookd watch list)');
    out.push(table(watchRows(s.watches, now), '  '));
  }

  out.push('', 'daemons');
  if (s.daemons.length === 0) out.push('  none running (start one with bookd run, or the bookd service)');
  else
    out.push(
      table(
        s.daemons.map((d) => [
          `${d.host}:${d.pid}`,
          `${d.stale ? 'STALE, ' : ''}seen ${relative(d.seen_at, now)}, up ${duration(now - d.started_at)}`,
          d.note ?? '',
        ]),
        '  ',
      ),
    );
  return `${out.join('\n')}\n`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the queue: jobs per state and skill, running jobs with their session and progress, failures, sessions, daemons')
    .option('--json', 'print one JSON document (times in ISO 8601, UTC)')
    .option('--watch [seconds]', 'redraw every few seconds (default 2) until interrupted; with --json, one JSON line per redraw', parsePositiveInteger)
    .action(async (opts, cmd) => {
      const clock = systemClock;
      const samples: Parameters<typeof liveFigures>[1] = [];
      const show = (store: Store, config: Config) => {
        const now = clock.now();
        const snap = statusSnapshot(store, now, config.tuning.status.daemonStaleMs, config.expiryWarningMs);
        if (opts.json) {
          if (opts.watch) process.stdout.write(`${JSON.stringify(statusJson(snap))}\n`);
          else printJson(statusJson(snap));
        } else {
          if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
          if (opts.watch)
            process.stdout.write(
              `${progressLines(liveFigures(store, samples, now, config.tuning.status), process.stdout.isTTY ? process.stdout.columns : undefined).join('\n')}\n\n`,
            );
          process.stdout.write(renderStatus(snap, now));
          if (opts.watch && !process.stdout.isTTY) process.stdout.write('\n');
        }
      };
      if (opts.watch === undefined) {
        await withStore(cmd, show);
        return;
      }
      const everyMs = (opts.watch === true ? 2 : opts.watch) * 1000;
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await withStore(cmd, async (store, config) => {
          while (!stop.signal.aborted) {
            show(store, config);
            await clock.sleep(everyMs, stop.signal);
          }
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
