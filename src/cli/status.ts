import type { Command } from '@commander-js/extra-typings';
import { systemClock } from '../clock.js';
import { JOB_STATES } from '../db/jobs.js';
import type { Config } from '../config.js';
import type { Store } from '../db/store.js';
import { progressLines } from './support/progress.js';
import { withStore } from './support/context.js';
import { printJson, table } from './support/format.js';
import { parsePositiveInteger } from './support/args.js';
import { watchRows } from './watch.js';
import { liveFigures } from '../views/pace.js';
import { duration, progressText, relative, timestamp } from '../views/format.js';
import { statusJson, statusSnapshot, type Snapshot } from '../views/status.js';

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
      const show = async (store: Store, config: Config) => {
        const now = clock.now();
        const snap = await statusSnapshot(store, now, config.tuning.status.daemonStaleMs, config.expiryWarningMs);
        if (opts.json) {
          if (opts.watch) process.stdout.write(`${JSON.stringify(statusJson(snap))}\n`);
          else printJson(statusJson(snap));
        } else {
          if (opts.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
          if (opts.watch)
            process.stdout.write(
              `${progressLines(await liveFigures(store, samples, now, config.tuning.status), process.stdout.isTTY ? process.stdout.columns : undefined).join('\n')}\n\n`,
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
            await show(store, config);
            await clock.sleep(everyMs, stop.signal);
          }
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
