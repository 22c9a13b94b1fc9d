import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnvironment, expandWords, runCommand, splitCommand } from './command.js';

test('a command line splits into words as a shell would, without running one', () => {
  assert.deepEqual(splitCommand(`calibredb add --with-library "/srv/my books" '$BOOKD_BOOK_PATH'`), {
    argv: ['calibredb', 'add', '--with-library', '/srv/my books', '$BOOKD_BOOK_PATH'],
  });
  assert.deepEqual(splitCommand(String.raw`a\ b "c\"d" 'e\f' "" x`), { argv: ['a b', 'c"d', 'e\\f', '', 'x'] });
  assert.deepEqual(splitCommand('  '), { error: 'is empty' });
  assert.deepEqual(splitCommand(`a 'b`), { error: "has an unclosed '" });
  assert.deepEqual(splitCommand('a \\'), { error: 'ends in a lone backslash' });
});

test('$BOOKD_… in a word is replaced after the split: a hostile title stays one argument', () => {
  const title = `x"; rm -rf / #$(reboot)`;
  assert.deepEqual(
    expandWords(['echo', '$BOOKD_BOOK_TITLE', 'id=${BOOKD_BOOK_ID}', '$HOME', '$BOOKD_UNKNOWN'], { BOOKD_BOOK_TITLE: title, BOOKD_BOOK_ID: '42' }),
    ['echo', title, 'id=42', '$HOME', '$BOOKD_UNKNOWN'],
  );
});

test("the child's environment leaves out the daemon's own BOOKD_* settings and systemd sockets", () => {
  const env = childEnvironment(
    { PATH: '/bin', BOOKD_HTTP_TOKEN: 'secret', BOOKD_NOTIFY_WEBHOOK: 'https://x/secret', NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1' },
    { BOOKD_EVENT: 'e' },
  );
  assert.deepEqual(env, { PATH: '/bin', BOOKD_EVENT: 'e' });
});

test('runCommand: exit 0 is ok, a non-zero exit and a missing program are values with a reason', async () => {
  const env = { PATH: process.env.PATH };
  assert.deepEqual(await runCommand(['true'], { env, timeoutMs: 5000 }), { ok: true, why: 'exit 0' });
  const failed = await runCommand(['sh', '-c', 'echo broken >&2; exit 3'], { env, timeoutMs: 5000 });
  assert.deepEqual(failed, { ok: false, why: 'exit 3; stderr: broken' });
  const missing = await runCommand(['/nonexistent/hook'], { env, timeoutMs: 5000 });
  assert.equal(missing.ok, false);
  assert.match(missing.why, /could not start \/nonexistent\/hook: ENOENT/);
});

test('runCommand: a command that hangs is killed after its timeout, with the children it started', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-hook-'));
  try {
    const marker = join(dir, 'late');
    const started = Date.now();
    // The shell's child sleeps on; killing the group must take it too, so the marker is never written.
    const out = await runCommand(['sh', '-c', `(sleep 2; touch ${marker}) & wait`], { env: { PATH: process.env.PATH }, timeoutMs: 300, killGraceMs: 200 });
    assert.equal(out.ok, false);
    assert.match(out.why, /killed after 300 ms/);
    assert.ok(Date.now() - started < 1800, 'it did not wait for the command');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(existsSync(marker), false, 'the child of the command was killed too');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runCommand passes the environment it is given', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bookd-hook-'));
  try {
    const file = join(dir, 'env');
    const out = await runCommand(['sh', '-c', `env > ${file}`], { env: { PATH: process.env.PATH, BOOKD_BOOK_ID: '9781' }, timeoutMs: 5000 });
    assert.equal(out.ok, true);
    assert.match(readFileSync(file, 'utf8'), /^BOOKD_BOOK_ID=9781$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
