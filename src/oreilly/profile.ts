import { BookdError } from '../errors.js';
import { classifyResponse } from './classify.js';
import type { HttpResponse } from './http.js';

export type ProfileResult = { status: 'ok'; userType: string } | { status: 'lapsed'; userType: string };

/**
 * Reads a `/profile/` answer (requested without following redirects): the cheap probe that tells
 * whether a session is logged in, and the request through which the server refreshes `orm-jwt`.
 */
export function readProfile(res: HttpResponse, now: number): ProfileResult {
  classifyResponse(res, 'html', now);
  const text = res.body.toString('utf8');
  const userType = /"user_type"\s*:\s*"([^"]*)"/.exec(text)?.[1];
  if (userType === undefined) {
    throw new BookdError('auth', `the profile page at ${res.url} does not show a logged-in user`, { status: res.status });
  }
  return userType.toLowerCase() === 'expired' ? { status: 'lapsed', userType } : { status: 'ok', userType };
}

export const PROFILE_PATH = '/profile/';
