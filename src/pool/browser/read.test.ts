import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { BookdError, UsageError } from '../../errors.js';
import { chromiumCookies, chromiumProfile, firefoxCookies, firefoxProfile, type FixtureCookie } from '../../../test/helpers/browser.js';
import { jarFromImport } from '../jar.js';
import type { Run } from './chromium.js';
import { parseBrowserSpec } from './profiles.js';
import { readBrowserCookies, type BrowserReadOptions } from './read.js';

const LIVE = ['https://learning.oreilly.com', 'https://api.oreilly.com'];
const EXP = 1_900_000_000;

/** The service's cookies and some of other sites, as a real profile holds them. */
const MIXED: FixtureCookie[] = [
  { host: '.oreilly.com', name: 'orm-jwt', value: 'jwt-secret-1', expires: EXP, secure: true, httpOnly: true },
  { host: 'learning.oreilly.com', name: 'groot_sessionid', value: 'groot-secret-2', path: '/', expires: EXP + 60 },
  { host: 'api.oreilly.com', name: 'csrf', value: 'api-secret-3' },
  { host: '.google.com', name: 'NID', value: 'google-secret-4', expires: EXP },
  { host: 'oreilly.com.evil.example', name: 'orm-jwt', value: 'evil-secret-5', expires: EXP },
  { host: 'notoreilly.com', name: 'x', value: 'near-secret-6' },
];

let dir: string;
let home: string;
let savedTmp: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bookd-browser-test-'));
  home = join(dir, 'home');
  mkdirSync(home);
  // The copies go under TMPDIR: a private one shows that they are removed.
  mkdirSync(join(dir, 'tmp'));
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = join(dir, 'tmp');
});
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(dir, { recursive: true, force: true });
});

const noRun: Run = () => assert.fail('no command should run');
const opts = (extra: Partial<BrowserReadOptions> = {}): BrowserReadOptions => ({ env: { HOME: home }, platform: 'linux', run: noRun, urls: LIVE, ...extra });
const byName = (cookies: { name: string; domain?: string }[]) => cookies.map((c) => `${c.name}@${c.domain}`).sort();

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  return assert.fail('expected an error');
}

test('firefox: the default profile (from [Install…]) gives the service domain cookies only, expiry in seconds', () => {
  firefoxProfile(home, [...MIXED, { host: '.oreilly.com', name: 'container', value: 'c-secret', originAttributes: '^userContextId=2' }], {
    lastVersion: '150.0.2_20260801000000/20260801000000',
  });
  const got = readBrowserCookies(parseBrowserSpec('firefox'), opts());
  assert.deepEqual(byName(got.cookies), ['csrf@api.oreilly.com', 'groot_sessionid@learning.oreilly.com', 'orm-jwt@.oreilly.com']);
  const jwt = got.cookies.find((c) => c.name === 'orm-jwt')!;
  assert.deepEqual(jwt, {
    name: 'orm-jwt',
    value: 'jwt-secret-1',
    domain: '.oreilly.com',
    hostOnly: false,
    path: '/',
    expires: EXP,
    secure: true,
    httpOnly: true,
  });
  assert.equal(got.cookies.find((c) => c.name === 'csrf')!.expires, undefined);
  assert.equal(got.cookies.find((c) => c.name === 'groot_sessionid')!.hostOnly, true);
  assert.match(got.source, /^firefox profile .*abcd1234\.default-release$/);
  assert.equal(got.userAgent, 'Mozilla/5.0 (X11; Linux x86_64; rv:150.0) Gecko/20100101 Firefox/150.0');
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'the copy is removed');

  // What jarFromImport keeps of them for the content origin: the api.oreilly.com cookie is not sent there.
  const { kept, skipped } = jarFromImport(got.cookies, LIVE[0]!);
  assert.equal(kept, 2);
  assert.deepEqual(skipped, ['csrf (for api.oreilly.com)']);
});

