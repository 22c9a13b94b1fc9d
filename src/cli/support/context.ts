import { existsSync } from 'node:fs';
import { resolveConfig, type Config, type GlobalFlags, type RunFlags } from '../../config.js';
import { ConfigError, errorMessage } from '../../errors.js';
import type { Store } from '../../db/store.js';
import { openConfiguredStore } from '../../db/open-configured.js';
import { systemClock } from '../../clock.js';
import { BUSY_TIMEOUT_MS, damagedError, isCorruption } from '../../db/open.js';

/** Anything commander hands an action as its command: enough to read the global options. */
export interface CommandLike {
  optsWithGlobals(): object;
}

/** resolveConfig takes only the global flags; a command's own options must not reach it. */
export function configOf(cmd: CommandLike, run: RunFlags = {}): Config {
  const all = cmd.optsWithGlobals() as GlobalFlags;
  const flags: GlobalFlags = {};
  for (const key of ['dataDir', 'library', 'baseUrl', 'store', 'config', 'logLevel'] as const) {
    if (all[key] !== undefined) flags[key] = all[key];
  }
  return resolveConfig({ ...flags, ...run });
}

/** SQLite failures that reach a command, said in the operator's terms. */
function explainSqlite(err: unknown, config: Config): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const db = config.dbPath;
  if (code.startsWith('SQLITE_BUSY')) {
    return new Error(
      `${db} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s (${errorMessage(err)}); try again, and check for a stuck bookd process`,
    );
  }
  if (isCorruption(err)) return damagedError(db, errorMessage(err));
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
    return new ConfigError(`cannot write ${db} (SQLite: ${errorMessage(err)}); fix the permissions of the data directory`);
  }
  if (code === 'SQLITE_FULL') return new Error(`the disk holding ${db} is full; free space and try again`);
  return err;
}

export interface WithStoreOptions {
  /** Use a throwaway in-memory store when there is no database yet (for --dry-run: create nothing). */
  memoryIfMissing?: boolean;
}

/** Opens the store from the global options, runs `fn`, and always closes it. */
export async function withStore<T>(cmd: CommandLike, fn: (store: Store, config: Config) => T | Promise<T>, opts: WithStoreOptions = {}): Promise<T> {
  const config = configOf(cmd);
  let store: Store | undefined;
  try {
    const memory = config.store === undefined && opts.memoryIfMissing && !existsSync(config.dbPath);
    store = await openConfiguredStore(config, systemClock, {}, memory ? ':memory:' : undefined);
    return await fn(store, config);
  } catch (err) {
    throw explainSqlite(err, config);
  } finally {
    await store?.close();
  }
}
