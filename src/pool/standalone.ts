import { Agent } from 'undici';
import type { CookieJar } from 'tough-cookie';
import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_ACCEPT_LANGUAGE, DEFAULT_USER_AGENT, type Tuning } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { EdgeGate } from './edge-gate.js';
import { Pacer } from './pacer.js';
import { Session, type Credentials } from './session.js';

/**
 * A session outside the pool, for one-shot commands (import check, login, probe). It owns its
 * agent; `close()` releases it. Jar changes go to `persistJar`, exactly as in the pool.
 */
export function standaloneSession(opts: {
  name: string;
  baseUrl: string;
  authUrl?: string;
  userAgent?: string;
  acceptLanguage?: string;
  jar: CookieJar;
  persistJar: (jarJson: string, tokenExpiresAt: number | undefined) => void | Promise<void>;
  intervalMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** `config.tuning` (one-shot request timeouts, refresh, edge pause), or DEFAULT_TUNING in tests. */
  tuning: Pick<Tuning, 'requests' | 'session' | 'edge'>;
  credentials?: () => Credentials | undefined;
}): { session: Session; close: () => Promise<void> } {
  const clock = opts.clock ?? systemClock;
  const agent = new Agent({ connections: 2 });
  const session = new Session({
    name: opts.name,
    baseUrl: opts.baseUrl,
    authUrl: opts.authUrl,
    userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
    acceptLanguage: opts.acceptLanguage ?? DEFAULT_ACCEPT_LANGUAGE,
    jar: opts.jar,
    agent,
    clock,
    pacer: new Pacer(clock, opts.intervalMs ?? 0),
    edge: new EdgeGate(clock, opts.tuning.edge),
    persistJar: opts.persistJar,
    timeouts: opts.tuning.requests.oneShot,
    refresh: opts.tuning.session,
    credentials: opts.credentials,
    logger: opts.logger ?? silentLogger,
  });
  return { session, close: () => agent.close() };
}
