import { spawn } from 'node:child_process';
import { errnoCode, errorMessage } from '../errors.js';

/**
 * The operator's commands (the `command` notifier, the `onArchived` hook) run without a shell: a
 * string is split into words here the way a shell splits them (spaces; '…', "…" and \ quote), and
 * `$BOOKD_…` / `${BOOKD_…}` in a word is replaced by that variable's value after the split, so a
 * book title can never become part of the command line. Pipes or redirections need an explicit
 * `sh -c '…'`, which then reads the same variables from its environment.
 */
export function splitCommand(text: string): { argv: string[] } | { error: string } {
  const argv: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= text.length) return { error: 'ends in a lone backslash' };
      const next = text[++i]!;
      // Inside "…", a backslash quotes only what a shell lets it quote.
      word = (word ?? '') + (quote === '"' && !'"\\$`'.includes(next) ? `\\${next}` : next);
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) argv.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) return { error: `has an unclosed ${quote}` };
  if (word !== undefined) argv.push(word);
  if (argv.length === 0) return { error: 'is empty' };
  return { argv };
}

/** A command setting: a string (split by `splitCommand`) or a list of words, as given. */
export function parseCommandSetting(value: unknown): { argv: string[] } | { error: string } {
  if (typeof value === 'string') {
    const split = splitCommand(value);
    return 'error' in split ? { error: `the command ${split.error}` } : split;
  }
  if (Array.isArray(value) && value.length > 0 && value.every((w) => typeof w === 'string') && value[0] !== '') return { argv: [...value] };
  return { error: 'must be a command line (a string) or a non-empty list of words' };
}

/** `$NAME` and `${NAME}` of the given variables replaced in each word; anything else stays as written. */
export function expandWords(argv: readonly string[], vars: Readonly<Record<string, string>>): string[] {
  return argv.map((w) =>
    w.replace(/\$\{(BOOKD_[A-Z_]+)\}|\$(BOOKD_[A-Z_]+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      return Object.hasOwn(vars, name) ? vars[name]! : whole;
    }),
  );
}

/**
 * The daemon's environment for a child, less what is the daemon's own: BOOKD_* settings (an HTTP
 * token, webhook URLs) and systemd's sockets, which are meant for this process only.
 */
export function childEnvironment(base: NodeJS.ProcessEnv, vars: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (k.startsWith('BOOKD_') || k === 'NOTIFY_SOCKET' || k.startsWith('WATCHDOG_') || k.startsWith('LISTEN_')) continue;
    env[k] = v;
  }
  return { ...env, ...vars };
}

export interface CommandOutcome {
  ok: boolean;
  /** One line for the log: how it ended (exit code, signal, timeout, could not start). */
  why: string;
}

/** How much of a failing command's stderr is kept for the log line. */
const STDERR_TAIL = 300;

/**
 * Runs `argv` with `env`; resolves (never rejects) once it exits. Past `timeoutMs` its process
 * group gets SIGTERM, and SIGKILL `killGraceMs` later, so a hook that spawned children of its own
 * does not leave them behind.
 */
export function runCommand(argv: readonly string[], opts: { env: NodeJS.ProcessEnv; timeoutMs: number; killGraceMs?: number }): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0]!, argv.slice(1), { env: opts.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    } catch (err) {
      resolve({ ok: false, why: `could not start ${argv[0]}: ${errnoCode(err) ?? errorMessage(err)}` });
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-STDERR_TAIL)));
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const group = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      group('SIGTERM');
      killTimer = setTimeout(() => group('SIGKILL'), opts.killGraceMs ?? 2_000);
    }, opts.timeoutMs);
    const finish = (outcome: CommandOutcome) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      child.stderr?.destroy();
      resolve(outcome);
    };
    child.once('error', (err) => finish({ ok: false, why: `could not start ${argv[0]}: ${errnoCode(err) ?? errorMessage(err)}` }));
    child.once('exit', (code, signal) => {
      const last = stderr.trim().split('\n').at(-1);
      const tail = last ? `; stderr: ${last}` : '';
      if (timedOut) finish({ ok: false, why: `killed after ${opts.timeoutMs} ms without finishing${tail}` });
      else if (code === 0) finish({ ok: true, why: 'exit 0' });
      else finish({ ok: false, why: `${code !== null ? `exit ${code}` : `killed by ${signal}`}${tail}` });
    });
  });
}
