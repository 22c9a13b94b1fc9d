import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, tempDir } from '../helpers/cli.js';
import { epubcheckTs } from '../helpers/epubcheck.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { walk } from '../helpers/files.js';
import { startSimProcess, type SimCatalogue, type SimProcess } from '../helpers/sim.js';

describe('hostile server data', () => {
  let sim: SimProcess;
  let cat: SimCatalogue;
  before(async () => {
    sim = await startSimProcess(['--seed', '51', '--books', '4', '--hostile']);
    cat = await sim.catalogue();
  });
  after(async () => {
    await sim.stop();
  });

  test('path traversal, huge and endless bodies, gzip bombs, HTML or JSON posing as images, invalid XML, remote references: nothing escapes, memory stays bounded', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info', BOOKD_RETRY_BASE_MS: '10' });
      await addSessions(sim, 2, dir, env);
      const hostile = cat.books.filter((b) => b.flags.some((f) => f.startsWith('hostile')));
      assert.equal(hostile.length, 8);
      for (const b of hostile) await runCli(['enqueue', '--book', b.id], { env });
      const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 300_000 });
      const usage = run.stdout.split('\n').find((l) => l.includes('resource use of this run'));
      assert.ok(usage, run.stderr);
      const rssMb = (JSON.parse(usage) as { maxRssKb: number }).maxRssKb / 1024;
      assert.ok(rssMb < 700, `peak RSS ${rssMb.toFixed(0)} MB despite a 1 GiB body, a gzip bomb and an endless body`);

      // Nothing outside the library: the traversal targets do not exist, every file is under it.
      assert.ok(!existsSync('/etc/bookd-absolute.png'));
      assert.ok(!existsSync('/tmp/bookd-escape.png'));
      assert.ok(!existsSync(join(dir, 'bookd-escape.png')));
      const files = walk(dir).filter((f) => !f.startsWith(join(dir, 'data')) && !f.endsWith('.json'));
      assert.deepEqual(files, [], 'no file written outside the data dir');

      const lib = await cliJson<(LibraryEntry & { gaps: string[] })[]>(['library', 'list'], env);
      const jobs = await cliJson<{ state: string; payload?: { bookId?: string }; last_error?: unknown }[]>(['jobs', 'list'], env);
      for (const b of hostile) {
        const entry = lib.find((e) => e.id === b.id);
        const job = jobs.find((j) => JSON.stringify(j).includes(b.id))!;
        if (entry) {
          assert.equal(job.state, 'succeeded');
          assert.deepEqual((await epubcheckTs(join(dir, 'data', 'library', entry.path))).errors, [], `${b.flags[0]}: valid`);
        } else {
          assert.equal(job.state, 'failed', `${b.flags[0]} either archives or fails, never hangs`);
          assert.ok(JSON.stringify(job).length > 0);
        }
      }
      const byFlag = (flag: string) => lib.find((e) => cat.books.find((b) => b.id === e.id)!.flags.includes(flag as never));
      for (const flag of ['hostile-paths', 'hostile-huge', 'hostile-gzip-bomb', 'hostile-endless', 'hostile-html-image', 'hostile-json-image']) {
        const entry = byFlag(flag);
        assert.ok(entry, `${flag}: archived with a gap`);
        assert.ok(entry.gaps.length > 0, `${flag}: the refused file is a recorded gap`);
      }
      assert.ok(
        byFlag('hostile-remote-refs')!.gaps.some((g) => /evil\.invalid/.test(g)),
        'remote references are gaps, not fetched',
      );
      assert.ok(byFlag('hostile-invalid-xml'), 'invalid XML is repaired or rebuilt');
      const stats = await sim.stats();
      assert.equal(stats.sent['5xx'], 0);
    } finally {
      cleanup();
    }
  });
});

