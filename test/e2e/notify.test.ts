import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, tempDir } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';
import { deadUrl, startReceiver } from '../helpers/receiver.js';

/** The simulator's session id inside an orm-jwt. */
function sidOfJwt(jwt: string): string {
  return (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
}

/** Every cookie value in the stored jars (as the daemon left them) and in the sets the sim minted, long enough to be a secret. */
function cookieValues(dbPath: string, minted: Record<string, string>[]): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT jar FROM sessions').all() as { jar: string }[];
    const stored = rows.flatMap((r) => (JSON.parse(r.jar) as { cookies: { value: string }[] }).cookies.map((c) => c.value));
    return [...new Set([...stored, ...minted.flatMap((m) => Object.values(m))])].filter((v) => v.length >= 8);
  } finally {
    db.close();
  }
}

/** A script that writes its BOOKD_* environment to `<dir>/<prefix>-<$key>-<n>.env`. */
function envScript(dir: string, prefix: string, key: string): string {
  const script = join(dir, `${prefix}.sh`);
  writeFileSync(script, `#!/bin/sh\nenv | grep '^BOOKD_' | sort > "${dir}/${prefix}-$${key}-$$.env"\n`);
  chmodSync(script, 0o755);
  return script;
}

function envFiles(dir: string, prefix: string): Record<string, string>[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.env'))
    .map((f) =>
      Object.fromEntries(
        readFileSync(join(dir, f), 'utf8')
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      ),
    );
}

let sim: SimProcess;
let ids: string[];
before(async () => {
  sim = await startSimProcess(['--seed', '41', '--books', '8']);
  ids = (await sim.catalogue()).books
    .filter((b) => b.flags.length === 0)
    .slice(0, 3)
    .map((b) => b.id);
});
after(async () => {
  await sim.stop();
});

test('a daemon run: a session revoked in the sim is one session.expired naming it, the end of the run one queue.drained; the command and onArchived hook get their environment; nothing secret in any body', async () => {
  const { dir, cleanup } = tempDir();
  const rx = await startReceiver();
  try {
    const data = join(dir, 'data');
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        notify: { webhooks: [`${rx.url}/hooks/PATH-SECRET`], command: envScript(dir, 'notify', 'BOOKD_EVENT') },
        onArchived: [envScript(dir, 'archived', 'BOOKD_BOOK_ID')],
      }),
    );
    const env = bookdEnv(data, sim.url, { BOOKD_CONFIG: config, BOOKD_LOG_LEVEL: 'info' });
    const minted = await addSessions(sim, 2, dir, env);
    // s1 is logged out behind bookd's back: its tokens and its orm-rt are refused from now on.
    await sim.control({ revoke: [sidOfJwt(minted[0]!['orm-jwt']!)] });
    for (const id of ids) assert.equal((await runCli(['enqueue', '--book', id], { env })).code, 0);

    const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 90_000 });
    assert.equal(run.code, 0, run.stderr);
    const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
    assert.equal(lib.length, ids.length, 'every book archived by the session that still works');
    const sessions = await cliJson<{ name: string; state: string }[]>(['sessions', 'list'], env);
    assert.equal(sessions.find((s) => s.name === 's1')!.state, 'expired');

    const events = rx.events();
    assert.ok(rx.paths.every((p) => p === '/hooks/PATH-SECRET'));
    const expired = events.filter((e) => e.event === 'session.expired');
    assert.equal(expired.length, 1, `one session.expired, got ${JSON.stringify(events.map((e) => e.event))}`);
    const e = expired[0]!;
    assert.deepEqual(Object.keys(e).sort(), ['at', 'event', 'host', 'message', 'session']);
    assert.equal(e.session, 's1');
    assert.equal(e.host, hostname());
    assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(e.message, /^session s1 is logged out.*: log in again in the browser and run bookd sessions renew s1 --from-browser /);
    const drained = events.filter((x) => x.event === 'queue.drained');
    assert.equal(drained.length, 1, 'one queue.drained');
    assert.equal(events.at(-1)!.event, 'queue.drained', 'the drain is the last thing said');
    assert.match(drained[0]!.message, /^the queue is empty: \d+ jobs? done/);
    assert.ok(!events.some((x) => x.event === 'job.changed' || x.event === 'book.archived'), 'no notification per job or book');
    const keys = events.map((x) => `${x.event}/${x.session ?? x.book?.id ?? ''}`);
    assert.equal(new Set(keys).size, keys.length, 'each event once');

    const secrets = cookieValues(join(data, 'bookd.db'), minted);
    assert.ok(secrets.length >= 6, 'the scan has cookie values to look for');
    for (const body of rx.bodies) for (const s of secrets) assert.ok(!body.includes(s), 'no cookie value in a webhook body');

    // The command heard the same events, in its environment.
    const told = envFiles(dir, 'notify');
    assert.deepEqual(told.map((t) => t.BOOKD_EVENT).sort(), events.map((x) => x.event).sort());
    const cmdExpired = told.find((t) => t.BOOKD_EVENT === 'session.expired')!;
    assert.equal(cmdExpired.BOOKD_SESSION, 's1');
    assert.equal(cmdExpired.BOOKD_MESSAGE, e.message);
    assert.equal(cmdExpired.BOOKD_AT, e.at);
    assert.equal(cmdExpired.BOOKD_HOST, hostname());
    for (const t of told) for (const s of secrets) assert.ok(!Object.values(t).some((v) => v.includes(s)), 'no cookie value in the environment');

    // The onArchived hook ran once per book placed, with its path, id, title, skills and format.
    const hooked = envFiles(dir, 'archived');
    assert.deepEqual(hooked.map((h) => h.BOOKD_BOOK_ID).sort(), [...ids].sort());
    for (const h of hooked) {
      const entry = lib.find((b) => b.id === h.BOOKD_BOOK_ID)!;
      assert.ok(isAbsolute(h.BOOKD_BOOK_PATH!) && statSync(h.BOOKD_BOOK_PATH!).isFile());
      assert.equal(h.BOOKD_BOOK_PATH, join(data, 'library', entry.path));
      assert.equal(h.BOOKD_BOOK_TITLE, entry.title);
      assert.equal(h.BOOKD_BOOK_SKILLS, entry.skills.join(','));
      assert.equal(h.BOOKD_BOOK_FORMAT, 'epub');
    }
  } finally {
    await rx.close();
    cleanup();
  }
});