test('firefox: expiry stored in milliseconds is read as seconds; a profile by name and by path', () => {
  const root = join(home, '.mozilla', 'firefox');
  mkdirSync(join(root, 'work'), { recursive: true });
  writeFileSync(join(root, 'profiles.ini'), '[Profile0]\nName=work\nIsRelative=1\nPath=work\nDefault=1\n');
  firefoxCookies(join(root, 'work', 'cookies.sqlite'), MIXED, { expiryMs: true });
  for (const spec of ['firefox:work', 'firefox', `firefox:${join(root, 'work')}`]) {
    const got = readBrowserCookies(parseBrowserSpec(spec), opts());
    assert.equal(got.cookies.find((c) => c.name === 'orm-jwt')!.expires, EXP, spec);
    assert.equal(got.userAgent, 'Mozilla/5.0 (X11; Linux x86_64; rv:156.0) Gecko/20100101 Firefox/156.0', 'no compatibility.ini: the table');
  }
  const err = thrown(() => readBrowserCookies(parseBrowserSpec('firefox:play'), opts()));
  assert.ok(err instanceof BookdError && err.kind === 'bad_input');
  assert.match(err.message, /no Firefox profile named "play" in .*profiles\.ini \(it has work\)/);
});

test('firefox: a database held locked by Firefox with its commits still in the -wal file is read through the copy', () => {
  const profile = firefoxProfile(home, []);
  const file = join(profile, 'cookies.sqlite');
  const writer = new BetterSqlite3(file);
  try {
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.pragma('locking_mode = EXCLUSIVE');
    const insert = writer.prepare(
      "INSERT INTO moz_cookies (name, value, host, path, expiry, isSecure, isHttpOnly) VALUES (?, ?, '.oreilly.com', '/', ?, 0, 0)",
    );
    insert.run('orm-jwt', 'wal-secret', EXP);
    insert.run('orm-rt', 'wal-secret-2', EXP);
    assert.ok(existsSync(`${file}-wal`), 'the rows are in the -wal file');
    // Opened where it is, the database is locked.
    assert.throws(() => {
      const direct = new BetterSqlite3(file, { readonly: true, timeout: 0 });
      try {
        direct.prepare('SELECT count(*) FROM moz_cookies').get();
      } finally {
        direct.close();
      }
    }, /locked|busy/i);
    const got = readBrowserCookies(parseBrowserSpec('firefox'), opts());
    assert.deepEqual(byName(got.cookies), ['orm-jwt@.oreilly.com', 'orm-rt@.oreilly.com']);
  } finally {
    writer.close();
  }
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'the copy is removed');
});

test('a missing profile is an error naming the path looked at', () => {
  let err = thrown(() => readBrowserCookies(parseBrowserSpec('firefox'), opts()));
  assert.ok(err instanceof BookdError && err.kind === 'bad_input');
  assert.ok(err.message.includes(join(home, '.mozilla', 'firefox', 'profiles.ini')), err.message);
  err = thrown(() => readBrowserCookies(parseBrowserSpec(`firefox:${join(dir, 'nowhere')}`), opts()));
  assert.equal(err.message, `no Firefox profile at ${join(dir, 'nowhere')}: there is no such folder`);
  err = thrown(() => readBrowserCookies(parseBrowserSpec(`chromium:${join(dir, 'nowhere')}`), opts()));
  assert.equal(err.message, `no chromium profile at ${join(dir, 'nowhere')}: there is no such folder`);
  mkdirSync(join(dir, 'empty'));
  err = thrown(() => readBrowserCookies(parseBrowserSpec(`firefox:${join(dir, 'empty')}`), opts()));
  assert.ok(err.message.includes(join(dir, 'empty', 'cookies.sqlite')), err.message);
  err = thrown(() => readBrowserCookies(parseBrowserSpec('chrome'), opts()));
  assert.ok(err instanceof BookdError);
  assert.ok(err.message.includes(join(home, '.config', 'google-chrome')), err.message);
  chromiumProfile(home, 'chromium', MIXED);
  err = thrown(() => readBrowserCookies(parseBrowserSpec('chromium:Profile 3'), opts()));
  assert.ok(err.message.includes(join(home, '.config', 'chromium', 'Profile 3', 'Network', 'Cookies')), err.message);
  // XDG_CONFIG_HOME moves Chromium's folder as it moves Chromium's.
  err = thrown(() => readBrowserCookies(parseBrowserSpec('brave'), opts({ env: { HOME: home, XDG_CONFIG_HOME: join(dir, 'xdg') } })));
  assert.ok(err.message.includes(join(dir, 'xdg', 'BraveSoftware', 'Brave-Browser')), err.message);
});