describe('operator mistakes', () => {
  test('every command with a missing or invalid argument exits 2 with one line', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = { BOOKD_DATA_DIR: join(dir, 'data') };
      const cases: string[][] = [
        ['--bogus'],
        ['nonsense'],
        ['sessions', 'add'],
        ['sessions', 'add', 'bad name!', '--cookies', 'x'],
        ['sessions', 'add', 'a'],
        ['sessions', 'add', 'a', '--email', 'e@x'],
        ['sessions', 'disable'],
        ['enqueue'],
        ['enqueue', '--book'],
        ['enqueue', '--book', '123'],
        ['enqueue', '--book', '9781492056355', '--format', 'pdf'],
        ['enqueue', '--skills', 'Go', '--max-books', 'many'],
        ['enqueue', '--skills', 'Go', '--priority', 'high'],
        ['status', '--watch', '--json', '--bogus'],
        ['jobs', 'list', '--state', 'done'],
        ['jobs', 'show', 'abc'],
        ['jobs', 'retry'],
        ['jobs', 'cancel'],
        ['library', 'list', '--extra'],
        ['run', '--workers', '0'],
        ['run', '--grace', 'soon'],
        ['daemon', '--session-interval', '-5'],
        ['sim', '--port', '99999'],
        ['sim', '--rotate', 'sometimes'],
        ['demo', '--sessions', 'zero'],
        ['--base-url', 'ftp://x', 'status'],
        ['--log-level', 'loud', 'status'],
      ];
      for (const args of cases) {
        const r = await runCli(args, { env });
        assert.equal(r.code, 2, `bookd ${args.join(' ')} → exit ${r.code}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, `bookd ${args.join(' ')}: one line, got ${r.stderr}`);
        assert.match(r.stderr, /^bookd: /);
        assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
      }
      assert.ok(!existsSync(join(dir, 'data', 'bookd.db')) || (await runCli(['status', '--json'], { env })).code === 0);
    } finally {
      cleanup();
    }
  });

  test('cookie files that are empty, binary, huge or without orm-jwt are refused and nothing is saved', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9' };
      const files: [string, Buffer | string, RegExp][] = [
        ['empty.json', '', /empty/],
        ['binary.bin', Buffer.from([0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x00, 0x03, 0xff, 0xfe]), /binary/],
        ['huge.json', `{"orm-jwt":"${'x'.repeat(2 << 20)}"}`, /larger than any cookie export/],
        ['nojwt.json', JSON.stringify({ groot_sessionid: 'abc' }), /no orm-jwt/],
      ];
      for (const [name, data, re] of files) {
        writeFileSync(join(dir, name), data);
        const r = await runCli(['sessions', 'add', 'x', '--cookies', join(dir, name)], { env });
        assert.equal(r.code, 1, `${name}: ${r.stderr}`);
        assert.match(r.stderr, re);
        assert.match(r.stderr, /export/, `${name}: says how to export cookies`);
      }
      const missing = await runCli(['sessions', 'add', 'x', '--cookies', join(dir, 'nope.json')], { env });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read the cookie file .*nope\.json \(ENOENT\)/);
      const list = await cliJson<unknown[]>(['sessions', 'list'], env);
      assert.deepEqual(list, [], 'nothing was saved');
    } finally {
      cleanup();
    }
  });

  test('a locked, truncated, foreign or newer database gives a clear message and is left unchanged', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const data = join(dir, 'data');
      const env = { BOOKD_DATA_DIR: data };
      assert.equal((await runCli(['status'], { env })).code, 0, 'creates a fresh store');
      const db = join(data, 'bookd.db');

      const newer = spawnSync('python3', ['-c', `import sqlite3; c=sqlite3.connect(${JSON.stringify(db)}); c.execute('PRAGMA user_version=999'); c.commit()`]);
      assert.equal(newer.status, 0);
      const before = readFileSync(db);
      const r = await runCli(['status'], { env });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /newer/);
      assert.deepEqual(readFileSync(db), before, 'the newer database is not touched');

      const truncated = join(dir, 'trunc');
      mkdirSync(truncated);
      writeFileSync(join(truncated, 'bookd.db'), before.subarray(0, 1000));
      const t = await runCli(['status'], { env: { BOOKD_DATA_DIR: truncated } });
      assert.equal(t.code, 78, t.stderr);
      assert.deepEqual(readFileSync(join(truncated, 'bookd.db')), before.subarray(0, 1000));

      // Another process holds the write lock and keeps it: a writing command waits, then says so.
      const fresh = join(dir, 'fresh');
      assert.equal((await runCli(['status'], { env: { BOOKD_DATA_DIR: fresh } })).code, 0);
      const locker = spawn(
        'python3',
        [
          '-u',
          '-c',
          `import sqlite3,time\nc=sqlite3.connect(${JSON.stringify(join(fresh, 'bookd.db'))}, isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked')\ntime.sleep(120)`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve) => locker.stdout.once('data', () => resolve()));
        const locked = await runCli(['pause', '--reason', 'x'], { env: { BOOKD_DATA_DIR: fresh }, timeoutMs: 90_000 });
        assert.equal(locked.code, 1);
        assert.match(locked.stderr, /stayed locked by another process for \d+ s .*try again/);
        const status = await runCli(['status', '--json'], { env: { BOOKD_DATA_DIR: fresh } });
        assert.equal(status.code, 0, 'reading still works meanwhile');
        assert.equal((JSON.parse(status.stdout) as { paused: boolean }).paused, false, 'nothing changed');
      } finally {
        locker.kill('SIGKILL');
      }

      const foreign = join(dir, 'foreign');
      mkdirSync(foreign);
      writeFileSync(join(foreign, 'bookd.db'), 'this is a shopping list, not a database\n');
      const f = await runCli(['status'], { env: { BOOKD_DATA_DIR: foreign } });
      assert.equal(f.code, 78);
      assert.match(f.stderr, /not .*SQLite|not a bookd database|not a database/i);
    } finally {
      cleanup();
    }
  });
});

