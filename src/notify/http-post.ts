import { request, type Dispatcher } from 'undici';
import { errnoCode, errorMessage } from '../errors.js';
import type { DeliveryResult } from './queue.js';
import type { Receiver } from './url.js';

export interface PostDeps {
  /** Longest a delivery may take, connection to last byte. */
  timeoutMs: number;
  dispatcher?: Dispatcher;
  userAgent: string;
}

/** Statuses another try may mend: the receiver is busy, limiting us, or briefly broken. */
const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * One POST; every failure is a value. The reason names no URL (a receiver's URL may be its secret)
 * and nothing of the answer's body.
 */
export async function post(to: Receiver, body: string, headers: Record<string, string>, deps: PostDeps): Promise<DeliveryResult> {
  try {
    const res = await request(to.url, {
      method: 'POST',
      headers: { 'user-agent': deps.userAgent, ...(to.authorization ? { authorization: to.authorization } : {}), ...headers },
      body,
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
      signal: AbortSignal.timeout(deps.timeoutMs),
      ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
    return { ok: false, retry: RETRYABLE.has(res.statusCode) || res.statusCode >= 500, why: `answered HTTP ${res.statusCode}` };
  } catch (err) {
    const name = (err as Error | undefined)?.name;
    const why = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${deps.timeoutMs} ms` : (errnoCode(err) ?? errorMessage(err));
    return { ok: false, retry: true, why };
  }
}
