import type { Behaviour } from './options.js';
import type { Random } from './random.js';

export type Fault = 'none' | 'fail' | 'reset' | 'stall' | 'short';

/** One draw decides a request's fault; the rates add up (each is a share of all requests). */
export function pickFault(rng: Random, b: Pick<Behaviour, 'failRate' | 'resetRate' | 'stallRate' | 'shortRate'>): Fault {
  if (b.failRate + b.resetRate + b.stallRate + b.shortRate <= 0) return 'none';
  let r = rng.next();
  for (const [fault, rate] of [
    ['fail', b.failRate],
    ['reset', b.resetRate],
    ['stall', b.stallRate],
    ['short', b.shortRate],
  ] as const) {
    if (r < rate) return fault;
    r -= rate;
  }
  return 'none';
}

/** 500, 502 or 503, with the body each comes with on the live service. */
export function failure(rng: Random): { status: number; type: string; body: string } {
  const status = rng.pick([500, 502, 503]);
  if (status === 500) return { status, type: 'application/json', body: '{"detail":"A server error occurred."}' };
  if (status === 502)
    return { status, type: 'text/plain', body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination' };
  return { status, type: 'text/plain', body: 'no healthy upstream' };
}
