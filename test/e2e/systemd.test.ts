import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, runCli, startCli, tempDir, waitFor } from '../helpers/cli.js';
import { addSessions, bookdEnv } from '../helpers/library.js';
import { startSimProcess } from '../helpers/sim.js';

const UNIT = join(import.meta.dirname, '../../systemd/bookd.service');

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Installs Debian's systemd package for systemd-analyze when we are root with apt; else undefined. */
function systemdAnalyze(): string | undefined {
  if (hasCommand('systemd-analyze')) return 'systemd-analyze';
  if (process.getuid?.() !== 0 || !hasCommand('apt-get') || process.env.BOOKD_SKIP_APT) return undefined;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'systemd'], { env, stdio: 'ignore', timeout: 600_000 });
  return hasCommand('systemd-analyze') ? 'systemd-analyze' : undefined;
}

const analyze = systemdAnalyze();

test(
  'systemd-analyze verify finds nothing at all to say about the unit',
  { skip: analyze ? false : 'systemd-analyze is not installed and cannot be installed here (needs root and apt-get)' },
  () => {
    const { dir, cleanup } = tempDir();
    try {
      // verify checks that ExecStart= exists; point it at this build instead of /usr/local/bin.
      chmodSync(CLI, 0o755);
      const unit = join(dir, 'bookd.service');
      writeFileSync(unit, readFileSync(UNIT, 'utf8').replace('/usr/local/bin/bookd', CLI));
      const r = spawnSync(analyze!, ['verify', unit], { encoding: 'utf8' });
      assert.equal(`${r.stdout}${r.stderr}`, '', 'no output');
      assert.equal(r.status, 0);
      const unitText = readFileSync(UNIT, 'utf8');
      for (const line of [
        'Type=notify',
        'NotifyAccess=main',
        'ExecReload=/bin/kill -HUP $MAINPID',
        'User=bookd',
        'StateDirectory=bookd',
        'Restart=on-failure',
        'RestartPreventExitStatus=78',
        'LoadCredential=',
        'WatchdogSec=',
      ]) {
        assert.ok(unitText.includes(line), `the unit sets ${line}`);
      }
      assert.ok(!/^MemoryDenyWriteExecute=yes/m.test(unitText), 'V8 needs writable executable memory');
      assert.match(unitText, /^SystemCallFilter=@system-service @pkey$/m);
    } finally {
      cleanup();
    }
  },
);

interface Dgram {
  createSocket(type: 'unix_dgram', listener: (msg: Buffer) => void): { bind(path: string): void; close(): void; on(e: string, cb: (err: Error) => void): void };
}

test('the daemon tells systemd READY only once ready, pings the watchdog while healthy, and says STOPPING on stop', async () => {
  const { dir, cleanup } = tempDir();
  const sim = await startSimProcess(['--seed', '4', '--books', '6']);
  const unix = createRequire(import.meta.url)('unix-dgram') as Dgram;
  const messages: { at: number; text: string }[] = [];
  const socketPath = join(dir, 'notify.sock');
  const socket = unix.createSocket('unix_dgram', (msg) => messages.push({ at: Date.now(), text: msg.toString('utf8') }));
  socket.bind(socketPath);
  try {
    const dataDir = join(dir, 'data');
    const env = bookdEnv(dataDir, sim.url, { BOOKD_LOG_LEVEL: 'info' });
    await addSessions(sim, 1, dir, env);
    const daemon = await startCli(['daemon'], { env: { ...env, NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '2000000' } });
    try {
      const ready = await waitFor(() => messages.find((m) => /^READY=1$/m.test(m.text)), 'READY=1', 15_000);
      // READY means the store is open and migrated and the workers run: the daemon has announced itself.
      const announced = execFileSync(process.execPath, [CLI, 'status', '--json'], { env: { ...process.env, ...env } }).toString();
      assert.equal((JSON.parse(announced) as { daemons: unknown[] }).daemons.length, 1);
      assert.ok(
        messages.indexOf(ready) === 0 || !messages.slice(0, messages.indexOf(ready)).some((m) => /WATCHDOG=1/.test(m.text)),
        'no watchdog ping before READY',
      );
      await waitFor(() => messages.filter((m) => /^WATCHDOG=1$/m.test(m.text)).length >= 2, 'two WATCHDOG=1 pings', 10_000);
      await waitFor(() => messages.some((m) => /^STATUS=.*running.*queued/m.test(m.text)), 'a STATUS line', 10_000);
    } finally {
      const exit = await daemon.stop('SIGTERM');
      assert.equal(exit.code, 0);
    }
    assert.ok(
      messages.some((m) => /^STOPPING=1$/m.test(m.text)),
      'STOPPING=1 on stop',
    );
  } finally {
    socket.close();
    await sim.stop();
    cleanup();
  }
});