test('a dead receiver, one that answers after 30 s and a failing onArchived hook do not slow archiving or fail a book', async () => {
  const slow = await startReceiver(30_000);
  const dead = await deadUrl();
  /** One `run --until-empty` of the same books on a data dir of its own; its wall time. */
  const timedRun = async (name: string, settings: object | undefined) => {
    const { dir, cleanup } = tempDir();
    try {
      const extra: NodeJS.ProcessEnv = {};
      if (settings) {
        writeFileSync(join(dir, 'config.json'), JSON.stringify(settings));
        extra.BOOKD_CONFIG = join(dir, 'config.json');
      }
      const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info', ...extra });
      await addSessions(sim, 2, dir, env, name);
      for (const id of ids) assert.equal((await runCli(['enqueue', '--book', id], { env })).code, 0);
      const started = performance.now();
      const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 90_000 });
      const ms = performance.now() - started;
      assert.equal(run.code, 0, run.stderr);
      assert.equal((await cliJson<LibraryEntry[]>(['library', 'list'], env)).length, ids.length);
      return { ms, log: run.stdout + run.stderr };
    } finally {
      cleanup();
    }
  };
  try {
    const plain = await timedRun('plain', undefined);
    const hostile = await timedRun('hostile', {
      notify: { webhooks: [dead, `${slow.url}/slow`] },
      onArchived: ['sh', '-c', 'echo no calibre here >&2; exit 1'],
    });
    assert.ok(slow.bodies.length >= 1, 'the slow receiver was asked');
    assert.ok(hostile.ms < plain.ms + 5000, `with bad receivers ${Math.round(hostile.ms)} ms, without ${Math.round(plain.ms)} ms`);
    const hookFailures = hostile.log.split('\n').filter((l) => l.includes('onArchived hook for book'));
    assert.equal(hookFailures.length, ids.length, 'each failing hook is one log line');
    assert.match(hookFailures[0]!, /failed \(exit 1; stderr: no calibre here\); the book is archived all the same/);
    const lines = hostile.log.split('\n').filter((l) => l.includes('notification queue.drained'));
    assert.ok(lines.length >= 1, 'the undelivered notification is logged');
    assert.ok(!hostile.log.includes(dead) && !hostile.log.includes(`${slow.url}/slow`), 'the log names receivers by origin only');
  } finally {
    await slow.close();
  }
});

