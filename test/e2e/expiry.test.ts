import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { bookdEnv, cliJson } from '../helpers/library.js';
import { startReceiver } from '../helpers/receiver.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';

/** Tokens live this long and nothing refreshes them (no rotation, the token endpoint refuses). */
const TOKEN_TTL_SEC = 20;

interface SessionJson {
  name: string;
  state: string;
  tokenExpiresAt: string | null;
  renewedAt: string | null;
  refreshCookie: boolean;
  refreshExpiresAt: string | null;
}

interface StatusJson {
  jobs: { succeeded: number; failed: number; queued: number };
  expiring: { name: string; until: string; limit: string; message: string }[];
}

/** A minted cookie set as a cookie-editor export whose orm-rt expires at `rtExpiresSec` (epoch s). */
function cookieEditor(cookies: Record<string, string>, rtExpiresSec: number): string {
  return JSON.stringify(
    Object.entries(cookies).map(([name, value]) => ({ name, value, path: '/', ...(name === 'orm-rt' ? { expirationDate: rtExpiresSec } : {}) })),
  );
}

let sim: SimProcess;
let ids: string[];
before(async () => {
  sim = await startSimProcess(['--seed', '23', '--books', '8', '--rotate', 'off', '--token-ttl', String(TOKEN_TTL_SEC), '--token-endpoint', 'off']);
  ids = (await sim.catalogue()).books
    .filter((b) => b.flags.length === 0)
    .slice(0, 4)
    .map((b) => b.id);
});
after(async () => {
  await sim.stop();
});

