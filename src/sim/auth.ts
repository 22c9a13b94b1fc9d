import type { Clock } from '../clock.js';
import { setCookie } from './cookies.js';
import { signJwt, verifyJwt } from './jwt.js';
import type { Behaviour } from './options.js';
import { Random } from './random.js';

export interface Account {
  sub: string;
  email: string;
  password: string;
  /** The subscription lapsed: `/profile/` says "Expired" and content answers 403. */
  expired: boolean;
}

export const EXPIRED_SUB = '1000';

/** `user{i}@sim.test` / `pw-{i}` for i in 1…n, plus `expired@sim.test` / `pw-expired`. */
export function makeAccounts(n: number): Account[] {
  const out: Account[] = [];
  for (let i = 1; i <= n; i++) out.push({ sub: String(1000 + i), email: `user${i}@sim.test`, password: `pw-${i}`, expired: false });
  out.push({ sub: EXPIRED_SUB, email: 'expired@sim.test', password: 'pw-expired', expired: true });
  return out;
}

export const REFRESH_TTL_SEC = 1_209_600;

export type AuthCheck =
  | { state: 'ok'; sid: string; sub: string; gen: number }
  /** Signed by us but superseded by a later generation, beyond the grace. */
  | { state: 'stale'; sid: string; sub: string; gen: number }
  | { state: 'expired'; sid: string; sub: string; gen: number }
  /** No `orm-jwt`, or one we did not sign. */
  | { state: 'missing' };

interface Chain {
  sub: string;
  gen: number;
  /** When the current generation was issued (sim ms). */
  issuedAt: number;
  /** Authenticated 2xx responses since the last rotation. */
  served: number;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * One token chain per session: the current `orm-jwt` generation, rotated by the behaviour's policy.
 * A token older than the current generation by more than `grace` is stale. A validly signed token
 * of a session this process has not seen (minted by another sim with the same seed) starts its chain.
 */
export class TokenChains {
  private readonly chains = new Map<string, Chain>();
  /** Sessions logged out (control `revoke`): every token of theirs is refused, orm-rt included. */
  private readonly revoked = new Set<string>();

  constructor(
    private readonly secret: Buffer,
    private readonly clock: Clock,
    private readonly behaviour: Pick<Behaviour, 'rotate' | 'rotateAgeSec' | 'grace' | 'tokenTtlSec'>,
  ) {}

  private sign(sid: string, chain: Chain): string {
    const iat = Math.floor(chain.issuedAt / 1000);
    return signJwt(this.secret, { sub: chain.sub, sid, gen: chain.gen, iat, exp: iat + this.behaviour.tokenTtlSec, perms: { epubs: 'v' } });
  }

  refreshToken(sid: string, sub: string): string {
    const iat = Math.floor(this.clock.now() / 1000);
    return signJwt(this.secret, { sub, sid, typ: 'refresh', iat, exp: iat + REFRESH_TTL_SEC });
  }

  /** Logs a session out: from now on its tokens count as expired and its orm-rt renews nothing. */
  revoke(sid: string): void {
    this.revoked.add(sid);
  }

  /** Starts (or restarts) a session: generation 1. */
  start(sid: string, sub: string): { jwt: string; rt: string } {
    this.revoked.delete(sid);
    const chain: Chain = { sub, gen: 1, issuedAt: this.clock.now(), served: 0 };
    this.chains.set(sid, chain);
    return { jwt: this.sign(sid, chain), rt: this.refreshToken(sid, sub) };
  }

  has(sid: string): boolean {
    return this.chains.has(sid);
  }

  /** The session a token names, signed by us, whatever its state (for stats and rate limits). */
  sessionOf(jwt: string | undefined, rt: string | undefined): string | undefined {
    for (const t of [jwt, rt]) {
      if (!t) continue;
      const sid = str(verifyJwt(this.secret, t)?.sid);
      if (sid) return sid;
    }
    return undefined;
  }

  check(jwt: string | undefined): AuthCheck {
    if (!jwt) return { state: 'missing' };
    const p = verifyJwt(this.secret, jwt);
    const sid = str(p?.sid);
    const sub = str(p?.sub);
    const gen = num(p?.gen);
    const exp = num(p?.exp);
    const iat = num(p?.iat);
    if (!p || p.typ === 'refresh' || !sid || !sub || gen === undefined || exp === undefined || iat === undefined) return { state: 'missing' };
    let chain = this.chains.get(sid);
    if (!chain) {
      chain = { sub, gen, issuedAt: iat * 1000, served: 0 };
      this.chains.set(sid, chain);
    } else if (gen > chain.gen) {
      chain.gen = gen;
      chain.issuedAt = iat * 1000;
    }
    if (this.revoked.has(sid)) return { state: 'expired', sid, sub, gen };
    if (chain.gen - gen > this.behaviour.grace) return { state: 'stale', sid, sub, gen };
    if (exp * 1000 <= this.clock.now()) return { state: 'expired', sid, sub, gen };
    return { state: 'ok', sid, sub, gen };
  }

