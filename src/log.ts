import { fstatSync } from 'node:fs';
import { pino, type Logger, type DestinationStream, type LoggerOptions as PinoOptions } from 'pino';
import type { LogLevel } from './log-levels.js';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log object. Cookie values, tokens and passwords
 * must never reach journald, so anything shaped like them is censored even if a caller slips.
 */
export const REDACT_PATHS = [
  'cookie',
  'cookies',
  'jar',
  'password',
  'token',
  'authorization',
  '*.cookie',
  '*.cookies',
  '*.jar',
  '*.password',
  '*.token',
  '*.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers.authorization',
  '*["orm-jwt"]',
  '*["orm-rt"]',
  '["orm-jwt"]',
  '["orm-rt"]',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable output; defaults to whether stdout is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go (tests capture them); defaults to stdout. */
  destination?: DestinationStream;
}

/**
 * The syslog priority journald should file a pino level under: fatal 2 (crit), error 3 (err),
 * warn 4 (warning), info 6 (info), debug and trace 7 (debug). Levels in between round down to the
 * nearest named one below them.
 */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/**
 * Whether `fd` is the stream systemd connected to the journal: systemd puts that stream's
 * `device:inode` in JOURNAL_STREAM, and only the very same file counts (a shell redirect inside the
 * service, or a child that inherited the variable with other stdio, must not get prefixes).
 */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/** pino's JSON lines start with the numeric level; anything else passes through unprefixed. */
const LEADING_LEVEL = /^\{"level":(\d+)/;

/**
 * Prefixes each line with `<N>` so journald stores it at that priority (it strips the prefix) and
 * `journalctl -p err` finds errors; without it every line would be filed as info. The prefix makes
 * the line not JSON any more, which is fine here: it goes straight to a file descriptor, never
 * through a transport that parses it.
 */
function withSyslogPrefix(line: string): string {
  const m = LEADING_LEVEL.exec(line);
  return m ? `<${syslogPriority(Number(m[1]))}>${line}` : line;
}

/** The NO_COLOR convention: set to anything but the empty string, it turns colour off. */
function colourWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.NO_COLOR;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const base: PinoOptions = {
    level,
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty ?? process.stdout.isTTY) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: colourWanted(), translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
    });
  }
  if (isJournalStream(1)) base.hooks = { streamWrite: withSyslogPrefix };
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything: for library code called from tests and one-shot commands. */
export const silentLogger: Logger = pino({ level: 'silent' });
