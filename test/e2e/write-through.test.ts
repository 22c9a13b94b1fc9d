import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { CLI, killNow, runCli, tempDir, waitFor } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson } from '../helpers/library.js';
import { startSimProcess } from '../helpers/sim.js';

function jarOf(dbPath: string): { savedAt: number; jar: string } {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT jar, jar_saved_at AS savedAt FROM sessions').get() as { jar: string; savedAt: number };
    return row;
  } finally {
    db.close();
  }
}

test('kill -9 right after a rotation: the next process continues with the rotated token, and fetches only what is missing', async () => {
  const { dir, cleanup } = tempDir();
  // Each request rotates the token; a session waits 300 ms between requests, so a kill lands
  // between requests, right after the last rotation was received and saved.
  const sim = await startSimProcess(['--seed', '91', '--books', '3', '--chapters', '12', '--rotate', 'every', '--grace', '0']);
  let child: ChildProcess | undefined;
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_SESSION_INTERVAL_MS: '300', BOOKD_LOG_LEVEL: 'info' });
    await addSessions(sim, 1, dir, env);
    const book = (await sim.catalogue()).books.find((b) => b.flags.length === 0 && b.format === 'book')!;
    await runCli(['enqueue', '--book', book.id], { env });
    const dbPath = join(dir, 'data', 'bookd.db');
    const start = jarOf(dbPath);

    child = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    // Some files in, a rotation just saved: then SIGKILL.
    let seen = start.savedAt;
    let rotations = 0;
    await waitFor(
      () => {
        const now = jarOf(dbPath).savedAt;
        if (now !== seen) {
          seen = now;
          rotations++;
        }
        return rotations >= 12;
      },
      'a dozen rotations saved',
      30_000,
      5,
    );
    await killNow(child);
    const killedWith = jarOf(dbPath).jar;
    assert.notEqual(killedWith, start.jar, 'the jar in the database is the rotated one');

    const before = await sim.stats();
    const rerun = await runCli(['run', '--until-empty'], { env: { ...env, BOOKD_SESSION_INTERVAL_MS: '0' }, timeoutMs: 60_000 });
    assert.equal(rerun.code, 0, rerun.stderr);
    const stats = await sim.stats();
    assert.equal(stats.staleTokenHits, before.staleTokenHits, 'the saved token was the current one');
    assert.equal(stats.refreshes, before.refreshes, 'no refresh was needed');
    assert.equal(stats.sent['401'], 0);
    assert.equal(stats.downloads[book.id], 1, 'the book counts as downloaded once across both processes');
    const sessions = await cliJson<{ state: string }[]>(['sessions', 'list'], env);
    assert.deepEqual(
      sessions.map((s) => s.state),
      ['ok'],
    );
    const show = await runCli(['jobs', 'show', '1'], { env });
    const reused = /(\d+) reused/.exec(show.stdout);
    assert.ok(reused && Number(reused[1]) >= 5, `the resumed job reused the files fetched before the kill: ${show.stdout}`);
  } finally {
    // A run that never got its rotations must not outlive the test (it would run on, and hold it open).
    if (child) await killNow(child);
    await sim.stop();
    cleanup();
  }
});
