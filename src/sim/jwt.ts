import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HS256 JWTs, as the live service's `orm-jwt` and `orm-rt` look (header.payload.signature). */

const b64url = (buf: Buffer) => buf.toString('base64url');
const HEADER = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

/** The signing key: derived from the seed, so sims started with one seed accept each other's tokens. */
export function secretFor(seed: number): Buffer {
  return createHash('sha256').update(`bookd-sim-jwt:${seed}`).digest();
}

export function signJwt(secret: Buffer, payload: object): string {
  const body = `${HEADER}.${b64url(Buffer.from(JSON.stringify(payload)))}`;
  return `${body}.${b64url(createHmac('sha256', secret).update(body).digest())}`;
}

/** The payload of a well-formed token signed with `secret`, else undefined. Expiry is the caller's call. */
export function verifyJwt(secret: Buffer, token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, sig] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a JWT's payload without checking anything (for tests and introspection). */
export function decodeJwt(token: string): Record<string, unknown> | undefined {
  const body = token.split('.')[1];
  if (!body) return undefined;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
