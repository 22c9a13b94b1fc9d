import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_TUNING, requireHttpToken, resolveConfig, tuned, validateTuning, type ConfigPlaces, type Tuning } from './config.js';
import { ConfigError, exitCodeFor } from './errors.js';

const base = { BOOKD_DATA_DIR: '/nonexistent/bookd-config-test', XDG_CONFIG_HOME: '/nonexistent/bookd-config-test/xdg' };

test('durations where 0 would break every request are refused at 0, naming the variable', () => {
  for (const name of ['BOOKD_REQUEST_TIMEOUT_MS', 'BOOKD_EDGE_BACKOFF_MS', 'BOOKD_RETRY_BASE_MS']) {
    assert.throws(
      () => resolveConfig({}, { ...base, [name]: '0' }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name) && /whole number ≥ 1, got "0"/.test(err.message),
    );
    assert.doesNotThrow(() => resolveConfig({}, { ...base, [name]: '1' }));
  }
});

test('a session interval of 0 (no pacing, for benchmarks) is allowed; a negative or fractional one is not', () => {
  assert.equal(resolveConfig({}, { ...base, BOOKD_SESSION_INTERVAL_MS: '0' }).sessionIntervalMs, 0);
  for (const bad of ['-1', '1.5', 'fast']) assert.throws(() => resolveConfig({}, { ...base, BOOKD_SESSION_INTERVAL_MS: bad }), ConfigError);
});

