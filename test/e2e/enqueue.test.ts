import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { openSqliteStore, type SqliteStore } from '../../src/db/store.js';

function bookd(dataDir: string, args: string[], input?: string): Promise<CliResult> {
  return runCli(['--data-dir', dataDir, ...args], input === undefined ? {} : { input });
}

function withStore<T>(dataDir: string, fn: (store: SqliteStore) => T): T {
  const store = openSqliteStore(join(dataDir, 'bookd.db'));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r;
}

function usage(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, `expected a usage error, got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('enqueue books and skills; enqueueing again adds nothing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const first = ok(
    await bookd(dir, [
      'enqueue',
      '--book',
      '9781492056348',
      'https://learning.oreilly.com/library/view/robust-python/9781098100650/',
      '--skills',
      'Python, Go',
    ]),
  );
  assert.match(first.stdout, /^added\s+book 9781492056348 epub {2}#1$/m);
  assert.match(first.stdout, /^added\s+book 9781098100650 epub {2}#2$/m);
  assert.match(first.stdout, /^added\s+discover Python {2}#3$/m);
  assert.match(first.stdout, /^added\s+discover Go {2}#4$/m);
  assert.match(first.stdout, /^added 4$/m);

  const again = ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '--skills', 'python']));
  assert.match(again.stdout, /^exists\s+book 9781492056348 epub {2}#1 \(queued\)$/m);
  assert.match(again.stdout, /^exists\s+discover python {2}#3 \(queued\)$/m);
  assert.match(again.stdout, /^already there 2$/m);
  withStore(dir, (s) => {
    assert.equal(s.views.counts().queued, 4);
    assert.deepEqual(
      s.views.list({ kind: 'book' }).map((j) => j.priority),
      [100, 100],
    );
    assert.deepEqual(
      s.views.list({ kind: 'discover' }).map((j) => j.priority),
      [50, 50],
    );
  });
});

test('--from-file takes ids and URLs per line with comments, or stdin', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const list = join(dir, 'books.txt');
  writeFileSync(list, '# to read\n9781492056348\n\nhttps://learning.oreilly.com/library/view/x/9781098100650/#toc  # robust\n9781492056348\n');
  const r = ok(await bookd(dir, ['enqueue', '--from-file', list, '--priority', '5']));
  assert.match(r.stdout, /^added 2$/m, 'the duplicate line is one job');
  withStore(dir, (s) =>
    assert.deepEqual(
      s.views.list().map((j) => [j.kind === 'book' && j.payload.bookId, j.priority]),
      [
        ['9781492056348', 5],
        ['9781098100650', 5],
      ],
    ),
  );

  const stdin = ok(await bookd(dir, ['enqueue', '--from-file', '-'], '9781491950357\n'));
  assert.match(stdin.stdout, /^added\s+book 9781491950357 epub/m);
});

test('a bad line in --from-file names its line number and nothing from the file is enqueued', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const list = join(dir, 'books.txt');
  writeFileSync(list, '9781492056348\n9781098100650\n149205634X\nnot a book\n');
  usage(
    await bookd(dir, ['enqueue', '--from-file', list, '--skills', 'Go']),
    /--from-file .*books\.txt: line 3: "149205634X" is not a book id .*\(and 1 more bad entry\); nothing was enqueued/,
  );
  withStore(dir, (s) => assert.equal(s.views.list().length, 0));
  usage(await bookd(dir, ['enqueue', '--from-file', join(dir, 'absent.txt')]), /--from-file .*absent\.txt: cannot read it \(ENOENT\)/);
  writeFileSync(list, '# nothing here\n');
  usage(await bookd(dir, ['enqueue', '--from-file', list]), /names no books/);
});

test("--from-file reads the older tools' book_ids/<skill>_books.json, taking the skill and titles", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'Machine Learning_books.json');
  writeFileSync(
    file,
    JSON.stringify({
      skill_name: 'Machine Learning',
      books: [
        { id: 'https://learning.oreilly.com/library/view/hands-on-machine-learning/9781098125967/', title: 'Hands-On Machine Learning' },
        { id: '9781492032649', title: 'Designing Machine Learning Systems' },
      ],
    }),
  );
  const r = ok(await bookd(dir, ['enqueue', '--from-file', file, '--book', '9781492032649']));
  assert.match(r.stdout, /^added\s+book 9781098125967 epub {2}Hands-On Machine Learning {2}#2$/m);
  assert.match(r.stdout, /^added 2$/m);
  const list = JSON.parse(ok(await bookd(dir, ['jobs', 'list', '--skill', 'machine learning', '--json'])).stdout) as {
    payload: { bookId: string; skills: string[]; title?: string };
  }[];
  assert.deepEqual(
    list.map((j) => [j.payload.bookId, j.payload.skills, j.payload.title]),
    [
      ['9781492032649', ['Machine Learning'], 'Designing Machine Learning Systems'],
      ['9781098125967', ['Machine Learning'], 'Hands-On Machine Learning'],
    ],
  );
});

test('--dry-run shows what would change and changes nothing, not even creating the database', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const fresh = join(dir, 'fresh');
  const r = ok(await bookd(fresh, ['enqueue', '--book', '9781492056348', '--skills', 'Go', '--dry-run']));
  assert.match(r.stdout, /^would add\s+book 9781492056348 epub$/m);
  assert.match(r.stdout, /^dry run: would add 2; nothing was changed$/m);
  assert.equal(existsSync(fresh), false);
  const playlist = await bookd(fresh, ['enqueue', '--playlist', 'Reading list', '--dry-run']);
  assert.equal(playlist.code, 1);
  assert.match(playlist.stderr, /needs a session.*there are no sessions/);
  assert.equal(existsSync(fresh), false, 'a playlist dry run on a fresh data dir creates nothing either');

  ok(await bookd(dir, ['enqueue', '--book', '9781492056348']));
  const db = join(dir, 'bookd.db');
  const before = withStore(dir, (s) => JSON.stringify(s.db.prepare('SELECT * FROM jobs').all()));
  const dry = ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '9781098100650', '--skills', 'Go', '--dry-run', '--force']));
  assert.match(dry.stdout, /^exists\s+book 9781492056348 epub {2}#1 \(queued\)$/m);
  assert.match(dry.stdout, /^dry run: would add 2, already there 1; nothing was changed$/m);
  assert.equal(
    withStore(dir, (s) => JSON.stringify(s.db.prepare('SELECT * FROM jobs').all())),
    before,
  );
  assert.ok(readFileSync(db).length > 0);
});

test('a finished book is re-queued only with --force; a finished skill discovery always runs again', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  ok(
    await bookd(dir, [
      'enqueue',
      '--book',
      '9781492056348',
      '--skills',
      'Go',
      '--max-books',
      '20',
      '--exclude-skill',
      'Python',
      '--exclude-skill',
      'Rust',
      '--priority',
      '70',
    ]),
  );
  withStore(dir, (s) => {
    for (const j of s.jobs.claim({ owner: 't', limit: 5, leaseMs: 60_000 })) s.jobs.complete(j.id, j.leaseToken);
    const discover = s.jobs.get(2)!;
    assert.equal(discover.priority, 70);
    assert.deepEqual(discover.payload, { skill: 'Go', format: 'epub', maxBooks: 20, priority: 70, excludeSkills: ['Python', 'Rust'] });
  });
  const again = ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '--skills', 'Go']));
  assert.match(again.stdout, /^exists\s+book 9781492056348 epub {2}#1 \(succeeded; --force queues it again\)$/m);
  assert.match(again.stdout, /^requeued\s+discover Go {2}#2$/m);
  const forced = ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '--force']));
  assert.match(forced.stdout, /^requeued\s+book 9781492056348 epub {2}#1$/m);
  withStore(dir, (s) => assert.deepEqual(s.views.counts(), { queued: 2, running: 0, succeeded: 0, failed: 0, cancelled: 0 }));
  const both = ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '--format', 'both']));
  assert.match(both.stdout, /^added\s+book 9781492056348 both {2}#3$/m);
});

test('enqueue usage errors exit 2 with one line and change nothing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  usage(await bookd(dir, ['enqueue']), /enqueue needs --book, --from-file, --skills or --playlist/);
  usage(await bookd(dir, ['enqueue', '--book', '149205634X']), /--book: "149205634X" is not a book id/);
  usage(await bookd(dir, ['enqueue', '--book', '9781492056348', '--format', 'pdf']), /--format.*pdf.*(epub, kindle, both|choices)/i);
  usage(await bookd(dir, ['enqueue', '--book', '9781492056348', '--priority', 'soon']), /--priority.*whole number/);
  usage(await bookd(dir, ['enqueue', '--book', '9781492056348', '--max-books', '5']), /--max-books and --exclude-skill apply to --skills/);
  usage(await bookd(dir, ['enqueue', '--skills', 'Go', '--max-books', '0']), /--max-books.*at least 1/);
  usage(await bookd(dir, ['enqueue', '--skills', ' , ']), /--skills: give at least one skill/);
  usage(await bookd(dir, ['enqueue', '--bogus', 'abc']), /unknown option '--bogus'/);
  assert.equal(existsSync(join(dir, 'bookd.db')) ? withStore(dir, (s) => s.views.list().length) : 0, 0);
});

test('enqueue --help documents every option', async () => {
  const r = ok(await runCli(['enqueue', '--help']));
  for (const opt of ['--book', '--from-file', '--skills', '--max-books', '--exclude-skill', '--format', '--priority', '--force', '--dry-run', '--json']) {
    assert.match(r.stdout, new RegExp(`${opt}\\b`), opt);
  }
  assert.match(r.stdout, /choices: "epub", "kindle", "both"/);
});

interface EnqueueJson {
  dry_run: boolean;
  counts: Record<string, number>;
  jobs: { status: string; kind: string; state: string; id: number | null; payload: { bookId?: string } }[];
}

test('enqueue --json prints one JSON document of what changed, also for a dry run; a usage error still exits 2', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const first = JSON.parse(ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '--skills', 'Go', '--json'])).stdout) as EnqueueJson;
  assert.equal(first.dry_run, false);
  assert.deepEqual(first.counts, { added: 2, merged: 0, requeued: 0, exists: 0 });
  assert.deepEqual(
    first.jobs.map((j) => [j.status, j.kind, j.state, typeof j.id]),
    [
      ['added', 'book', 'queued', 'number'],
      ['added', 'discover', 'queued', 'number'],
    ],
  );
  assert.equal(first.jobs[0]!.payload.bookId, '9781492056348');
  const again = JSON.parse(ok(await bookd(dir, ['enqueue', '--book', '9781492056348', '--json'])).stdout) as EnqueueJson;
  assert.deepEqual(again.counts, { added: 0, merged: 0, requeued: 0, exists: 1 });
  assert.equal(again.jobs[0]!.id, first.jobs[0]!.id);
  const dry = JSON.parse(ok(await bookd(dir, ['enqueue', '--book', '9781098100650', '--dry-run', '--json'])).stdout) as EnqueueJson;
  assert.equal(dry.dry_run, true);
  assert.equal(dry.jobs[0]!.id, null);
  withStore(dir, (s) => assert.equal(s.views.counts().queued, 2, 'the dry run changed nothing'));
  usage(await bookd(dir, ['enqueue', '--json']), /needs --book/);
});
