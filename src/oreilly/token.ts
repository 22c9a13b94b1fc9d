import { classifyResponse } from './classify.js';
import type { RequestKind } from './headers.js';
import type { HttpResponse } from './http.js';

/**
 * The token endpoint on the service's auth origin (docs/SERVICE.md §1): with the session's cookies
 * it answers a fresh `orm-jwt` through `Set-Cookie`, which the cookie layer stores.
 */
export const TOKEN_PATH = '/api/v1/auth/openid/token/';

export async function requestFreshToken(send: (url: string, kind: RequestKind) => Promise<HttpResponse>, authUrl: string, now: number): Promise<void> {
  const res = await send(new URL(TOKEN_PATH, `${authUrl}/`).href, 'json');
  classifyResponse(res, 'json', now);
}
