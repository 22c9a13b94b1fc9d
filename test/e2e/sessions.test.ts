import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { chromiumProfile, firefoxProfile, type FixtureCookie } from '../helpers/browser.js';
import { bookdEnv, cliJson } from '../helpers/library.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';

interface SessionJson {
  name: string;
  state: string;
  lastError: string | null;
  relogin: boolean;
  tokenExpiresAt: string | null;
}

let sim: SimProcess;
before(async () => {
  sim = await startSimProcess(['--seed', '81', '--books', '4', '--rotate', 'every']);
});
after(async () => {
  await sim.stop();
});

test('sessions: import checked against the service, list, check, disable, enable, replace, remove', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    const [good, spoiled] = await sim.mint(2);
    writeFileSync(join(dir, 'good.json'), JSON.stringify(good));
    writeFileSync(join(dir, 'spoiled.json'), JSON.stringify({ ...spoiled, 'orm-jwt': 'x.y.z', 'orm-rt': 'nope' }));
    writeFileSync(
      join(dir, 'header.txt'),
      `Cookie: ${Object.entries(spoiled!)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ')}\n`,
    );

    const add = await runCli(['sessions', 'add', 'laptop', '--cookies', join(dir, 'good.json')], { env });
    assert.equal(add.code, 0, add.stderr);
    assert.match(
      add.stdout,
      /session laptop added: 8 cookies from a flat-json export, checked: logged in \(the profile page answered 200 \(302 → \/profile\/sso\/, 307 → \/u\/\d+\/\) but it does not show a user type; the book metadata API accepted it \(200 for \d{13}\)\); token expires in/,
    );

    const refused = await runCli(['sessions', 'add', 'old', '--cookies', join(dir, 'spoiled.json')], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /these cookies are not logged in .*export fresh cookies/);
    const saved = await runCli(['sessions', 'add', 'old', '--cookies', join(dir, 'spoiled.json'), '--no-check'], { env });
    assert.equal(saved.code, 0, 'saved anyway with --no-check');
    const dup = await runCli(['sessions', 'add', 'laptop', '--cookies', join(dir, 'good.json')], { env });
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists: use --replace/);

    const check = await runCli(['sessions', 'check'], { env });
    assert.equal(check.code, 1, 'one session is not ok');
    assert.match(check.stdout, /laptop: ok \(.*metadata API accepted it/);
    assert.match(check.stdout, /old: expired: /);
    let list = await cliJson<SessionJson[]>(['sessions', 'list'], env);
    assert.deepEqual(
      list.map((s) => [s.name, s.state]),
      [
        ['laptop', 'ok'],
        ['old', 'expired'],
      ],
    );
    assert.ok(list[1]!.lastError);
    assert.match(list[0]!.tokenExpiresAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'times in JSON are ISO 8601');

    // The operator renews the expired session from a Cookie header copied out of the browser.
    const replaced = await runCli(['sessions', 'add', 'old', '--cookies', join(dir, 'header.txt'), '--replace'], { env });
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /session old replaced: 8 cookies from a header export/);
    assert.equal((await runCli(['sessions', 'disable', 'laptop'], { env })).code, 0);
    list = await cliJson<SessionJson[]>(['sessions', 'list'], env);
    assert.deepEqual(
      list.map((s) => s.state),
      ['disabled', 'ok'],
    );
    assert.match((await runCli(['sessions', 'check', 'laptop'], { env })).stdout, /laptop: disabled, not checked/);
    assert.equal((await runCli(['sessions', 'enable', 'laptop'], { env })).code, 0);
    assert.equal((await runCli(['sessions', 'remove', 'old'], { env })).code, 0);
    list = await cliJson<SessionJson[]>(['sessions', 'list'], env);
    assert.deepEqual(
      list.map((s) => [s.name, s.state]),
      [['laptop', 'ok']],
    );
    const human = await runCli(['sessions', 'list'], { env });
    assert.match(human.stdout, /NAME\s+STATE\s+TOKEN EXPIRES/);
    const missing = await runCli(['sessions', 'remove', 'nobody'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no session named "nobody"/);
  } finally {
    cleanup();
  }
});

