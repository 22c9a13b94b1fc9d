import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { bookdEnv, cliJson } from '../helpers/library.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';

/** The simulator's session id (one per login) inside an orm-jwt. */
function sidOfJwt(jwt: string): string {
  return (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
}

/** The login behind the jar stored in the session's row (read straight from the database). */
function storedSid(dbPath: string, name: string): string | undefined {
  const db = new Database(dbPath, { readonly: true });
  try {
    const row = db.prepare('SELECT jar FROM sessions WHERE name = ?').get(name) as { jar: string } | undefined;
    const jar = JSON.parse(row?.jar ?? '{"cookies":[]}') as { cookies: { key: string; value: string }[] };
    const jwt = jar.cookies.find((c) => c.key === 'orm-jwt')?.value;
    return jwt === undefined ? undefined : sidOfJwt(jwt);
  } finally {
    db.close();
  }
}

let sim: SimProcess;
let ids: string[];
before(async () => {
  // Rotation on every response, and latency enough that a book takes seconds: the import lands mid-run.
  sim = await startSimProcess(['--seed', '16', '--books', '8', '--rotate', 'every', '--latency', '25']);
  ids = (await sim.catalogue()).books
    .filter((b) => b.flags.length === 0)
    .slice(0, 4)
    .map((b) => b.id);
});
after(async () => {
  await sim.stop();
});

/**
 * docs/ARCHITECTURE.md, threads and processes: cookies imported while the session is lent win and
 * the old chain stops. `renew` is how the operator gives s1 its new cookies while `bookd run` works.
 */
async function renewedMidRun(renew: (env: NodeJS.ProcessEnv, file: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
    const [oldCookies, newCookies] = await sim.mint(2);
    const oldSid = sidOfJwt(oldCookies!['orm-jwt']!);
    const newSid = sidOfJwt(newCookies!['orm-jwt']!);
    writeFileSync(join(dir, 'old.json'), JSON.stringify(oldCookies));
    writeFileSync(join(dir, 'new.json'), JSON.stringify(newCookies));
    assert.equal((await runCli(['sessions', 'add', 's1', '--cookies', join(dir, 'old.json'), '--no-check'], { env })).code, 0);
    for (const id of ids) assert.equal((await runCli(['enqueue', '--book', id], { env })).code, 0);
    await sim.resetStats();

    const run = await startCli(['run', '--until-empty'], { env, timeoutMs: 60_000 });
    const ended: { code?: number | null } = {};
    const exited = new Promise<void>((r) => run.child.on('exit', (code) => ((ended.code = code), r())));
    try {
      await waitFor(async () => ((await sim.stats()).requests.bySession[oldSid] ?? 0) >= 20, 'the run under way on the old cookies', 60_000, 50);
      assert.ok(!('code' in ended), 'the run is still going when the cookies are renewed');
      await renew(env, join(dir, 'new.json'));
      const atImport = (await sim.stats()).requests.bySession[oldSid] ?? 0;
      await Promise.race([exited, new Promise((r) => setTimeout(r, 180_000))]);
      assert.equal(ended.code, 0, `the run ends well: ${run.stderr().slice(-2000)}`);
      const stats = await sim.stats();
      const oldAfter = (stats.requests.bySession[oldSid] ?? 0) - atImport;
      assert.ok(oldAfter <= 1, `the old chain sent ${oldAfter} requests after the import (at most the one in flight)`);
      assert.ok((stats.requests.bySession[newSid] ?? 0) > 0, 'the new cookies did the rest');
      const log = [run.firstLine, ...run.lines].join('\n');
      assert.doesNotMatch(log, /no usable session/);
    } finally {
      await run.stop('SIGTERM');
    }
    const status = await cliJson<{ jobs: { succeeded: number; failed: number; queued: number } }>(['status'], env);
    assert.equal(status.jobs.succeeded, ids.length, 'every book archived');
    assert.equal(status.jobs.failed, 0);
    assert.ok(storedSid(join(dir, 'data', 'bookd.db'), 's1') === newSid, "the stored jar is the new login's chain");
    const sessions = await cliJson<{ name: string; state: string }[]>(['sessions', 'list'], env);
    assert.deepEqual(
      sessions.map((s) => [s.name, s.state]),
      [['s1', 'ok']],
    );
  } finally {
    cleanup();
  }
}

test('sessions add --replace while bookd run has the session lent: the import wins, every book still succeeds', async () => {
  await renewedMidRun(async (env, file) => {
    const r = await runCli(['sessions', 'add', 's1', '--cookies', file, '--replace'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /session s1 replaced/);
  });
});

test('sessions remove, then add, while bookd run has the session lent: the same as a replace', async () => {
  await renewedMidRun(async (env, file) => {
    assert.equal((await runCli(['sessions', 'remove', 's1'], { env })).code, 0);
    const r = await runCli(['sessions', 'add', 's1', '--cookies', file], { env });
    assert.equal(r.code, 0, r.stderr);
  });
});
