import type { Config } from '../config.js';
import type { SessionRecord } from '../db/sessions.js';
import type { Store } from '../db/store.js';
import { BookdError } from '../errors.js';
import { goneOwners, newOwner } from '../daemon/owners.js';
import { credentialSource } from '../pool/credentials.js';
import { restoreJar } from '../pool/jar.js';
import type { Session } from '../pool/session.js';
import { standaloneSession } from '../pool/standalone.js';

/**
 * The session the operator named, held for this command. Any state but disabled will do: a
 * command that names a session (bookd doctor) is often asked about one that stopped working.
 */
function holdNamed(store: Store, rows: SessionRecord[], name: string, owner: string, gone: string[]): SessionRecord {
  const row = rows.find((r) => r.name === name);
  if (!row) throw new BookdError('bad_input', `there is no session named "${name}": see bookd sessions list for the names`);
  if (row.state === 'disabled') throw new BookdError('bad_input', `session ${name} is disabled: enable it first with bookd sessions enable ${name}`);
  if (!store.sessions.hold(name, owner, Date.now() + 600_000, gone)) {
    throw new BookdError('bad_input', `session ${name} is in use by a running daemon (${row.holder ?? 'another process'}), and two processes must never share its cookies: stop the daemon or choose another session`);
  }
  return row;
}

/**
 * Lends a command one usable session for a few requests (a playlist, a dry-run discovery): held in
 * the store meanwhile so no daemon uses the same jar, paced like the daemon's, every jar change
 * saved to its row before the next request. `opts.name` picks the session instead of the first usable one.
 */
export async function withOneSession<T>(store: Store, config: Config, fn: (session: Session) => Promise<T>, opts: { name?: string } = {}): Promise<T> {
  const owner = newOwner();
  const rows = store.sessions.list();
  const gone = goneOwners(rows.flatMap((r) => (r.holder ? [r.holder] : [])), owner);
  const listed = opts.name === undefined
    ? rows.find((r) => r.state === 'ok' && store.sessions.hold(r.name, owner, Date.now() + 600_000, gone))
    : holdNamed(store, rows, opts.name, owner, gone);
  // Read again now that it is held: a daemon may have rotated its token since the list.
  const row = listed && (store.sessions.get(listed.name) ?? listed);
  if (!row) {
    const why = rows.length === 0 ? 'there are no sessions: add one with bookd sessions add NAME --cookies FILE' : 'no session is free and usable (see bookd sessions list)';
    throw new BookdError('bad_input', `this needs a session to ask the service, but ${why}`);
  }
  const { session, close } = standaloneSession({
    name: row.name,
    baseUrl: config.baseUrl,
    authUrl: config.authUrl,
    userAgent: row.userAgent ?? config.userAgent,
    acceptLanguage: config.acceptLanguage,
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