test('sessions add --email logs in; the password never reaches the database; a lapsed subscription is refused', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    writeFileSync(join(dir, 'pw'), 'pw-5\n');
    const r = await runCli(['sessions', 'add', 'box', '--email', 'user5@sim.test', '--password-file', join(dir, 'pw')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /logged in as user5@sim\.test; it logs in again with .*pw when it expires/);
    const stdin = await runCli(['sessions', 'add', 'once', '--email', 'user6@sim.test', '--password-file', '-'], { env, input: 'pw-6\n' });
    assert.equal(stdin.code, 0, stdin.stderr);
    const bad = await runCli(['sessions', 'add', 'nope', '--email', 'user5@sim.test', '--password-file', '-'], { env, input: 'wrong\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /refused the email and password/);
    const list = await cliJson<SessionJson[]>(['sessions', 'list'], env);
    assert.deepEqual(
      list.map((s) => [s.name, s.relogin]),
      [
        ['box', true],
        ['once', true],
      ],
    );
    const dump = await runCli(['status', '--json'], { env });
    for (const secret of ['pw-5', 'pw-6']) {
      assert.ok(!dump.stdout.includes(secret));
      const sqlite = (await import('better-sqlite3')).default;
      const db = new sqlite(join(dir, 'data', 'bookd.db'), { readonly: true });
      const rows = JSON.stringify(db.prepare('SELECT * FROM sessions').all());
      db.close();
      assert.ok(!rows.includes(secret), 'no password in the database');
    }
  } finally {
    cleanup();
  }
});

test('when every session is parked the daemon stops claiming and says why in status and the log', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url, { BOOKD_LOG_LEVEL: 'info' });
    const [cookies] = await sim.mint(1);
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ ...cookies, 'orm-jwt': 'x.y.z', 'orm-rt': 'nope' }));
    await runCli(['sessions', 'add', 'dead', '--cookies', join(dir, 'c.json'), '--no-check'], { env });
    const book = (await sim.catalogue()).books[0]!;
    await runCli(['enqueue', '--book', book.id], { env });
    const daemon = await startCli(['run'], { env });
    try {
      await waitFor(() => daemon.lines.some((l) => /claiming paused: no usable session: dead expired/.test(l)), 'the log says why', 20_000);
      await waitFor(
        async () => {
          const s = await cliJson<{ daemons: { note: string | null }[] }>(['status'], env);
          return s.daemons.some((d) => /no usable session/.test(d.note ?? ''));
        },
        'status says why',
        20_000,
        200,
      );
      const s = await cliJson<{ jobs: { queued: number; failed: number } }>(['status'], env);
      assert.equal(s.jobs.queued, 1, 'the book waits, its attempts untouched');
      assert.equal(s.jobs.failed, 0);
      const text = [daemon.firstLine, ...daemon.lines].join('\n');
      for (const v of Object.values(cookies!).filter((x) => x.length > 8)) assert.ok(!text.includes(v), 'no cookie value in the log');
    } finally {
      assert.equal((await daemon.stop('SIGTERM')).code, 0);
    }
  } finally {
    cleanup();
  }
});

test('sessions add --json and sessions check --json: machine-readable results, ISO-8601 times, no secrets', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = bookdEnv(join(dir, 'data'), sim.url);
    const [good, spoiled] = await sim.mint(2);
    writeFileSync(join(dir, 'good.json'), JSON.stringify(good));
    writeFileSync(join(dir, 'spoiled.json'), JSON.stringify({ ...spoiled, 'orm-jwt': 'x.y.z', 'orm-rt': 'nope' }));
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    const added = await runCli(['sessions', 'add', 'laptop', '--cookies', join(dir, 'good.json'), '--json'], { env });
    assert.equal(added.code, 0, added.stderr);
    const a = JSON.parse(added.stdout) as { name: string; result: string; via: string; checked: boolean; tokenExpiresAt: string; relogin: boolean };
    assert.deepEqual([a.name, a.result, a.via, a.checked, a.relogin], ['laptop', 'added', 'cookies', true, false]);
    assert.match(a.tokenExpiresAt, iso);
    await runCli(['sessions', 'add', 'old', '--cookies', join(dir, 'spoiled.json'), '--no-check'], { env });
    const replaced = JSON.parse(
      (await runCli(['sessions', 'add', 'old', '--cookies', join(dir, 'spoiled.json'), '--no-check', '--replace', '--json'], { env })).stdout,
    ) as { result: string; checked: boolean };
    assert.deepEqual([replaced.result, replaced.checked], ['replaced', false]);
    await runCli(['sessions', 'add', 'off', '--cookies', join(dir, 'good.json'), '--no-check'], { env });
    await runCli(['sessions', 'disable', 'off'], { env });

    const check = await runCli(['sessions', 'check', '--json'], { env });
    assert.equal(check.code, 1, 'one session is expired');
    const results = JSON.parse(check.stdout) as { name: string; result: string; detail: string; checkedAt: string; tokenExpiresAt: string | null }[];
    assert.deepEqual(
      results.map((r) => [r.name, r.result]),
      [
        ['laptop', 'ok'],
        ['off', 'disabled'],
        ['old', 'expired'],
      ],
    );
    for (const r of results) assert.match(r.checkedAt, iso);
    assert.match(results[0]!.tokenExpiresAt!, iso);
    for (const out of [added.stdout, check.stdout]) {
      for (const v of [...Object.values(good!), ...Object.values(spoiled!)].filter((x) => x.length > 8))
        assert.ok(!out.includes(v), 'no cookie value in the JSON');
    }
  } finally {
    cleanup();
  }
});