/** A home, an XDG config dir and an /etc of their own in a temp dir: nothing real is read. */
function fakeMachine() {
  const root = mkdtempSync(join(tmpdir(), 'bookd-config-'));
  const home = join(root, 'home');
  const places: ConfigPlaces = { home, systemFile: join(root, 'etc', 'bookd', 'config.json'), search: true };
  const write = (file: string, value: unknown) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(value));
  };
  return { root, home, places, write, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

test('config files: /etc, then the XDG user file, then <data-dir>/config.json, then environment, then flags', (t) => {
  const m = fakeMachine();
  t.after(m.cleanup);
  const xdg = join(m.root, 'xdg');
  const data = join(m.root, 'data');
  const env = { XDG_CONFIG_HOME: xdg };
  m.write(m.places.systemFile, { logLevel: 'error', workers: 1, userAgent: 'etc', acceptLanguage: 'etc', dataDir: join(m.root, 'etc-data') });
  m.write(join(xdg, 'bookd', 'config.json'), { workers: 2, userAgent: 'user', dataDir: data });
  // Found through the data dir the user file names.
  m.write(join(data, 'config.json'), { userAgent: 'data-dir' });
  const c = resolveConfig({}, env, m.places);
  assert.deepEqual(c.configFiles, [m.places.systemFile, join(xdg, 'bookd', 'config.json'), join(data, 'config.json')]);
  assert.equal(c.dataDir, data);
  assert.equal(c.logLevel, 'error', 'only /etc sets it');
  assert.equal(c.acceptLanguage, 'etc');
  assert.equal(c.workers, 2, 'the user file beats /etc');
  assert.equal(c.userAgent, 'data-dir', 'the data dir file beats both');
  assert.equal(resolveConfig({}, { ...env, BOOKD_USER_AGENT: 'env', BOOKD_LOG_LEVEL: 'warn' }, m.places).userAgent, 'env');
  assert.equal(resolveConfig({ logLevel: 'debug' }, { ...env, BOOKD_LOG_LEVEL: 'warn' }, m.places).logLevel, 'debug');

  // An explicit file stands alone: none of the others is read.
  const mine = join(m.root, 'mine.json');
  m.write(mine, { userAgent: 'explicit' });
  for (const c2 of [resolveConfig({ config: mine }, env, m.places), resolveConfig({}, { ...env, BOOKD_CONFIG: mine }, m.places)]) {
    assert.deepEqual(c2.configFiles, [mine]);
    assert.equal(c2.userAgent, 'explicit');
    assert.equal(c2.workers, undefined);
  }
  // Without XDG_CONFIG_HOME (or with a relative one, which the spec says to ignore) it is ~/.config.
  m.write(join(m.home, '.config', 'bookd', 'config.json'), { userAgent: 'home' });
  assert.equal(resolveConfig({ dataDir: join(m.root, 'empty') }, {}, m.places).userAgent, 'home');
  assert.equal(resolveConfig({ dataDir: join(m.root, 'empty') }, { XDG_CONFIG_HOME: 'relative/dir' }, m.places).userAgent, 'home');
  // The demo's way: no search at all.
  assert.deepEqual(resolveConfig({ dataDir: join(m.root, 'empty') }, env, { ...m.places, search: false }).configFiles, []);
});

test('a bad key or value in any found config file is exit 78 naming the file and the key', (t) => {
  const m = fakeMachine();
  t.after(m.cleanup);
  const env = { XDG_CONFIG_HOME: join(m.root, 'xdg'), BOOKD_DATA_DIR: join(m.root, 'data') };
  const user = join(m.root, 'xdg', 'bookd', 'config.json');
  for (const [file, body, key] of [
    [m.places.systemFile, { workers: 'many' }, 'workers'],
    [user, { noSuchKey: 1 }, 'noSuchKey'],
    [join(m.root, 'data', 'config.json'), { budgetStart: -1 }, 'budgetStart'],
  ] as const) {
    m.write(file, body);
    assert.throws(
      () => resolveConfig({}, env, m.places),
      (err: unknown) => err instanceof ConfigError && exitCodeFor(err) === 78 && err.message.includes(`config file ${file}, key "${key}"`),
      file,
    );
    rmSync(file);
  }
});

test('the library defaults to $XDG_DATA_HOME/bookd/library; an existing one at the old default is kept, with a note', (t) => {
  const m = fakeMachine();
  t.after(m.cleanup);
  const data = join(m.root, 'data');
  const env = { BOOKD_DATA_DIR: data, XDG_CONFIG_HOME: join(m.root, 'xdg') };
  assert.equal(resolveConfig({}, env, m.places).library, join(m.home, '.local', 'share', 'bookd', 'library'));
  const fresh = resolveConfig({}, { ...env, XDG_DATA_HOME: join(m.root, 'share') }, m.places);
  assert.equal(fresh.library, join(m.root, 'share', 'bookd', 'library'));
  assert.deepEqual(fresh.notes, []);
  // systemd's StateDirectory: the unit's sandbox lets it write there only.
  assert.equal(resolveConfig({}, { STATE_DIRECTORY: data, XDG_CONFIG_HOME: join(m.root, 'xdg') }, m.places).library, join(data, 'library'));

  mkdirSync(join(data, 'library'), { recursive: true });
  const old = resolveConfig({}, { ...env, XDG_DATA_HOME: join(m.root, 'share') }, m.places);
  assert.equal(old.library, join(data, 'library'));
  assert.equal(old.notes.length, 1);
  assert.match(old.notes[0]!, new RegExp(`old default place ${data}/library.*mv ${data}/library ${m.root}/share/bookd/library`));
  // Whoever names a library gets it, and no note.
  const named = resolveConfig({ library: join(m.root, 'elsewhere') }, env, m.places);
  assert.equal(named.library, join(m.root, 'elsewhere'));
  assert.deepEqual(named.notes, []);
});

test('with no settings the tuning is DEFAULT_TUNING, at the values the modules used to hard-code', () => {
  const t = resolveConfig({}, base).tuning;
  assert.deepEqual(t, DEFAULT_TUNING);
  assert.deepEqual(t.requests.pool, { headersMs: 30_000, bodyMs: 30_000, totalMs: 300_000 });
  assert.deepEqual(t.requests.oneShot, { headersMs: 30_000, bodyMs: 30_000, totalMs: 60_000 });
  assert.deepEqual(t.edge, { baseMs: 30_000, maxMs: 30 * 60_000 });
  assert.deepEqual(t.holds, { holdMs: 120_000, renewMs: 10_000, sendMarginMs: 60_000, waitMs: 120_000, pollMs: 250 });
  assert.equal(t.daemon.leaseMs, 120_000);
  assert.equal(t.daemon.throttleSnoozeMs, 30_000);
  assert.equal(t.retry.jobBaseMs, 30_000);
  assert.equal(t.status.daemonGoneMs, 60_000);
});

test('the settings tuning follows are derived once, in resolveConfig', () => {
  const t = resolveConfig(
    {},
    { ...base, BOOKD_REQUEST_TIMEOUT_MS: '5000', BOOKD_RETRY_BASE_MS: '200', BOOKD_EDGE_BACKOFF_MS: '100', BOOKD_EDGE_BACKOFF_MAX_MS: '900' },
  ).tuning;
  assert.deepEqual(t.requests.pool, { headersMs: 5000, bodyMs: 5000, totalMs: 50_000 });
  assert.deepEqual(t.requests.oneShot, { headersMs: 5000, bodyMs: 5000, totalMs: 10_000 });
  assert.deepEqual(t.edge, { baseMs: 100, maxMs: 900 });
  assert.equal(t.retry.requestBaseMs, 200);
  assert.equal(t.retry.jobBaseMs, 6000);
  assert.equal(t.daemon.throttleSnoozeMs, 6000);
  assert.equal(t.daemon.leaseMs, DEFAULT_TUNING.daemon.leaseMs, 'what follows no setting stays at its default');
});

test('validateTuning refuses a broken relation or a value below 1 ms, naming the key', () => {
  const refused = (t: Tuning, key: string) =>
    assert.throws(
      () => validateTuning(t),
      (err: unknown) => err instanceof ConfigError && err.message.includes(key),
      key,
    );
  assert.equal(validateTuning(DEFAULT_TUNING), DEFAULT_TUNING);
  refused({ ...DEFAULT_TUNING, daemon: { ...DEFAULT_TUNING.daemon, heartbeatMs: 60_000 } }, 'tuning.daemon.heartbeatMs');
  refused(
    { ...DEFAULT_TUNING, daemon: { ...DEFAULT_TUNING.daemon, periods: { ...DEFAULT_TUNING.daemon.periods, reap: 120_000 } } },
    'tuning.daemon.periods.reap',
  );
  refused({ ...DEFAULT_TUNING, holds: { ...DEFAULT_TUNING.holds, holdMs: 10_000, renewMs: 10_000 } }, 'tuning.holds.renewMs');
  refused({ ...DEFAULT_TUNING, holds: { ...DEFAULT_TUNING.holds, renewMs: 30_000, sendMarginMs: 90_000 } }, 'tuning.holds.renewMs + holds.sendMarginMs');
  refused(
    { ...DEFAULT_TUNING, daemon: { ...DEFAULT_TUNING.daemon, periods: { ...DEFAULT_TUNING.daemon.periods, reload: 120_000 } } },
    'tuning.daemon.periods.reload',
  );
  refused({ ...DEFAULT_TUNING, edge: { baseMs: 2000, maxMs: 1000 } }, 'tuning.edge.baseMs');
  refused(
    { ...DEFAULT_TUNING, daemon: { ...DEFAULT_TUNING.daemon, periods: { ...DEFAULT_TUNING.daemon.periods, upkeep: 0 } } },
    'tuning.daemon.periods.upkeep',
  );
  refused({ ...DEFAULT_TUNING, pool: { ...DEFAULT_TUNING.pool, acquireTimeoutMs: 1.5 } }, 'tuning.pool.acquireTimeoutMs');
  refused(
    { ...DEFAULT_TUNING, requests: { ...DEFAULT_TUNING.requests, pool: { headersMs: 30_000, bodyMs: 30_000, totalMs: 1000 } } },
    'tuning.requests.pool.headersMs',
  );
  assert.throws(() => tuned({ holds: { renewMs: 200_000 } }), ConfigError, 'overrides are validated too');
  assert.equal(tuned({ pool: { acquireTimeoutMs: 300 } }).pool.restMs, DEFAULT_TUNING.pool.restMs, 'an override keeps the rest of its group');
});

test('a broken relation is a ConfigError: exit 78, not a crash later', () => {
  let caught: unknown;
  try {
    validateTuning({ ...DEFAULT_TUNING, daemon: { ...DEFAULT_TUNING.daemon, leaseMs: 10_000 } });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError);
  assert.match(caught.message, /tuning\.daemon\.heartbeatMs \(5000 ms\).*tuning\.daemon\.leaseMs \(10000 ms\)/);
  assert.equal(exitCodeFor(caught), 78);
});

test('the web token: from httpToken, BOOKD_HTTP_TOKEN or the credentials file http-token; too short is refused naming where; off loopback without one the daemon may not start', (t) => {
  const m = fakeMachine();
  t.after(m.cleanup);
  const places = { ...m.places, search: false };
  const creds = join(m.root, 'creds');
  mkdirSync(creds);
  assert.equal(resolveConfig({}, base, places).httpToken, undefined);
  assert.equal(resolveConfig({}, { ...base, BOOKD_HTTP_TOKEN: 'a-token-from-the-env' }, places).httpToken, 'a-token-from-the-env');
  writeFileSync(join(creds, 'bookd_http-token'), 'a-token-from-systemd\n');
  assert.equal(resolveConfig({}, { ...base, CREDENTIALS_DIRECTORY: creds }, places).httpToken, 'a-token-from-systemd');
  writeFileSync(join(creds, 'http-token'), 'a-token-from-the-file\n');
  assert.equal(resolveConfig({}, { ...base, CREDENTIALS_DIRECTORY: creds }, places).httpToken, 'a-token-from-the-file');
  assert.equal(
    resolveConfig({}, { ...base, CREDENTIALS_DIRECTORY: creds, BOOKD_HTTP_TOKEN: 'the-env-wins-over-a-file' }, places).httpToken,
    'the-env-wins-over-a-file',
  );
  const file = join(m.root, 'config.json');
  m.write(file, { httpToken: 'short' });
  assert.throws(
    () => resolveConfig({ config: file }, base, places),
    (err: Error) => err instanceof ConfigError && /key "httpToken": is 5 characters long/.test(err.message),
  );

  for (const http of ['127.0.0.1:9469', '127.3.4.5:80', '[::1]:9469', 'localhost:9469', 'LOCALHOST:1'])
    assert.doesNotThrow(() => requireHttpToken({ http, httpToken: undefined }), http);
  for (const http of ['0.0.0.0:9469', '[::]:9469', '192.168.1.5:9469', 'nas.local:9469', '128.0.0.1:1']) {
    assert.throws(
      () => requireHttpToken({ http, httpToken: undefined }),
      (err: Error) => err instanceof ConfigError && exitCodeFor(err) === 78 && /not loopback\) needs a token/.test(err.message),
      http,
    );
    assert.doesNotThrow(() => requireHttpToken({ http, httpToken: 'a-long-enough-token' }));
  }
  assert.doesNotThrow(() => requireHttpToken({ http: undefined, httpToken: undefined }));
});