test('a book that does not exist is one book.failed naming it and its job; a run left without a usable session ends with daemon.stopped', async () => {
  const { dir, cleanup } = tempDir();
  const rx = await startReceiver();
  try {
    const data = join(dir, 'data');
    const env = bookdEnv(data, sim.url, { BOOKD_NOTIFY_WEBHOOK: `${rx.url}/a,${rx.url}/b` });
    const [cookies] = await addSessions(sim, 1, dir, env);
    const missing = '9780000000017';
    assert.equal((await runCli(['enqueue', '--book', ids[0]!, '--book', missing], { env })).code, 0);
    const first = await runCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
    assert.equal(first.code, 1, 'a book failed');
    const failed = rx.events().filter((e) => e.event === 'book.failed');
    assert.equal(failed.length, 2, 'one per webhook (BOOKD_NOTIFY_WEBHOOK lists two)');
    assert.deepEqual(failed[0], failed[1]);
    const jobs = await cliJson<{ id: number; state: string; bookId?: string; payload?: { bookId: string } }[]>(['jobs', 'list', '--state', 'failed'], env);
    assert.equal(jobs.length, 1);
    assert.equal(failed[0]!.book!.id, missing);
    assert.equal(failed[0]!.job, jobs[0]!.id);
    assert.match(
      failed[0]!.message,
      new RegExp(`^book ${missing} failed for good: .*does not exist.*; see bookd jobs show ${jobs[0]!.id}, and bookd jobs retry ${jobs[0]!.id}`),
    );
    assert.equal(rx.events().filter((e) => e.event === 'queue.drained').length, 2);

    rx.bodies.length = 0;
    await sim.control({ revoke: [sidOfJwt(cookies!['orm-jwt']!)] });
    assert.equal((await runCli(['enqueue', '--book', ids[1]!], { env })).code, 0);
    const second = await runCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
    assert.equal(second.code, 1);
    const said = rx.events().map((e) => e.event);
    assert.deepEqual([...new Set(said)], ['session.expired', 'daemon.stopped'], `got ${JSON.stringify(said)}`);
    const stopped = rx.events().find((e) => e.event === 'daemon.stopped')!;
    assert.match(stopped.message, /^bookd stopped: claiming paused: no usable session/);
    const secrets = cookieValues(join(data, 'bookd.db'), [cookies!]);
    for (const body of rx.bodies) for (const s of secrets) assert.ok(!body.includes(s), 'no cookie value in a webhook body');
  } finally {
    await rx.close();
    cleanup();
  }
});

/** A small tmpfs at `path` when we may mount one (root); false otherwise. */
function smallDisk(path: string): boolean {
  mkdirSync(path, { recursive: true });
  return process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', path]).status === 0;
}

test('a library disk that fills up is one storage.full, and the run it ends one daemon.stopped', async (t) => {
  const { dir, cleanup } = tempDir();
  const lib = join(dir, 'lib');
  if (!smallDisk(lib)) {
    cleanup();
    t.skip('needs root and a tmpfs mount to make a small disk');
    return;
  }
  const big = await startSimProcess(['--seed', '52', '--books', '12', '--chapters', '20', '--chapter-kb', '40', '--images', '3', '--image-kb', '40']);
  const rx = await startReceiver();
  try {
    const env = bookdEnv(join(dir, 'data'), big.url, { BOOKD_LIBRARY: lib, BOOKD_NOTIFY_WEBHOOK: `${rx.url}/hook` });
    await addSessions(big, 1, dir, env);
    for (const b of (await big.catalogue()).books.filter((x) => x.flags.length === 0 && x.format === 'book'))
      await runCli(['enqueue', '--book', b.id], { env });
    const r = await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 });
    assert.equal(r.code, 1);
    const said = rx.events();
    const full = said.filter((e) => e.event === 'storage.full');
    assert.equal(full.length, 1, `one storage.full, got ${JSON.stringify(said.map((e) => e.event))}`);
    assert.match(full[0]!.message, /^the library's disk refused a write \(ENOSPC: .*\): free space or fix the disk/);
    const stopped = said.filter((e) => e.event === 'daemon.stopped');
    assert.equal(stopped.length, 1);
    assert.match(stopped[0]!.message, /^bookd stopped: claiming paused: the library's disk refused a write/);
    assert.ok(!said.some((e) => e.event === 'queue.drained' || e.event === 'book.failed'), 'the books wait in the queue');
  } finally {
    await rx.close();
    await big.stop();
    spawnSync('umount', [lib]);
    cleanup();
  }
});
