// The log levels, apart from the logger: config.ts validates them, and config.ts is loaded by the
// build and jar threads too, which never log and need not carry pino.
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
