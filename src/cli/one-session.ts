import type { Config } from '../config.js';
import type { Store } from '../db/store.js';
import { BookdError } from '../errors.js';
import { goneOwners, newOwner } from '../daemon/owners.js';
import { credentialSource } from '../pool/credentials.js';
import { restoreJar } from '../pool/jar.js';
import type { Session } from '../pool/session.js';
import { standaloneSession } from '../pool/standalone.js';

/**
 * Lends a command one usable session for a few requests (a playlist, a dry-run discovery): held in
 * the store meanwhile so no daemon uses the same jar, paced like the daemon's, every jar change
 * saved to its row before the next request.
 */
export async function withOneSession<T>(store: Store, config: Config, fn: (session: Session) => Promise<T>): Promise<T> {
  const owner = newOwner();
  const rows = store.sessions.list();
  const gone = goneOwners(rows.flatMap((r) => (r.holder ? [r.holder] : [])), owner);
  const listed = rows.find((r) => r.state === 'ok' && store.sessions.hold(r.name, owner, Date.now() + 600_000, gone));
  // Read again now that it is held: a daemon may have rotated its token since the list.
  const row = listed && (store.sessions.get(listed.name) ?? listed);
  if (!row) {
    const why = rows.length === 0 ? 'there are no sessions: add one with bookd sessions add NAME --cookies FILE' : 'no session is free and usable (see bookd sessions list)';
    throw new BookdError('bad_input', `this needs a session to ask the service, but ${why}`);
  }
  const { session, close } = standaloneSession({
    name: row.name,
    baseUrl: config.baseUrl,
    jar: restoreJar(row.jarJson),
    intervalMs: config.sessionIntervalMs,
    credentials: credentialSource(row, config.credentialsDir),
    persistJar: (jarJson, exp) => {
      store.sessions.saveJar(row.name, jarJson, exp);
    },
  });
  try {
    return await fn(session);
  } finally {
    await close();
    store.sessions.release(row.name, owner);
  }
}
