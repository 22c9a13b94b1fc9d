import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createDecipheriv, pbkdf2Sync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { runCli, tempDir, waitFor, type CliResult } from '../helpers/cli.js';
import { addSessions, bookdEnv, cliJson, type LibraryEntry } from '../helpers/library.js';
import { startSimProcess, type SimProcess } from '../helpers/sim.js';

// Real browsers write the cookie databases here, against the simulator's login page
// (src/sim/README.md, GET /__sim/login-page): the readers are proven against the schema and the
// encryption a real browser uses, not only against the fixtures of test/helpers/browser.ts.
const CHROMIUM = '/usr/bin/chromium';
const FIREFOX = '/usr/bin/firefox-esr';
const skipChromium = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (Debian package chromium; scripts/test.mjs installs it when run as root with apt-get)`;
const skipFirefox = existsSync(FIREFOX)
  ? false
  : `${FIREFOX} is not installed (Debian package firefox-esr; scripts/test.mjs installs it when run as root with apt-get)`;

const BROWSER_DEADLINE_MS = 60_000;

/**
 * Runs a headless browser to completion: it loads the page and exits by itself (Chromium's
 * --dump-dom, Firefox's --screenshot), which shuts its cookie store down and so writes it out. It
 * runs in a process group of its own, and whatever of that group is left when it exits, or when the
 * deadline passes, is killed.
 */
function runBrowser(command: string, args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      // A home of its own: nothing of the browser lands in the real user's.
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), LANG: 'C.UTF-8' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(killGroup, BROWSER_DEADLINE_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, stderr });
    });
  });
}

async function chromiumVisit(userData: string, url: string, home: string): Promise<void> {
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  const r = await runBrowser(CHROMIUM, [...flags, '--no-first-run', '--password-store=basic', `--user-data-dir=${userData}`, '--dump-dom', url], home);
  assert.equal(r.code, 0, `chromium exited ${r.code}: ${r.stderr}`);
}

async function firefoxVisit(profile: string, url: string, home: string): Promise<void> {
  const r = await runBrowser(FIREFOX, ['--headless', '--no-remote', '--profile', profile, '--screenshot', join(home, 'shot.png'), url], home);
  assert.equal(r.code, 0, `firefox exited ${r.code}: ${r.stderr}`);
}

function query<T>(file: string, sql: string): T[] {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** The cookie database of a Chromium user-data folder: where this build puts it. */
function chromiumDb(userData: string): string {
  const found = [join(userData, 'Default', 'Network', 'Cookies'), join(userData, 'Default', 'Cookies')].find((f) => existsSync(f));
  assert.ok(found, `chromium wrote no Cookies database under ${userData}`);
  return found;
}

/** The values Chromium stored, decrypted here independently of bookd (v10: key from "peanuts", SHA-256 host prefix from version 24). */
function chromiumValues(file: string): Map<string, string> {
  const key = pbkdf2Sync('peanuts', 'saltysalt', 1, 16, 'sha1');
  const version = Number(query<{ value: string }>(file, "SELECT value FROM meta WHERE key = 'version'")[0]?.value ?? 0);
  const out = new Map<string, string>();
  for (const r of query<{ name: string; encrypted_value: Buffer }>(file, "SELECT name, encrypted_value FROM cookies WHERE host_key = '127.0.0.1'")) {
    assert.equal(r.encrypted_value.subarray(0, 3).toString('latin1'), 'v10', '--password-store=basic stores v10 values');
    const d = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16, ' '));
    const plain = Buffer.concat([d.update(r.encrypted_value.subarray(3)), d.final()]);
    out.set(r.name, plain.subarray(version >= 24 ? 32 : 0).toString('utf8'));
  }
  return out;
}

function assertQuiet(r: CliResult, values: Iterable<string>, what: string): void {
  // logged_in is "y": only values long enough to mean something are looked for.
  for (const v of values) if (v.length >= 8) assert.ok(!`${r.stdout}${r.stderr}`.includes(v), `${what} prints no cookie value`);
}

function oneLine(r: CliResult, pattern: RegExp, what: string): void {
  assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
}

const SESSION_COOKIES = ['BrowserCookie', '_abck', 'bm_sz', 'csrf_access_token', 'groot_sessionid', 'logged_in', 'orm-jwt', 'orm-rt'];

let sim: SimProcess;
before(async () => {
  if (skipChromium && skipFirefox) return;
  sim = await startSimProcess(['--seed', '93', '--books', '3']);
});
after(async () => {
  if (!skipChromium || !skipFirefox) await sim.stop();
});

/** The simulator session a token belongs to (its `sid` claim). */
function sessionOf(jwt: string): string {
  return (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
}

/** A session from a browser profile archives a book of the catalogue, with requests of that session only. */
async function archiveWith(env: NodeJS.ProcessEnv, sid: string): Promise<void> {
  const book = (await sim.catalogue()).books.find((b) => b.format === 'book' && b.flags.length === 0 && b.chapters < 100)!;
  const before = (await sim.stats()).requests.bySession[sid] ?? 0;
  assert.equal((await runCli(['enqueue', '--book', book.id], { env })).code, 0);
  const run = await runCli(['run', '--until-empty'], { env, timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  const lib = await cliJson<LibraryEntry[]>(['library', 'list'], env);
  assert.deepEqual(
    lib.map((e) => e.id),
    [book.id],
  );
  assert.ok(((await sim.stats()).requests.bySession[sid] ?? 0) > before, `the book came through session ${sid}`);
}

test(
  'a real headless Chromium logged in on the simulator page: --from-browser chromium:DIR imports it and archives a book',
  { skip: skipChromium },
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const home = join(dir, 'home');
      mkdirSync(home);
      const userData = join(dir, 'chromium');
      await chromiumVisit(userData, `${sim.url}/__sim/login-page`, home);
      const db = chromiumDb(userData);
      // Written on the browser's way out; waited for all the same, in case a build writes later.
      await waitFor(() => query<{ n: number }>(db, "SELECT count(*) AS n FROM cookies WHERE name = 'orm-jwt'")[0]!.n === 1, 'the stored orm-jwt', 10_000, 100);
      const rows = query<{ name: string; host_key: string; path: string; is_httponly: number; expires_utc: bigint }>(
        db,
        'SELECT name, host_key, path, is_httponly, expires_utc FROM cookies ORDER BY name',
      );
      assert.deepEqual(
        rows.map((r) => [r.name, r.host_key, r.path]),
        SESSION_COOKIES.map((n) => [n, '127.0.0.1', '/']),
      );
      for (const r of rows) {
        assert.ok(Number(r.expires_utc) > 0, `${r.name} has an expiry (Max-Age)`);
        assert.equal(r.is_httponly === 1, ['orm-jwt', 'orm-rt', 'groot_sessionid'].includes(r.name), `${r.name} HttpOnly`);
      }
      const values = chromiumValues(db);
      assert.match(values.get('orm-jwt')!, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT, decrypted');

      const env = bookdEnv(join(dir, 'data'), sim.url, { HOME: home });
      const add = await runCli(['sessions', 'add', 's1', '--from-browser', `chromium:${userData}`], { env });
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /^session s1 added: 8 cookies from the chromium profile \S+\/Default, checked: logged in/);
      assertQuiet(add, values.values(), 'sessions add');
      await archiveWith(env, sessionOf(values.get('orm-jwt')!));
    } finally {
      cleanup();
    }
  },
);

test(
  'a real headless Firefox profile logged in on the simulator page: --from-browser firefox:DIR imports it and archives a book',
  { skip: skipFirefox },
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const home = join(dir, 'home');
      const profile = join(dir, 'firefox');
      mkdirSync(home);
      mkdirSync(profile);
      await firefoxVisit(profile, `${sim.url}/__sim/login-page`, home);
      const db = join(profile, 'cookies.sqlite');
      await waitFor(
        () => existsSync(db) && query<{ n: number }>(db, "SELECT count(*) AS n FROM moz_cookies WHERE name = 'orm-jwt'")[0]!.n === 1,
        'the stored orm-jwt',
        10_000,
        100,
      );
      const rows = query<{ name: string; host: string; value: string; isHttpOnly: number }>(
        db,
        'SELECT name, host, value, isHttpOnly FROM moz_cookies ORDER BY name',
      );
      assert.deepEqual(
        rows.map((r) => [r.name, r.host]),
        SESSION_COOKIES.map((n) => [n, '127.0.0.1']),
      );
      const jwt = rows.find((r) => r.name === 'orm-jwt')!.value;
      const sid = sessionOf(jwt);

      const env = bookdEnv(join(dir, 'data'), sim.url, { HOME: home });
      const add = await runCli(['sessions', 'add', 'f1', '--from-browser', `firefox:${profile}`], { env });
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /^session f1 added: 8 cookies from the firefox profile \S+\/firefox, checked: logged in/);
      assertQuiet(
        add,
        rows.map((r) => r.value),
        'sessions add',
      );
      await archiveWith(env, sid);
    } finally {
      cleanup();
    }
  },
);

test(
  'a real profile that visited nothing, a damaged Cookies database and a missing profile: one line each, nothing imported',
  { skip: skipChromium },
  async () => {
    const { dir, cleanup } = tempDir();
    try {
      const home = join(dir, 'home');
      mkdirSync(home);
      const env = bookdEnv(join(dir, 'data'), sim.url, { HOME: home });
      await addSessions(sim, 1, dir, env);
      const list = async () => JSON.stringify(await cliJson<unknown[]>(['sessions', 'list'], env));
      const before = await list();

      const userData = join(dir, 'blank');
      await chromiumVisit(userData, 'about:blank', home);
      const add = (name: string, spec: string) => runCli(['sessions', 'add', name, '--from-browser', spec], { env });
      oneLine(
        await add('e1', `chromium:${userData}`),
        /^bookd: the chromium profile \S+\/Default has no orm-jwt cookie for 127\.0\.0\.1, .*log in/,
        'no service cookies',
      );

      const db = chromiumDb(userData);
      writeFileSync(db, 'this is no SQLite database '.repeat(400));
      oneLine(
        await add('e2', `chromium:${userData}`),
        /^bookd: \S+Cookies is not a chromium cookie database bookd can read \(SQLite: file is not a database\); nothing was imported/,
        'damaged database',
      );

      const nowhere = join(dir, 'no-such-profile');
      oneLine(await add('e3', `chromium:${nowhere}`), new RegExp(`^bookd: no chromium profile at ${nowhere}: there is no such folder$`), 'missing profile');
      oneLine(
        await add('e4', `firefox:${nowhere}`),
        new RegExp(`^bookd: no Firefox profile at ${nowhere}: there is no such folder$`),
        'missing Firefox profile',
      );
      assert.equal(await list(), before, 'sessions list unchanged');
    } finally {
      cleanup();
    }
  },
);
