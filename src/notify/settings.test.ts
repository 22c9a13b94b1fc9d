import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../config.js';
import { ConfigError, exitCodeFor } from '../errors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = { BOOKD_DATA_DIR: '/nonexistent/bookd-notify-test', XDG_CONFIG_HOME: '/nonexistent/bookd-notify-test/xdg' };
const places = { home: '/nonexistent/bookd-notify-test/home', systemFile: '/nonexistent/bookd-notify-test/etc.json', search: false };

/** resolveConfig with a config file holding `settings`. */
function withFile(settings: unknown, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-notify-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(settings));
    return resolveConfig({ config: file }, { ...base, ...env }, places);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function refused(settings: unknown, pattern: RegExp, env: NodeJS.ProcessEnv = {}) {
  assert.throws(
    () => withFile(settings, env),
    (err: unknown) => err instanceof ConfigError && exitCodeFor(err) === 78 && pattern.test(err.message),
    `${JSON.stringify(settings)} is refused with ${String(pattern)}`,
  );
}

test('no notify setting: no notifications, no hook', () => {
  const c = resolveConfig({}, base, places);
  assert.deepEqual(c.notify, { webhooks: [], ntfy: undefined, command: undefined });
  assert.equal(c.onArchived, undefined);
});

test('notify and onArchived from a config file: URLs kept, commands split into words without a shell', () => {
  const c = withFile({
    notify: {
      webhooks: ['https://hooks.example/a', 'http://127.0.0.1:9/b'],
      ntfy: 'https://ntfy.sh/my-topic',
      command: `/usr/local/bin/tell "bookd says" '$BOOKD_EVENT'`,
    },
    onArchived: 'calibredb add --with-library /srv/calibre "$BOOKD_BOOK_PATH"',
  });
  assert.deepEqual(c.notify.webhooks, ['https://hooks.example/a', 'http://127.0.0.1:9/b']);
  assert.equal(c.notify.ntfy, 'https://ntfy.sh/my-topic');
  assert.deepEqual(c.notify.command, ['/usr/local/bin/tell', 'bookd says', '$BOOKD_EVENT']);
  assert.deepEqual(c.onArchived, ['calibredb', 'add', '--with-library', '/srv/calibre', '$BOOKD_BOOK_PATH']);
  assert.deepEqual(withFile({ onArchived: ['/bin/hook', 'a b'] }).onArchived, ['/bin/hook', 'a b'], 'a list of words is taken as it is');
});

test('BOOKD_NOTIFY_WEBHOOK (comma-separated) replaces the file webhooks and keeps its ntfy', () => {
  const c = withFile(
    { notify: { webhooks: ['https://a.example/x'], ntfy: 'https://ntfy.sh/t' } },
    { BOOKD_NOTIFY_WEBHOOK: 'https://b.example/1, https://c.example/2' },
  );
  assert.deepEqual(c.notify.webhooks, ['https://b.example/1', 'https://c.example/2']);
  assert.equal(c.notify.ntfy, 'https://ntfy.sh/t');
  assert.deepEqual(resolveConfig({}, { ...base, BOOKD_NOTIFY_WEBHOOK: 'https://b.example/1' }, places).notify.webhooks, ['https://b.example/1']);
});

test('bad notify values are exit 78 naming the key, and never repeat the URL (it may be a secret)', () => {
  refused({ notify: 'https://x.example' }, /key "notify": must be an object/);
  refused({ notify: { webhook: ['https://x.example'] } }, /key "notify": unknown key "webhook"/);
  refused({ notify: { webhooks: ['ftp://secret-host/x'] } }, /key "notify": webhooks\[0\] must be an http\(s\) URL, not ftp:/);
  refused({ notify: { webhooks: ['not a url'] } }, /key "notify": webhooks\[0\] is not a URL/);
  refused({ notify: { webhooks: 42 } }, /webhooks must be a list/);
  refused({ notify: { ntfy: 'https://ntfy.sh/' } }, /key "notify": ntfy must name a topic/);
  refused({ notify: { ntfy: 42 } }, /key "notify": ntfy must be an http\(s\) URL/);
  refused({ notify: { command: '' } }, /key "notify": command the command is empty/);
  refused({ notify: { command: 'tell "unclosed' } }, /unclosed "/);
  refused({ onArchived: 7 }, /key "onArchived": must be a command line/);
  refused({ onArchived: [] }, /key "onArchived": must be a command line/);
  assert.throws(
    () => resolveConfig({}, { ...base, BOOKD_NOTIFY_WEBHOOK: 'https://ok.example, gopher://topsecret' }, places),
    (err: unknown) =>
      err instanceof ConfigError && /BOOKD_NOTIFY_WEBHOOK: URL number 2 must be an http\(s\) URL/.test(err.message) && !err.message.includes('topsecret'),
  );
  for (const bad of [{ notify: { webhooks: ['ftp://secret-host/x'] } }, { notify: { ntfy: 'gopher://secret-host/t' } }]) {
    assert.throws(
      () => withFile(bad),
      (err: unknown) => err instanceof Error && !err.message.includes('secret-host'),
    );
  }
});