test('a running daemon warns (session.expiring) before a session that cannot refresh expires, status lists it, and sessions renew brings it back without a restart', async () => {
  const { dir, cleanup } = tempDir();
  const rx = await startReceiver();
  try {
    // Warned within a minute of the end (the default is a day): the orm-rt below lasts 45 s.
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info', BOOKD_EXPIRY_WARNING_SECONDS: '60', BOOKD_NOTIFY_WEBHOOK: `${rx.url}/hook` });
    const [old] = await sim.mint(1);
    const rtEnd = Math.floor(Date.now() / 1000) + 45;
    writeFileSync(join(dir, 'old.json'), cookieEditor(old!, rtEnd));
    assert.equal((await runCli(['sessions', 'add', 's1', '--cookies', join(dir, 'old.json'), '--no-check'], { env })).code, 0);
    const [before] = await cliJson<SessionJson[]>(['sessions', 'list'], env);
    assert.equal(before!.refreshCookie, true);
    assert.equal(before!.refreshExpiresAt, new Date(rtEnd * 1000).toISOString(), 'the orm-rt expiry is stored');
    assert.ok(before!.renewedAt !== null && before!.tokenExpiresAt !== null);
    const human = await runCli(['sessions', 'list'], { env });
    assert.match(human.stdout, /TOKEN EXPIRES\s+RENEWED\s+CAN REFRESH UNTIL/);
    assert.match(human.stdout, /s1\s+ok\s+in \d+s\s+now|s1\s+ok\s+in \d+s\s+\d+s ago/);

    for (const id of ids.slice(0, 2)) assert.equal((await runCli(['enqueue', '--book', id], { env })).code, 0);
    const run = await startCli(['run'], { env, timeoutMs: 60_000 });
    try {
      const log = () => [run.firstLine, ...run.lines];
      const expiring = () => log().filter((l) => l.includes('session.expiring'));
      await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded === 2, 'the first books archived', 30_000, 200);
      const tokenEnd = Date.parse(before!.tokenExpiresAt);
      const line = await waitFor(() => expiring()[0], 'the session.expiring line', tokenEnd - Date.now() + 15_000, 100);
      const warned = JSON.parse(line) as { level: number; session: string; limit: string; until: string; msg: string };
      assert.equal(Date.now() < tokenEnd, true, 'warned before the token expired');
      assert.equal(warned.session, 's1');
      assert.ok(warned.level >= 40, 'a warning');
      assert.match(warned.msg, /^session s1 can refresh its token only until .*: log in again in the browser and run bookd sessions renew s1 --from-browser/);
      assert.ok(!line.includes(old!['orm-jwt']!) && !line.includes(old!['orm-rt']!), 'no token in the log');

      const status = await cliJson<StatusJson>(['status'], env);
      assert.deepEqual(
        status.expiring.map((e) => e.name),
        ['s1'],
      );
      assert.match((await runCli(['status'], { env })).stdout, /expiring: session s1 .*bookd sessions renew s1/);

      // Past its token's end the session is of no use; the books enqueued now wait for it.
      await new Promise((r) => setTimeout(r, Math.max(0, tokenEnd - Date.now() + 500)));
      for (const id of ids.slice(2)) assert.equal((await runCli(['enqueue', '--book', id], { env })).code, 0);
      await waitFor(async () => (await cliJson<SessionJson[]>(['sessions', 'list'], env))[0]!.state === 'expired', 's1 found expired', 30_000, 200);

      const [fresh] = await sim.mint(1);
      writeFileSync(join(dir, 'new.json'), cookieEditor(fresh!, Math.floor(Date.now() / 1000) + 2 * 3600));
      const renewed = await runCli(['sessions', 'renew', 's1', '--cookies', join(dir, 'new.json')], { env });
      assert.equal(renewed.code, 0, renewed.stderr);
      assert.match(renewed.stdout, /^session s1 renewed: /);
      await waitFor(async () => (await cliJson<StatusJson>(['status'], env)).jobs.succeeded === ids.length, 'the books after the renewal', 30_000, 200);
      assert.equal(expiring().length, 1, 'one warning, not one per tick');
      // The operator hears of it too: one session.expiring notification naming the session and the command.
      const notified = rx.events().filter((e) => e.event === 'session.expiring');
      assert.equal(
        notified.length,
        1,
        `one session.expiring notification (${rx
          .events()
          .map((e) => e.event)
          .join(', ')})`,
      );
      assert.equal(notified[0]!.session, 's1');
      assert.match(notified[0]!.message, /bookd sessions renew s1/);
      assert.ok(Date.parse(notified[0]!.at) < tokenEnd, 'sent before the token expired');
      for (const body of rx.bodies)
        for (const secret of [...Object.values(old!), ...Object.values(fresh!)].filter((v) => v.length >= 8))
          assert.ok(!body.includes(secret), 'no cookie value in a notification');
      assert.equal(run.child.exitCode, null, 'the same daemon, never restarted');
    } finally {
      await run.stop('SIGTERM');
    }
    const [after] = await cliJson<SessionJson[]>(['sessions', 'list'], env);
    assert.equal(after!.state, 'ok');
    assert.ok(Date.parse(after!.tokenExpiresAt!) > Date.parse(before!.tokenExpiresAt), 'a later token expiry');
    assert.ok(Date.parse(after!.refreshExpiresAt!) > Date.parse(before!.refreshExpiresAt), 'a later refresh limit');
    assert.ok(Date.parse(after!.renewedAt!) > Date.parse(before!.renewedAt));
    assert.deepEqual((await cliJson<StatusJson>(['status'], env)).expiring, [], 'nothing expiring within the minute after the renewal');
    const { BOOKD_EXPIRY_WARNING_SECONDS: _, ...byDefault } = env;
    assert.deepEqual(
      (await cliJson<StatusJson>(['status'], byDefault)).expiring.map((e) => e.name),
      ['s1'],
      'its orm-rt lasts 2 h: within the default day',
    );
  } finally {
    await rx.close();
    cleanup();
  }
});

test('sessions renew refuses a session that does not exist, and needs cookies', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    const [cookies] = await sim.mint(1);
    writeFileSync(join(dir, 'c.json'), JSON.stringify(cookies));
    const missing = await runCli(['sessions', 'renew', 'nobody', '--cookies', join(dir, 'c.json')], { env });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /no session named "nobody" to renew: add it with bookd sessions add nobody/);
    assert.equal((await runCli(['sessions', 'list'], { env })).stdout.includes('nobody'), false);
    const usage = await runCli(['sessions', 'renew', 'nobody'], { env });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give one of --cookies FILE or --from-browser/);
  } finally {
    cleanup();
  }
});
