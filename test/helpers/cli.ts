import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI; BOOKD_TEST_CLI points elsewhere when a build goes to another directory. */
export const CLI = process.env.BOOKD_TEST_CLI ? resolve(process.env.BOOKD_TEST_CLI) : resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  cwd?: string;
  /** Kill the child after this long; a test must never hang on a stuck CLI. */
  timeoutMs?: number;
  /**
   * Run the child as another host: in a UTS namespace of its own with this host name (root only,
   * see CAN_NAME_HOSTS), so its daemon rows, holds and budget say that host, as on another machine.
   */
  host?: string;
}

/** Whether children can be given host names of their own (root, with util-linux's unshare). */
export const CAN_NAME_HOSTS = process.getuid?.() === 0 && spawnSync('unshare', ['--uts', 'true']).status === 0;

/** The command that runs the built CLI with `args`, as `opts.host` when given (unshare execs, so the child's PID is bookd's). */
function cliCommand(args: string[], opts: CliOptions): [string, string[]] {
  if (opts.host === undefined) return [process.execPath, [CLI, ...args]];
  if (!CAN_NAME_HOSTS) throw new Error('giving a child its own host name needs root and unshare --uts');
  return ['unshare', ['--uts', 'sh', '-c', 'hostname "$1" && shift && exec "$@"', 'sh', opts.host, process.execPath, CLI, ...args]];
}

/**
 * A home of its own for every test process, so a child bookd never reads the real user's
 * ~/.config/bookd/config.json nor writes a library under ~/.local/share (src/config.ts looks there).
 */
export const TEST_HOME = mkdtempSync(join(tmpdir(), 'bookd-test-home-'));
process.on('exit', () => rmSync(TEST_HOME, { recursive: true, force: true }));

/** Environment for a child bookd: no inherited BOOKD_* or XDG_* settings, no TTY-dependent output. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      (!k.startsWith('BOOKD_') || k === 'BOOKD_TEST_CLI' || k === 'BOOKD_DEBUG') &&
      !k.startsWith('XDG_') &&
      k !== 'NOTIFY_SOCKET' &&
      k !== 'STATE_DIRECTORY' &&
      k !== 'CREDENTIALS_DIRECTORY'
    )
      env[k] = v;
  }
  return {
    ...env,
    HOME: TEST_HOME,
    XDG_CONFIG_HOME: join(TEST_HOME, '.config'),
    XDG_DATA_HOME: join(TEST_HOME, '.local', 'share'),
    XDG_STATE_HOME: join(TEST_HOME, '.local', 'state'),
    NO_COLOR: '1',
    ...extra,
  };
}

/** Runs the built CLI to completion. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(...cliCommand(args, opts), {
      env: cleanEnv(opts.env),
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface Running {
  child: ChildProcess;
  /** Lines of stdout after the first, as they arrive. */
  lines: string[];
  stderr: () => string;
  /** SIGTERM (or the given signal), then wait for exit; SIGKILL after a deadline. */
  stop(signal?: NodeJS.Signals, deadlineMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a long-running CLI command and resolves with its first stdout line. */
export function startCli(args: string[], opts: CliOptions = {}): Promise<Running & { firstLine: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(...cliCommand(args, opts), {
      env: cleanEnv(opts.env),
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout });
    let first: string | undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bookd ${args.join(' ')} printed nothing within ${opts.timeoutMs ?? 30_000} ms; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    rl.on('line', (line) => {
      if (first === undefined) {
        first = line;
        clearTimeout(timer);
        resolvePromise({
          child,
          firstLine: line,
          lines,
          stderr: () => stderr,
          async stop(signal = 'SIGTERM', deadlineMs = 15_000) {
            if (child.exitCode !== null || child.signalCode !== null) return exited;
            child.kill(signal);
            const killer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
            const result = await exited;
            clearTimeout(killer);
            return result;
          },
        });
      } else {
        lines.push(line);
      }
    });
    void exited.then(({ code, signal }) => {
      if (first === undefined) {
        clearTimeout(timer);
        reject(new Error(`bookd ${args.join(' ')} exited (${code ?? signal}) before printing; stderr: ${stderr}`));
      }
    });
  });
}

/** SIGKILL for a child process unless it has exited already; resolves once it has. */
export function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  return gone;
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'bookd-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, deadlineMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