test('an unknown browser is a usage error listing the known ones', () => {
  const err = thrown(() => parseBrowserSpec('safari:work'));
  assert.ok(err instanceof UsageError);
  assert.match(err.message, /"safari" is not a browser .* firefox, chromium, chrome, brave, edge/);
  assert.ok(thrown(() => parseBrowserSpec('firefox:')) instanceof UsageError);
  assert.deepEqual(parseBrowserSpec('Chrome:Profile 1'), { browser: 'chrome', profile: 'Profile 1' });
});

test('chromium: v10 values decrypt, with the SHA-256 host prefix (version 24) and without (23); expiry from 1601 microseconds', () => {
  for (const version of [24, 23]) {
    rmSync(join(home, '.config'), { recursive: true, force: true });
    chromiumProfile(home, 'chromium', MIXED, { version });
    const got = readBrowserCookies(parseBrowserSpec('chromium'), opts());
    assert.deepEqual(byName(got.cookies), ['csrf@api.oreilly.com', 'groot_sessionid@learning.oreilly.com', 'orm-jwt@.oreilly.com'], `version ${version}`);
    assert.deepEqual(
      got.cookies.find((c) => c.name === 'orm-jwt'),
      {
        name: 'orm-jwt',
        value: 'jwt-secret-1',
        domain: '.oreilly.com',
        hostOnly: false,
        path: '/',
        expires: EXP,
        secure: true,
        httpOnly: true,
      },
    );
    assert.equal(got.cookies.find((c) => c.name === 'groot_sessionid')!.value, 'groot-secret-2');
    assert.equal(got.cookies.find((c) => c.name === 'groot_sessionid')!.expires, EXP + 60);
    assert.equal(got.cookies.find((c) => c.name === 'csrf')!.expires, undefined, 'a session cookie');
  }
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'the copy is removed');
});

test('chromium: unencrypted values, a profile folder or user-data folder by path, the old Cookies place, and the UA from Last Version', () => {
  const userData = join(dir, 'ud');
  mkdirSync(join(userData, 'Default'), { recursive: true });
  chromiumCookies(join(userData, 'Default', 'Cookies'), MIXED, { plain: true });
  writeFileSync(join(userData, 'Last Version'), '151.0.7000.12\n');
  for (const spec of [`edge:${userData}`, `edge:${join(userData, 'Default')}`]) {
    const got = readBrowserCookies(parseBrowserSpec(spec), opts());
    assert.equal(got.cookies.find((c) => c.name === 'orm-jwt')!.value, 'jwt-secret-1', spec);
  }
  assert.equal(
    readBrowserCookies(parseBrowserSpec(`edge:${userData}`), opts()).userAgent,
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/151.0.0.0 Safari/537.36 Edg/151.0.0.0',
  );
});

test('chromium: v11 values decrypt with the keyring password secret-tool gives', () => {
  chromiumProfile(home, 'google-chrome', MIXED, { prefix: 'v11', password: 'keyring-pass' });
  const calls: string[][] = [];
  const run: Run = (command, args) => {
    calls.push([command, ...args]);
    return { status: 0, stdout: 'keyring-pass\n' };
  };
  const got = readBrowserCookies(parseBrowserSpec('chrome'), opts({ run }));
  assert.equal(got.cookies.find((c) => c.name === 'orm-jwt')!.value, 'jwt-secret-1');
  assert.deepEqual(calls, [['secret-tool', 'lookup', 'application', 'chrome']], 'asked once');
});

