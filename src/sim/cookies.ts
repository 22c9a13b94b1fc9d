/**
 * Cookie headers. A request may carry two cookies of one name (a client that kept a stale copy);
 * like the simulator's contract says (docs/SERVICE.md §1), the first one wins.
 */
export function parseCookieHeader(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const lines = Array.isArray(header) ? header : header === undefined ? [] : [header];
  for (const line of lines) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim();
      let value = part.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (name && !out.has(name)) out.set(name, value);
    }
  }
  return out;
}

export interface SetCookieOptions {
  /** Seconds; written as given, so `'1209600.0'` stays fractional as the live service sends it. */
  maxAge?: number | string;
  httpOnly?: boolean;
}

/** A host-only `Set-Cookie` line (no Domain: the simulator's base is an IP address). */
export function setCookie(name: string, value: string, opts: SetCookieOptions = {}): string {
  const parts = [`${name}=${value}`];
  if (opts.maxAge !== undefined) parts.push(`Max-Age=${opts.maxAge}`);
  parts.push('Path=/');
  if (opts.httpOnly) parts.push('HttpOnly');
  parts.push('SameSite=Lax');
  return parts.join('; ');
}
