import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { SessionRecord } from '../db/sessions.js';

import { EXPIRY_REPEAT_MS } from '../config.js';

export type ExpiryRow = Pick<SessionRecord, 'name' | 'state' | 'tokenExpiresAt' | 'hasRefreshCookie' | 'refreshExpiresAt'>;

export interface Expiring {
  name: string;
  /** The last moment the session works without new cookies (epoch ms). */
  until: number;
  /** What runs out: the orm-rt (no more refreshes) or, without one, the token itself. */
  limit: 'refresh' | 'token';
  /** One sentence for the operator, with the command that renews the session. */
  message: string;
}

/**
 * The last moment a session can still be used without the operator: while it has an orm-rt it
 * refreshes its own token until that cookie expires (docs/SERVICE.md §1); without one, the
 * token's exp. Undefined when that is not known (an orm-rt imported without an expiry).
 */
export function lastUsableAt(row: ExpiryRow): { until: number; limit: 'refresh' | 'token' } | undefined {
  if (row.hasRefreshCookie) return row.refreshExpiresAt === undefined ? undefined : { until: row.refreshExpiresAt, limit: 'refresh' };
  return row.tokenExpiresAt === undefined ? undefined : { until: row.tokenExpiresAt, limit: 'token' };
}

export function renewCommand(name: string): string {
  return `bookd sessions renew ${name} --from-browser BROWSER[:PROFILE] (or --cookies FILE)`;
}

function sentence(name: string, until: number, limit: 'refresh' | 'token', now: number): string {
  const at = new Date(until).toISOString();
  const what =
    limit === 'refresh'
      ? until > now
        ? `can refresh its token only until ${at}, when its orm-rt cookie expires`
        : `could refresh its token only until ${at}, when its orm-rt cookie expired`
      : until > now
        ? `has no orm-rt cookie to refresh its token, which expires at ${at}`
        : `has no orm-rt cookie to refresh its token, which expired at ${at}`;
  return `session ${name} ${what}: log in again in the browser and run ${renewCommand(name)}`;
}

/**
 * Every session that stops working within `withinMs` of `now` (or already has) unless it is
 * renewed, soonest first. A disabled session is the operator's own doing and is left out.
 */
export function expiringSoon(rows: readonly ExpiryRow[], now: number, withinMs: number): Expiring[] {
  const out: Expiring[] = [];
  for (const row of rows) {
    if (row.state === 'disabled') continue;
    const last = lastUsableAt(row);
    if (!last || last.until - now > withinMs) continue;
    out.push({ name: row.name, ...last, message: sentence(row.name, last.until, last.limit, now) });
  }
  return out.sort((a, b) => a.until - b.until || a.name.localeCompare(b.name));
}

/**
 * Which of the expiring sessions to warn about now: those not warned about in the last
 * EXPIRY_REPEAT_MS (`warnedAt`: session name → when it was last warned about).
 */
export function expiringSessions(rows: readonly ExpiryRow[], now: number, warnedAt: ReadonlyMap<string, number>, withinMs: number): Expiring[] {
  return expiringSoon(rows, now, withinMs).filter((e) => {
    const last = warnedAt.get(e.name);
    return last === undefined || now - last >= EXPIRY_REPEAT_MS;
  });
}

/**
 * The daemon's periodic check: logs one `session.expiring` warning per expiring session per
 * EXPIRY_REPEAT_MS. A session that is renewed (no longer expiring) is forgotten, so it is warned
 * about again should it come close once more.
 */
export function expiryWarner(deps: {
  list: () => Promise<readonly ExpiryRow[]>;
  logger: Logger;
  clock: Clock;
  withinMs: number;
  /** Told of each warning as it is logged (the daemon's session.expiring event). */
  onWarn?: (e: Expiring) => void;
}): () => Promise<void> {
  const warnedAt = new Map<string, number>();
  return async () => {
    const rows = await deps.list();
    const now = deps.clock.now();
    const expiring = new Set(expiringSoon(rows, now, deps.withinMs).map((e) => e.name));
    for (const name of [...warnedAt.keys()]) if (!expiring.has(name)) warnedAt.delete(name);
    for (const e of expiringSessions(rows, now, warnedAt, deps.withinMs)) {
      warnedAt.set(e.name, now);
      deps.logger.warn({ event: 'session.expiring', session: e.name, until: new Date(e.until).toISOString(), limit: e.limit }, e.message);
      deps.onWarn?.(e);
    }
  };
}