test('sessions add --from-browser: a Firefox and a Chromium profile under HOME give working sessions; --replace renews; no cookie value is printed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const home = join(dir, 'home');
    mkdirSync(home);
    const env = bookdEnv(join(dir, 'data'), sim.url, { HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
    const host = new URL(sim.url).hostname;
    const minted = await sim.mint(3);
    // Every value but trivial ones (logged_in is "y").
    const values = minted.flatMap((m) => Object.values(m)).filter((v) => v.length >= 8);
    // The sim's cookies as the browser stored them, beside another site's.
    const stored = (set: Record<string, string>): FixtureCookie[] => [
      ...Object.entries(set).map(([name, value]) => ({ host, name, value, expires: Math.floor(Date.now() / 1000) + 86_400 })),
      { host: '.example.com', name: 'orm-jwt', value: 'other-site-secret' },
    ];
    const quiet = (r: { stdout: string; stderr: string }, what: string) => {
      for (const v of [...values, 'other-site-secret']) assert.ok(!`${r.stdout}${r.stderr}`.includes(v), `${what} prints no cookie value`);
    };

    const profile = firefoxProfile(home, stored(minted[0]!), { lastVersion: '150.0_20260801000000/20260801000000' });
    const add = await runCli(['sessions', 'add', 's1', '--from-browser', 'firefox'], { env });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /session s1 added: 8 cookies from the firefox profile .*abcd1234\.default-release, checked: logged in/);
    assert.match(add.stderr, /give each session its own browser profile that stays logged in: bookd rotates the token/);
    quiet(add, 'add');
    const check = await runCli(['sessions', 'check', 's1'], { env });
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, /^s1: ok /);

    // Renewed in one command from the same profile, logged in again.
    rmSync(join(profile, 'cookies.sqlite'));
    firefoxProfile(home, stored(minted[1]!));
    const renew = await runCli(['sessions', 'add', 's1', '--from-browser', 'firefox:default-release', '--replace'], { env });
    assert.equal(renew.code, 0, renew.stderr);
    assert.match(renew.stdout, /session s1 replaced: 8 cookies from the firefox profile/);
    quiet(renew, 'replace');
    assert.match((await runCli(['sessions', 'check', 's1'], { env })).stdout, /^s1: ok /);

    chromiumProfile(home, 'chromium', stored(minted[2]!), { version: 24 });
    const chromium = await runCli(['sessions', 'add', 'c1', '--from-browser', 'chromium', '--json'], { env });
    assert.equal(chromium.code, 0, chromium.stderr);
    const json = JSON.parse(chromium.stdout) as { result: string; via: string; checked: boolean };
    assert.deepEqual([json.result, json.via, json.checked], ['added', 'browser', true]);
    quiet(chromium, 'chromium add');
    assert.match((await runCli(['sessions', 'check', 'c1'], { env })).stdout, /^c1: ok /);

    const both = await runCli(['sessions', 'add', 'x', '--from-browser', 'firefox', '--cookies', join(dir, 'none.json')], { env });
    assert.equal(both.code, 2, 'exclusive with --cookies');
    assert.match(both.stderr, /give one of --cookies FILE, --from-browser/);
    assert.equal((await runCli(['sessions', 'add', 'x', '--from-browser', 'chrome', '--email', 'a@b.c', '--password-file', 'p'], { env })).code, 2);
    const unknown = await runCli(['sessions', 'add', 'x', '--from-browser', 'safari'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /firefox, chromium, chrome, brave, edge/);
    const none = await runCli(['sessions', 'add', 'x', '--from-browser', 'brave'], { env });
    assert.equal(none.code, 1);
    assert.ok(none.stderr.includes(join(home, '.config', 'BraveSoftware', 'Brave-Browser')), none.stderr);
  } finally {
    cleanup();
  }
});