  /** After an authenticated 2xx: the next `orm-jwt` when the policy says it is time, else undefined. */
  rotateIfDue(sid: string): string | undefined {
    const chain = this.chains.get(sid);
    if (!chain) return undefined;
    const policy = this.behaviour.rotate;
    chain.served++;
    const due =
      policy.mode === 'every' ||
      (policy.mode === 'count' && chain.served >= policy.n) ||
      (policy.mode === 'age' && this.clock.now() - chain.issuedAt >= this.behaviour.rotateAgeSec * 1000);
    return due ? this.rotate(sid, chain) : undefined;
  }

  private rotate(sid: string, chain: Chain): string {
    chain.gen++;
    chain.issuedAt = this.clock.now();
    chain.served = 0;
    return this.sign(sid, chain);
  }

  /** The session of a valid (signed, unexpired) `orm-rt`, without refreshing anything. */
  refreshSession(rt: string | undefined): { sid: string; sub: string } | undefined {
    if (!rt) return undefined;
    const p = verifyJwt(this.secret, rt);
    const sid = str(p?.sid);
    const sub = str(p?.sub);
    const exp = num(p?.exp);
    if (!p || p.typ !== 'refresh' || !sid || !sub || exp === undefined || exp * 1000 <= this.clock.now() || this.revoked.has(sid)) return undefined;
    return { sid, sub };
  }

  /** A valid `orm-rt` buys a fresh `orm-jwt` (the next generation); undefined when it is not valid. */
  refresh(rt: string | undefined): { sid: string; sub: string; jwt: string } | undefined {
    const valid = this.refreshSession(rt);
    if (!valid) return undefined;
    const { sid, sub } = valid;
    let chain = this.chains.get(sid);
    if (!chain) {
      chain = { sub, gen: 0, issuedAt: this.clock.now(), served: 0 };
      this.chains.set(sid, chain);
    }
    return { sid, sub, jwt: this.rotate(sid, chain) };
  }

  /** The current generation of a session (tests and introspection). */
  generation(sid: string): number | undefined {
    return this.chains.get(sid)?.gen;
  }
}

/** The cookies a logged-in browser carries besides the tokens; deterministic per (seed, session). */
export function companionCookies(seed: number, sid: string): Record<string, string> {
  const rng = new Random('cookies', seed, sid);
  return {
    groot_sessionid: rng.hex(32),
    logged_in: 'y',
    csrf_access_token: rng.hex(36),
    _abck: `${rng.hex(32).toUpperCase()}~0~${rng.bytes(24).toString('base64url')}~-1~-1`,
    bm_sz: `${rng.hex(32).toUpperCase()}~YAAQ${rng.bytes(18).toString('base64url')}`,
    BrowserCookie: `${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}`,
  };
}

/** The cookies the live login was seen to set twice, the second time with a bogus value. */
export const DUPLICATED_LOGIN_COOKIES = ['groot_sessionid', 'orm-jwt', 'orm-rt'] as const;
export const BOGUS_COOKIE_VALUE = 'invalid';

/**
 * The `Set-Cookie` lines a login answers with. With `duplicates`, each of DUPLICATED_LOGIN_COOKIES
 * is followed by a second line of the same name, path and attributes whose value is bogus: the
 * first line per name is the one to keep (docs/SERVICE.md §1).
 */
export function loginSetCookies(cookies: Record<string, string>, tokenTtlSec: number, duplicates = false): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(cookies)) {
    const twice = duplicates && (DUPLICATED_LOGIN_COOKIES as readonly string[]).includes(name);
    if (name === 'orm-jwt') lines.push(setCookie(name, value, { maxAge: tokenTtlSec, httpOnly: true }));
    else if (name === 'orm-rt') lines.push(refreshSetCookie(value));
    else if (name === 'groot_sessionid') lines.push(setCookie(name, value, { maxAge: REFRESH_TTL_SEC, httpOnly: true }));
    else if (name === 'csrf_access_token' || name === 'logged_in') lines.push(setCookie(name, value, { maxAge: REFRESH_TTL_SEC }));
    else lines.push(setCookie(name, value, { maxAge: 31_536_000 }));
    if (twice) lines.push(lines.at(-1)!.replace(`${name}=${value};`, `${name}=${BOGUS_COOKIE_VALUE};`));
  }
  return lines;
}

/**
 * The `Set-Cookie` lines of `GET /__sim/login-page` (README.md): a login's cookies, each once, with
 * the login's attributes but a whole-second Max-Age on every line. A browser that cannot parse the
 * live `Max-Age=1209600.0` keeps `orm-rt` as a session cookie, and the page is there to put a
 * session into a browser's persistent cookie store.
 */
export function pageSetCookies(cookies: Record<string, string>, tokenTtlSec: number): string[] {
  return loginSetCookies(cookies, tokenTtlSec).map((line) => line.replace(/; Max-Age=(\d+)\.0;/, '; Max-Age=$1;'));
}

/** `orm-rt` with the fractional Max-Age the live service sends (a strict parser drops it). */
export function refreshSetCookie(rt: string): string {
  return setCookie('orm-rt', rt, { maxAge: `${REFRESH_TTL_SEC}.0`, httpOnly: true });
}

export function jwtSetCookie(jwt: string, tokenTtlSec: number): string {
  return setCookie('orm-jwt', jwt, { maxAge: tokenTtlSec, httpOnly: true });
}