test('SIGHUP (systemctl reload) says RELOADING=1 with the monotonic time, reloads, then READY=1, also when the new settings are refused', async () => {
  const { dir, cleanup } = tempDir();
  const unix = createRequire(import.meta.url)('unix-dgram') as Dgram;
  const messages: { usec: bigint; text: string }[] = [];
  const socketPath = join(dir, 'notify.sock');
  // CLOCK_MONOTONIC is one clock for the whole machine, so this process can judge the daemon's stamp.
  const socket = unix.createSocket('unix_dgram', (msg) => messages.push({ usec: process.hrtime.bigint() / 1000n, text: msg.toString('utf8') }));
  socket.bind(socketPath);
  try {
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ logLevel: 'info' }));
    const env = { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9', BOOKD_CONFIG: configFile, NOTIFY_SOCKET: socketPath };
    const daemon = await startCli(['daemon'], { env });
    try {
      await waitFor(() => messages.some((m) => /^READY=1$/m.test(m.text)), 'READY=1', 15_000);
      const reloadOnce = async (what: string) => {
        const from = messages.length;
        const sentAt = process.hrtime.bigint() / 1000n;
        daemon.child.kill('SIGHUP');
        const ready = await waitFor(() => messages.slice(from).find((m) => /^READY=1$/m.test(m.text)), `READY=1 after ${what}`, 10_000);
        const since = messages.slice(from, messages.indexOf(ready) + 1).filter((m) => !/^(WATCHDOG|STATUS|EXTEND_TIMEOUT_USEC)=/.test(m.text));
        assert.equal(since.length, 2, `${what}: RELOADING then READY, got ${JSON.stringify(since.map((m) => m.text))}`);
        const reloading = since[0]!;
        assert.match(reloading.text, /^RELOADING=1$/m, what);
        const stamp = /^MONOTONIC_USEC=(\d+)$/m.exec(reloading.text);
        assert.ok(stamp, `${what}: MONOTONIC_USEC beside RELOADING=1: ${reloading.text}`);
        const usec = BigInt(stamp[1]!);
        assert.ok(
          usec >= sentAt && usec <= reloading.usec,
          `${what}: MONOTONIC_USEC ${usec} lies between the signal (${sentAt}) and its arrival (${reloading.usec})`,
        );
        return ready;
      };
      const ok = await reloadOnce('a good reload');
      assert.doesNotMatch(ok.text, /refused/);
      writeFileSync(configFile, JSON.stringify({ noSuchKey: 1 }));
      const refused = await reloadOnce('a refused reload');
      assert.match(refused.text, /^STATUS=reload refused: /m);
    } finally {
      const exit = await daemon.stop('SIGTERM');
      assert.equal(exit.code, 0, daemon.stderr());
    }
  } finally {
    socket.close();
    cleanup();
  }
});

test('a NOTIFY_SOCKET bookd cannot answer from its own pid is refused in one line, not left for systemd to time out', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = await runCli(['daemon'], {
      env: { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9', NOTIFY_SOCKET: '@bookd-test-abstract' },
    });
    assert.equal(r.code, 78, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^bookd: NOTIFY_SOCKET=@bookd-test-abstract .*NotifyAccess=main/);
  } finally {
    cleanup();
  }
});

test('without NOTIFY_SOCKET the daemon runs and stops quietly', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const daemon = await startCli(['daemon', '--log-level', 'info'], { env: { BOOKD_DATA_DIR: join(dir, 'data'), BOOKD_BASE_URL: 'http://127.0.0.1:9' } });
    // The first line is the start line carrying the version (src/version.ts), then the daemon's own.
    assert.match(daemon.firstLine, /"version":"\d+\.\d+\.\d+[^"]*".*bookd \d+\.\d+\.\d+\S* starting/);
    await waitFor(() => daemon.lines.some((l) => /no usable session|daemon ready|claiming paused/.test(l)), 'the daemon past its start');
    assert.equal((await daemon.stop('SIGTERM')).code, 0);
    assert.ok(existsSync(join(dir, 'data', 'bookd.db')));
  } finally {
    cleanup();
  }
});
