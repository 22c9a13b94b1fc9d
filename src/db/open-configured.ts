import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PgStoreOptions } from './pg/store.js';
import { openStore, type Store, type StoreOptions } from './store.js';

export type ConfiguredStoreOptions = StoreOptions & Pick<PgStoreOptions, 'listen' | 'onError' | 'maxConnections'>;

/**
 * The store the settings name: the PostgreSQL server of `store` (several hosts on one queue), or
 * SQLite at `dbPath` (`path` overrides it: a command's throwaway in-memory store). The PostgreSQL
 * driver is loaded only when it is used, so a single machine never pays for it.
 */
export async function openConfiguredStore(
  config: Pick<Config, 'store' | 'dbPath'>,
  clock: Clock,
  opts: ConfiguredStoreOptions = {},
  path?: string,
): Promise<Store> {
  const { listen, onError, maxConnections, ...sqliteOpts } = opts;
  if (config.store === undefined) return openStore(path ?? config.dbPath, clock, sqliteOpts);
  const { openPgStore } = await import('./pg/store.js');
  return openPgStore(config.store, clock, {
    ...sqliteOpts,
    ...(listen !== undefined && { listen }),
    ...(onError && { onError }),
    ...(maxConnections !== undefined && { maxConnections }),
  });
}
