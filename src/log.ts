import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log object. Cookie values, tokens and passwords
 * must never reach journald, so anything shaped like them is censored even if a caller slips.
 */
export const REDACT_PATHS = [
  'cookie', 'cookies', 'jar', 'password', 'token', 'authorization',
  '*.cookie', '*.cookies', '*.jar', '*.password', '*.token', '*.authorization',
  '*.headers.cookie', '*.headers["set-cookie"]', '*.headers.authorization',
  'headers.cookie', 'headers["set-cookie"]', 'headers.authorization',
  '*["orm-jwt"]', '*["orm-rt"]', '["orm-jwt"]', '["orm-rt"]',
];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable output; defaults to whether stdout is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go (tests capture them); defaults to stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const base = {
    level,
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty ?? process.stdout.isTTY) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
    });
  }
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything: for library code called from tests and one-shot commands. */
export const silentLogger: Logger = pino({ level: 'silent' });
