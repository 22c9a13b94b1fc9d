import type { Config } from '../../config.js';
import type { SessionRecord } from '../../db/sessions.js';
import type { Store } from '../../db/store.js';
import { BookdError, SupersededJarError } from '../../errors.js';
import { credentialSource } from '../../pool/credentials.js';
import { sessionHolds, type Holds } from '../../pool/holds.js';
import { restoreJar } from '../../pool/jar.js';
import type { Session } from '../../pool/session.js';
import { standaloneSession } from '../../pool/standalone.js';

/**
 * The session the operator named, held for this command. Any state but disabled will do: a
 * command that names a session (bookd doctor) is often asked about one that stopped working.
 */
async function holdNamed(holds: Holds, rows: SessionRecord[], name: string): Promise<{ row: SessionRecord; drop: () => Promise<void> }> {
  const row = rows.find((r) => r.name === name);
  if (!row) throw new BookdError('bad_input', `there is no session named "${name}": see bookd sessions list for the names`);
  if (row.state === 'disabled') throw new BookdError('bad_input', `session ${name} is disabled: enable it first with bookd sessions enable ${name}`);
  const drop = await holds.keep(name);
  if (!drop) {
    throw new BookdError(
      'bad_input',
      `session ${name} is in use by a running daemon (${row.holder ?? 'another process'}), and two processes must never share its cookies: stop the daemon or choose another session`,
    );
  }
  return { row, drop };
}

/** The first usable session no other live process holds, held (and renewed) for this command. */
async function holdFirstUsable(holds: Holds, rows: SessionRecord[]): Promise<{ row: SessionRecord; drop: () => Promise<void> } | undefined> {
  for (const row of rows) {
    if (row.state !== 'ok') continue;
    const drop = await holds.keep(row.name);
    if (drop) return { row, drop };
  }
  return undefined;
}

/**
 * Lends a command one usable session for a few requests (a playlist, a dry-run discovery): held in
 * the store meanwhile so no daemon uses the same jar, paced like the daemon's, every jar change
 * saved to its row before the next request. `opts.name` picks the session instead of the first usable one.
 */
export async function withOneSession<T>(store: Store, config: Config, fn: (session: Session) => Promise<T>, opts: { name?: string } = {}): Promise<T> {
  const holds = sessionHolds(store.sessions, { clock: store.clock, ...config.tuning.holds });
  const rows = await store.sessions.list();
  const held = opts.name === undefined ? await holdFirstUsable(holds, rows) : await holdNamed(holds, rows, opts.name);
  if (!held) {
    const why =
      rows.length === 0
        ? 'there are no sessions: add one with bookd sessions add NAME --cookies FILE'
        : 'no session is free and usable (see bookd sessions list)';
    throw new BookdError('bad_input', `this needs a session to ask the service, but ${why}`);
  }
  // Read again now that it is held: a daemon may have rotated its token since the list.
  const row = (await store.sessions.get(held.row.name)) ?? held.row;
  let expected = row.jarJson;
  const { session, close } = standaloneSession({
    name: row.name,
    baseUrl: config.baseUrl,
    authUrl: config.authUrl,
    userAgent: row.userAgent ?? config.userAgent,
    acceptLanguage: config.acceptLanguage,
    jar: restoreJar(row.jarJson),
    intervalMs: config.sessionIntervalMs,
    tuning: config.tuning,
    credentials: credentialSource(row, config.credentialsDir),
    persistJar: async (jarJson, exp) => {
      // Saved only over the jar it started from: cookies imported meanwhile win and this chain stops.
      if (!(await store.sessions.saveJar(row.name, jarJson, exp, expected))) throw new SupersededJarError(row.name);
      expected = jarJson;
    },
  });
  try {
    return await fn(session);
  } finally {
    await close();
    await held.drop();
  }
}