test('chromium: v11 without secret-tool, or with nothing in the keyring, fails with one line saying what is missing and how to export instead', () => {
  chromiumProfile(home, 'BraveSoftware/Brave-Browser', MIXED, { prefix: 'v11', password: 'keyring-pass' });
  const missing: Run = () => ({ status: null, stdout: '', error: Object.assign(new Error('spawn secret-tool ENOENT'), { code: 'ENOENT' }) });
  let err = thrown(() => readBrowserCookies(parseBrowserSpec('brave'), opts({ run: missing })));
  assert.ok(err instanceof BookdError && err.kind === 'bad_input');
  assert.match(err.message, /secret-tool \(package libsecret-tools\).*is not installed.*--cookies FILE/);
  assert.ok(!err.message.includes('\n'), 'one line');
  const empty: Run = () => ({ status: 1, stdout: '' });
  err = thrown(() => readBrowserCookies(parseBrowserSpec('brave'), opts({ run: empty })));
  assert.match(err.message, /found no password for application "brave".*--cookies FILE/);
  const wrong: Run = () => ({ status: 0, stdout: 'another-pass' });
  err = thrown(() => readBrowserCookies(parseBrowserSpec('brave'), opts({ run: wrong })));
  assert.match(err.message, /does not decrypt \(v11\)/);
  for (const c of MIXED) assert.ok(!err.message.includes(c.value), 'no cookie value in the message');
});

test('chromium-family profiles on macOS are refused with what to do instead; Firefox there is found', () => {
  const err = thrown(() => readBrowserCookies(parseBrowserSpec('chrome'), opts({ platform: 'darwin' })));
  assert.match(err.message, /Keychain.*use Firefox.*--cookies FILE/);
  const root = join(home, 'Library', 'Application Support', 'Firefox');
  mkdirSync(join(root, 'Profiles', 'p.default'), { recursive: true });
  writeFileSync(join(root, 'profiles.ini'), '[Profile0]\nName=default\nIsRelative=1\nPath=Profiles/p.default\nDefault=1\n');
  firefoxCookies(join(root, 'Profiles', 'p.default', 'cookies.sqlite'), MIXED);
  const got = readBrowserCookies(parseBrowserSpec('firefox'), opts({ platform: 'darwin' }));
  assert.equal(got.cookies.length, 3);
  assert.match(got.userAgent, /Macintosh; Intel Mac OS X 10\.15; rv:156\.0/);
});

test('against the simulator only cookies of its host are read', () => {
  firefoxProfile(home, [...MIXED, { host: '127.0.0.1', name: 'orm-jwt', value: 'sim-secret' }, { host: 'localhost', name: 'orm-jwt', value: 'lh' }]);
  const got = readBrowserCookies(parseBrowserSpec('firefox'), opts({ urls: ['http://127.0.0.1:8123', 'http://127.0.0.1:8123'] }));
  assert.deepEqual(byName(got.cookies), ['orm-jwt@127.0.0.1']);
});

test('a damaged cookie database, or a SQLite file of another kind, is a bad_input error naming the file, not a SQLite error', () => {
  const ud = chromiumProfile(home, 'chromium', MIXED);
  const db = join(ud, 'Default', 'Network', 'Cookies');
  writeFileSync(db, 'garbage, not a database '.repeat(200));
  let err = thrown(() => readBrowserCookies(parseBrowserSpec('chromium'), opts()));
  assert.ok(err instanceof BookdError && err.kind === 'bad_input', String(err));
  assert.match(err.message, /^\S+Network\/Cookies is not a chromium cookie database bookd can read \(SQLite: file is not a database\); nothing was imported/);
  const profile = firefoxProfile(home, MIXED);
  rmSync(join(profile, 'cookies.sqlite'));
  new BetterSqlite3(join(profile, 'cookies.sqlite')).exec('CREATE TABLE other (x)').close();
  err = thrown(() => readBrowserCookies(parseBrowserSpec('firefox'), opts()));
  assert.ok(err instanceof BookdError && err.kind === 'bad_input', String(err));
  assert.match(err.message, /cookies\.sqlite is not a firefox cookie database bookd can read \(SQLite: no such table: moz_cookies\)/);
  assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'the copies are removed');
});
