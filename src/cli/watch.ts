import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { systemClock } from '../clock.js';
import { BOOK_FORMATS } from '../db/jobs.js';
import type { Watch, WatchKind, WatchOptions } from '../db/watches.js';
import { UsageError } from '../errors.js';
import { mergeSkills } from '../db/jobs.js';
import { skillList } from '../jobs/enqueue-items.js';
import { withStore } from './support/context.js';
import { printJson, table } from './support/format.js';
import { collect, parseDuration, parsePositiveInteger } from './support/args.js';
import { duration, relative, timestamp } from '../views/format.js';
import { describeWatch, foundText, watchJson } from '../views/watches.js';

function parseWatchId(value: string): number {
  const n = Number(value.trim().replace(/^#/, ''));
  if (!/^#?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a watch id such as 3 (see bookd watch list).');
  return n;
}

/** The watches as rows for a table: id, what, period, last run, next run, what the last run found. */
export function watchRows(watches: readonly Watch[], now: number): string[][] {
  return [
    ['ID', 'WATCH', 'EVERY', 'LAST RUN', 'NEXT RUN', 'LAST FOUND'],
    ...watches.map((w) => [
      `#${w.id}`,
      describeWatch(w),
      duration(w.periodMs),
      w.lastRunAt === undefined ? '-' : relative(w.lastRunAt, now),
      w.nextRunAt <= now ? 'due now' : `${timestamp(w.nextRunAt)} (${relative(w.nextRunAt, now)})`,
      foundText(w),
    ]),
  ];
}

function registerAdd(watch: Command): void {
  watch
    .command('add')
    .description('watch skills or a playlist: the daemon (bookd run) enqueues them again every period, adding only books not yet archived or queued')
    .option('--skills <list>', 'comma-separated skills to discover on every run, e.g. "Python, Go"')
    .option('--playlist <uuid-or-name>', "one of your O'Reilly playlists (uuid, or name as shown on the site)")
    .option('--every <period>', 'how often, such as 6h or 7d (s, m, h, d; defaults: skills 7d, playlist 1d)', parseDuration)
    .addOption(new Option('--format <format>', 'what to archive').choices(BOOK_FORMATS).default('epub'))
    .option('--max-books <n>', 'with --skills: discover at most N books per skill on each run', parsePositiveInteger)
    .option('--exclude-skill <skill>', 'with --skills: leave out books that are also in this skill; repeatable', collect)
    .option('--keep-previous', 'when a book it finds has grown and is archived again, keep the older file beside it as "… (rev N).epub"')
    .option('--json', 'print the new watch as JSON')
    .action(async (opts, cmd) => {
      if (!opts.skills === !opts.playlist) throw new UsageError('watch add needs --skills or --playlist (one of them)');
      const excludeSkills = mergeSkills([], (opts.excludeSkill ?? []).map((s) => s.trim()).filter(Boolean));
      if (opts.playlist && (opts.maxBooks !== undefined || excludeSkills.length)) {
        throw new UsageError('--max-books and --exclude-skill apply to --skills; drop them for --playlist');
      }
      const kind: WatchKind = opts.skills ? 'skills' : 'playlist';
      const target = opts.skills ? skillList(opts.skills).join(', ') : opts.playlist!.trim();
      if (!target) throw new UsageError('--playlist: give a playlist uuid or name');
      const options: WatchOptions = {
        format: opts.format,
        ...(opts.maxBooks !== undefined && { maxBooks: opts.maxBooks }),
        ...(excludeSkills.length && { excludeSkills }),
        ...(opts.keepPrevious && { keepPrevious: true }),
      };
      await withStore(cmd, async (store, config) => {
        const t = config.tuning.watch;
        const periodMs = opts.every ?? (kind === 'skills' ? t.skillsEveryMs : t.playlistEveryMs);
        if (periodMs < t.warnBelowMs) {
          process.stderr.write(
            `warning: --every ${duration(periodMs)} is under ${duration(t.warnBelowMs)}: every run asks the service, so keep watches to hours or days\n`,
          );
        }
        const w = await store.watches.add({ kind, target, options, periodMs });
        if (opts.json) return printJson(watchJson(w));
        process.stdout.write(`added watch #${w.id}: ${describeWatch(w)} every ${duration(periodMs)}; its first run is when a daemon (bookd run) next looks\n`);
      });
    });
}

function registerList(watch: Command): void {
  watch
    .command('list')
    .description('list the watches: what, how often, the last and next run, and what the last run found')
    .option('--json', 'print a JSON array (times in ISO 8601, UTC)')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store) => {
        const list = await store.watches.list();
        if (opts.json) return printJson(list.map(watchJson));
        if (list.length === 0) {
          process.stdout.write('no watches (add one with bookd watch add --skills "Python")\n');
          return;
        }
        process.stdout.write(`${table(watchRows(list, systemClock.now()))}\n`);
      });
    });
}

function registerRemove(watch: Command): void {
  watch
    .command('remove')
    .description('stop watching (jobs its runs queued stay queued)')
    .argument('[id]', 'the watch id (from bookd watch list)', parseWatchId)
    .option('--all', 'remove every watch')
    .action(async (id, opts, cmd) => {
      if (id === undefined && !opts.all) throw new UsageError('watch remove needs a watch id or --all');
      if (id !== undefined && opts.all) throw new UsageError('watch remove takes a watch id or --all, not both');
      await withStore(cmd, async (store) => {
        if (opts.all) {
          const n = await store.watches.removeAll();
          process.stdout.write(`removed ${n} watch${n === 1 ? '' : 'es'}\n`);
          return;
        }
        if (!(await store.watches.remove(id!))) throw new Error(`no watch #${id} (see bookd watch list)`);
        process.stdout.write(`removed watch #${id}\n`);
      });
    });
}

export function registerWatch(program: Command): void {
  const watch = program.command('watch').description('watched skills and playlists: enqueued again by the daemon on a schedule');
  registerAdd(watch);
  registerList(watch);
  registerRemove(watch);
}
