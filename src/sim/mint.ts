import { systemClock, type Clock } from '../clock.js';
import { companionCookies, makeAccounts, TokenChains, type Account } from './auth.js';
import { secretFor } from './jwt.js';
import { DEFAULT_BEHAVIOUR } from './options.js';

/** The account the k-th minted session (1-based) belongs to: users in turn, or the lapsed one. */
export function mintAccount(accounts: Account[], k: number, expired: boolean): Account {
  const users = accounts.filter((a) => !a.expired);
  return expired || users.length === 0 ? accounts.find((a) => a.expired)! : users[(k - 1) % users.length]!;
}

/** Starts a session's token chain and returns its cookies as a flat `{name: value}` set. */
export function mintSession(chains: TokenChains, seed: number, sid: string, account: Account): Record<string, string> {
  const { jwt, rt } = chains.start(sid, account.sub);
  return { 'orm-jwt': jwt, 'orm-rt': rt, ...companionCookies(seed, sid) };
}

export interface MintCookiesOptions {
  seed: number;
  count: number;
  /** Sessions of the lapsed account instead of user1…userN. */
  expired?: boolean;
  accounts?: number;
  tokenTtlSec?: number;
  clock?: Clock;
}

/**
 * Cookie sets for sessions `m1`…`mN`, signed with the seed's key, without a running server: a
 * later `bookd sim --seed S` accepts them (each token starts its session's chain on first use).
 */
export function mintCookies(o: MintCookiesOptions): Record<string, string>[] {
  const accounts = makeAccounts(o.accounts ?? 16);
  const chains = new TokenChains(secretFor(o.seed), o.clock ?? systemClock, {
    ...DEFAULT_BEHAVIOUR,
    tokenTtlSec: o.tokenTtlSec ?? DEFAULT_BEHAVIOUR.tokenTtlSec,
  });
  return Array.from({ length: o.count }, (_, i) => mintSession(chains, o.seed, `m${i + 1}`, mintAccount(accounts, i + 1, o.expired === true)));
}
