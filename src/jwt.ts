// The times an orm-jwt states, read without verifying its signature (bookd only needs to know when
// the service will stop taking it): shared by the pool, which renews tokens, and the store, which
// records when a saved jar's cookies run out.

/** A JWT's `exp` claim in epoch ms, when the token has one. */
export function jwtExpiry(token: string): number | undefined {
  return jwtTime(token, 'exp');
}

/** A JWT's `exp` or `iat` claim in epoch ms, when the token has one. */
export function jwtTime(token: string, claim: 'exp' | 'iat'): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    const v = payload[claim];
    return typeof v === 'number' && Number.isFinite(v) ? v * 1000 : undefined;
  } catch {
    return undefined;
  }
}
