import { readFileSync } from 'node:fs';
import { Option, type Command } from '@commander-js/extra-typings';
import { BookdError, UsageError, errorMessage } from '../errors.js';
import { parseBookList } from '../ids.js';
import { BOOK_FORMATS, type EnqueueItem, type EnqueueResult, type EnqueueStatus } from '../db/jobs.js';
import type { Config } from '../config.js';
import type { Store } from '../db/store.js';
import { describeDiscovery, discoverSkill, discoveredItems, findPlaylist, isArchivedIn } from '../jobs/discover.js';
import { enqueueItems, parseBookRefs, skillList, type BookWanted } from '../jobs/enqueue-items.js';
import { OreillyClient } from '../oreilly/client.js';
import { withOneSession } from './support/one-session.js';
import { withStore } from './support/context.js';
import { printJson } from './support/format.js';
import { collect, parseInteger, parsePositiveInteger } from './support/args.js';

function readListFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`--from-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
}

function booksFromFile(file: string): BookWanted[] {
  const list = parseBookList(readListFile(file));
  if (list.errors.length) {
    const more = list.errors.length > 1 ? ` (and ${list.errors.length - 1} more bad ${list.errors.length === 2 ? 'entry' : 'entries'})` : '';
    throw new UsageError(`--from-file ${file}: ${list.errors[0]}${more}; nothing was enqueued: fix the file and run again`);
  }
  if (list.entries.length === 0) throw new UsageError(`--from-file ${file}: the file names no books; nothing was enqueued`);
  return list.entries.map((e) => ({ id: e.id, ...(e.title && { title: e.title }), skills: list.skill ? [list.skill] : [] }));
}

const VERB: Record<EnqueueStatus, [done: string, dry: string]> = {
  added: ['added', 'would add'],
  merged: ['updated', 'would update'],
  requeued: ['requeued', 'would requeue'],
  exists: ['exists', 'exists'],
};

function describe(item: EnqueueItem): string {
  if (item.kind === 'discover') return `discover ${item.payload.skill}`;
  const title = item.payload.title ? `  ${item.payload.title}` : '';
  return `book ${item.payload.bookId} ${item.payload.format}${title}`;
}

function note(r: EnqueueResult, item: EnqueueItem, force: boolean): string {
  if (r.status === 'exists') {
    if (r.state === 'queued' || r.state === 'running') return ` (${r.state})`;
    if (item.kind === 'book' && !force) return ` (${r.state}; --force queues it again${r.state === 'failed' ? ', or bookd jobs retry' : ''})`;
    return ` (${r.state})`;
  }
  if (r.status === 'merged') return ` (${r.state}; new skill or sooner priority merged in)`;
  return '';
}

/** The books of the named playlists, read with one session. */
async function booksFromPlaylists(store: Store, config: Config, wanted: string[]): Promise<BookWanted[]> {
  const playlists = await withOneSession(store, config, (s) => new OreillyClient().playlists(s));
  const out: BookWanted[] = [];
  for (const w of wanted) {
    const p = findPlaylist(playlists, w);
    if (!p) {
      const known = playlists.map((x) => `${x.name} (${x.uuid})`).join(', ') || 'none';
      throw new UsageError(`--playlist ${w}: no such playlist; yours are: ${known}; nothing was enqueued`);
    }
    out.push(...p.bookIds.map((id) => ({ id, skills: [] })));
  }
  return out;
}

/**
 * `--skills --dry-run`: each discovery run now with one session; the books it would queue instead
 * of the discover jobs. Without a usable session the discover jobs themselves are shown.
 */
async function discoverNow(store: Store, config: Config, items: EnqueueItem[], say: (line: string) => void): Promise<EnqueueItem[]> {
  const client = new OreillyClient();
  if (!(await store.sessions.list()).some((s) => s.state === 'ok')) {
    say('(no usable session, so the discovery is not run: the discover jobs are shown instead)');
    return items;
  }
  return withOneSession(store, config, async (session) => {
    const out: EnqueueItem[] = [];
    for (const item of items) {
      if (item.kind !== 'discover') {
        out.push(item);
        continue;
      }
      const d = await discoverSkill({
        listPage: (page) => client.topicPage(session, item.payload.skill, page),
        payload: item.payload,
        languages: config.languages,
        isArchived: isArchivedIn(store),
      });
      const found = discoveredItems(d, item.payload);
      say(describeDiscovery(d, found.length, 'found'));
      out.push(...found);
    }
    return out;
  });
}

export function registerEnqueue(program: Command): void {
  program
    .command('enqueue')
    .description(
      'add books, or skills to discover, to the queue. Idempotent: a book or skill already queued is reported, not added twice; ' +
        'a finished book is only queued again with --force, a finished skill discovery is always run again (it finds new books).',
    )
    .option('--book <id-or-url...>', 'book ids (13 digits) or book URLs; repeatable')
    .option('--from-file <file>', "a list of ids/URLs, one per line ('#' comments), or an older tool's book_ids/<skill>_books.json; '-' reads stdin")
    .option('--skills <list>', 'comma-separated skills to discover, e.g. "Python, Go" (one discover job per skill)')
    .option('--playlist <uuid...>', "the books of your O'Reilly playlists (uuid, or name as shown on the site); asks the service with one session")
    .option('--max-books <n>', 'with --skills: discover at most N books per skill', parsePositiveInteger)
    .option('--exclude-skill <skill>', 'with --skills: leave out books that are also in this skill; repeatable', collect)
    .addOption(new Option('--format <format>', 'what to archive').choices(BOOK_FORMATS).default('epub'))
    .option(
      '--priority <n>',
      'lower runs first (defaults: books 100, skill discovery 50, discovered books 200); with --skills it also applies to the books found',
      parseInteger,
    )
    .option('--force', 're-queue books that already finished (succeeded, failed or cancelled)')
    .option('--dry-run', 'print what would change, change nothing; with --skills, run the discovery now (one session) and list the books it would queue')
    .option('--json', 'print {dry_run, jobs: [{status, id, state, key, kind, payload}], counts} instead of lines (other remarks go to stderr)')
    .action(async (opts, cmd) => {
      if (!opts.book && !opts.fromFile && !opts.skills && !opts.playlist) throw new UsageError('enqueue needs --book, --from-file, --skills or --playlist');
      const excludeSkills = opts.excludeSkill ?? [];
      if (!opts.skills && (opts.maxBooks !== undefined || excludeSkills.length)) {
        throw new UsageError('--max-books and --exclude-skill apply to --skills; add --skills or drop them');
      }
      const books: BookWanted[] = parseBookRefs(opts.book ?? [], '--book');
      if (opts.fromFile) books.push(...booksFromFile(opts.fromFile));
      if (opts.playlist) {
        books.push(...(await withStore(cmd, (store, config) => booksFromPlaylists(store, config, opts.playlist!), { memoryIfMissing: opts.dryRun ?? false })));
      }

      const items: EnqueueItem[] = enqueueItems({
        books,
        skills: opts.skills ? skillList(opts.skills) : [],
        format: opts.format,
        ...(opts.priority !== undefined && { priority: opts.priority }),
        ...(opts.maxBooks !== undefined && { maxBooks: opts.maxBooks }),
        excludeSkills,
      });

      const dryRun = opts.dryRun ?? false;
      const force = opts.force ?? false;
      if (dryRun && items.some((i) => i.kind === 'discover')) {
        // Discovery runs now, asking the service, so the answer is the books themselves.
        // With --json, stdout holds the one JSON document only.
        const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
        const discovered = await withStore(cmd, (store, config) => discoverNow(store, config, items, say), { memoryIfMissing: true });
        items.splice(0, items.length, ...discovered);
      }
      const results = await withStore(
        cmd,
        async (store) => {
          try {
            return await store.jobs.enqueue(items, { force, dryRun });
          } catch (err) {
            if (err instanceof BookdError && err.kind === 'bad_input') throw new UsageError(err.message);
            throw err;
          }
        },
        { memoryIfMissing: dryRun },
      );

      const tally: Record<EnqueueStatus, number> = { added: 0, merged: 0, requeued: 0, exists: 0 };
      if (opts.json) {
        for (const r of results) tally[r.status]++;
        printJson({
          dry_run: dryRun,
          // A dry run's new jobs have no id yet.
          jobs: results.map((r, i) => ({
            status: r.status,
            id: dryRun && r.status === 'added' ? null : r.id,
            state: r.state,
            key: r.key,
            kind: items[i]!.kind,
            payload: items[i]!.payload,
          })),
          counts: tally,
        });
        return;
      }
      results.forEach((r, i) => {
        const item = items[i]!;
        tally[r.status]++;
        const verb = VERB[r.status][dryRun ? 1 : 0];
        const id = dryRun && r.status === 'added' ? '' : `  #${r.id}`;
        process.stdout.write(`${verb.padEnd(13)} ${describe(item)}${id}${note(r, item, force)}\n`);
      });
      const summary = (['added', 'merged', 'requeued', 'exists'] as const)
        .filter((s) => tally[s] > 0)
        .map((s) => `${s === 'exists' ? 'already there' : VERB[s][dryRun ? 1 : 0]} ${tally[s]}`)
        .join(', ');
      process.stdout.write(dryRun ? `dry run: ${summary}; nothing was changed\n` : `${summary}\n`);
    });
}