/** A 2 MiB tmpfs as the library when we may mount one (root); otherwise the test is skipped. */
function smallDisk(path: string, opts = 'size=2m'): boolean {
  mkdirSync(path, { recursive: true });
  return process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', path]).status === 0;
}

const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  const { dir, cleanup } = tempDir();
  const ok = smallDisk(join(dir, 'm'));
  if (ok) spawnSync('umount', [join(dir, 'm')]);
  cleanup();
  return ok;
})();

describe('a library disk that is full or read-only', { skip: canMount ? false : 'needs root and tmpfs mounts to make a small or read-only disk' }, () => {
  let sim: SimProcess;
  before(async () => {
    sim = await startSimProcess(['--seed', '52', '--books', '12', '--chapters', '20', '--chapter-kb', '40', '--images', '3', '--image-kb', '40']);
  });
  after(async () => {
    await sim.stop();
  });

  test('a read-only library fails at start with exit 78', async () => {
    const { dir, cleanup } = tempDir();
    const lib = join(dir, 'lib');
    assert.ok(smallDisk(lib, 'size=2m,ro'));
    try {
      const r = await runCli(['run', '--until-empty'], { env: { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_LIBRARY: lib } });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /the library .* is not writable \(EROFS\)/);
    } finally {
      spawnSync('umount', [lib]);
      cleanup();
    }
  });

  test('a full disk stops the run with a clear message; archived books stay intact and nothing is lost', async () => {
    const { dir, cleanup } = tempDir();
    const lib = join(dir, 'lib');
    assert.ok(smallDisk(lib, 'size=3m'));
    try {
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LIBRARY: lib, BOOKD_LOG_LEVEL: 'info' });
      await addSessions(sim, 1, dir, env);
      const ids = (await sim.catalogue()).books.filter((b) => b.flags.length === 0 && b.format === 'book').map((b) => b.id);
      for (const id of ids) await runCli(['enqueue', '--book', id], { env });
      const r = await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /disk refused a write \(ENOSPC/);
      const status = await cliJson<{ jobs: Record<'queued' | 'running' | 'succeeded' | 'failed', number> }>(['status'], env);
      assert.equal(status.jobs.failed, 0, 'no book is failed for the disk');
      assert.equal(status.jobs.running, 0);
      assert.ok(status.jobs.queued > 0, 'the rest waits in the queue');
      assert.equal(status.jobs.succeeded + status.jobs.queued, ids.length, 'nothing lost');
      const verify = await runCli(['library', 'verify'], { env });
      assert.equal(verify.code, 0, `archived books intact: ${verify.stdout}`);
    } finally {
      spawnSync('umount', [lib]);
      cleanup();
    }
  });
});
