import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../config.js';

/** The host name of a Host header (`[::1]:9469` → `::1`), lower-cased; undefined when absent or malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/[\]@]+)(?::\d{1,5})?$/.exec(header.trim());
  return m ? m[1]!.replace(/^\[(.*)\]$/, '$1').toLowerCase() : undefined;
}

/**
 * Without a token, the daemon answers only requests addressed to itself by a loopback name: a
 * page on another site that rebinds its own DNS name to 127.0.0.1 sends its own name as Host and
 * is refused. With a token the Host is whatever the operator's network calls the machine.
 */
export function hostAllowed(req: IncomingMessage, boundHost: string, tokenRequired: boolean): boolean {
  if (tokenRequired) return true;
  const name = hostName(req.headers.host);
  return name !== undefined && (isLoopbackHost(name) || name === boundHost.toLowerCase());
}

/** `http://<Host header>`: what a same-origin browser sends as Origin. */
export function ownOrigin(req: IncomingMessage): string {
  return `http://${req.headers.host ?? ''}`.toLowerCase();
}

/**
 * Why a state-changing request is refused as cross-site, or undefined when it may go on: an Origin
 * (or Sec-Fetch-Site) of another site, or no valid CSRF token. A browser always sends Origin on a
 * POST; a script without one (curl, with Bearer) still needs the CSRF token from GET /api/csrf.
 */
export function crossSiteReason(req: IncomingMessage, csrfOk: boolean): string | undefined {
  const origin = req.headers.origin;
  // "null" is what a browser sends for the page's own forms under Referrer-Policy: no-referrer
  // (and for sandboxed or data: documents): it says nothing, so it counts as absent and the CSRF
  // token and Sec-Fetch-Site decide.
  if (origin !== undefined && origin !== 'null' && origin.toLowerCase() !== ownOrigin(req)) return `a request from ${origin} may not change anything here`;
  if (req.headers['sec-fetch-site'] === 'cross-site') return 'a cross-site request may not change anything here';
  if (!csrfOk) return 'missing or wrong CSRF token: reload the page (scripts: GET /api/csrf and send it as X-CSRF-Token)';
  return undefined;
}
