import { BookdError } from '../errors.js';
import { classifyResponse } from './classify.js';
import { browserHeaders } from './headers.js';
import type { HttpSession } from './http.js';

export const LOGIN_PATH = '/api/v1/auth/login/';

/**
 * Password login. The cookies it sets land in the session's jar through the cookie layer. On the
 * live service this endpoint sits behind bot protection, so failures say how to import cookies.
 */
export async function login(session: HttpSession, email: string, password: string, now: () => number): Promise<void> {
  const res = await session.request({
    method: 'POST',
    // Password login belongs to the auth origin (docs/SERVICE.md §1).
    url: new URL(LOGIN_PATH, `${session.authUrl}/`).href,
    headers: {
      ...browserHeaders('json', { referer: `${session.baseUrl}/`, site: sameOrigin(session) ? 'same-origin' : 'same-site' }),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ email, password }),
    maxBytes: 1 << 20,
  });
  if (res.status === 401 || res.status === 400) {
    throw new BookdError('auth', `the service refused the email and password for ${email} (${res.status}); check them, or import browser cookies instead`, {
      status: res.status,
    });
  }
  try {
    classifyResponse(res, 'json', now());
  } catch (err) {
    if (err instanceof BookdError && (err.status === 403 || err.kind === 'auth')) {
      throw new BookdError(
        'auth',
        `password login was refused (${err.message}); the live service blocks scripted logins with bot protection, so export your browser's cookies and use: bookd sessions add NAME --cookies FILE`,
        { status: err.status },
      );
    }
    throw err;
  }
  let body: { logged_in?: unknown };
  try {
    body = JSON.parse(res.body.toString('utf8')) as { logged_in?: unknown };
  } catch {
    body = {};
  }
  if (body.logged_in !== true) {
    throw new BookdError('auth', `the login answer for ${email} does not say logged in; import browser cookies instead`);
  }
}

function sameOrigin(session: HttpSession): boolean {
  return new URL(session.authUrl).origin === new URL(session.baseUrl).origin;
}
