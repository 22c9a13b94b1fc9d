import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Exchange {
  method: string;
  path: string;
  status: number;
  headers: string;
  body: string;
}

/**
 * Talks to a daemon's web surface and keeps every response (status, headers, body), so a test can
 * scan all it was ever sent for secrets.
 */
export class WebClient {
  readonly transcript: Exchange[] = [];
  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Headers; text: string }> {
    const res = await fetch(`${this.base}${path}`, { redirect: 'manual', ...init });
    const text = await res.text();
    this.transcript.push({
      method: init.method ?? 'GET',
      path,
      status: res.status,
      headers: [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'),
      body: text,
    });
    return { status: res.status, headers: res.headers, text };
  }

  async json<T = unknown>(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const r = await this.request(path, init);
    return { status: r.status, headers: r.headers, body: JSON.parse(r.text) as T };
  }

  /** A POST of a JSON body with the given headers (a CSRF token, an Origin, a token). */
  post<T = unknown>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    return this.json<T>(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  }

  /** A form POST as the page without script sends it. */
  form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** Every cookie value of every session as the daemon's database holds it now (rotated ones included). */
export function storedCookieValues(dataDir: string): string[] {
  const db = new BetterSqlite3(join(dataDir, 'bookd.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT jar FROM sessions').all() as { jar: string }[];
    return rows.flatMap((r) => ((JSON.parse(r.jar) as { cookies?: { value?: string }[] }).cookies ?? []).map((c) => c.value ?? ''));
  } finally {
    db.close();
  }
}

/** The secrets (8 characters or more: "y" is in every page) found anywhere in what the daemon sent. */
export function leaks(transcript: readonly Exchange[], secrets: readonly string[]): string[] {
  const long = [...new Set(secrets.filter((s) => s.length >= 8))];
  const found: string[] = [];
  for (const e of transcript) {
    const all = `${e.headers}\n${e.body}`;
    for (const s of long) if (all.includes(s)) found.push(`${e.method} ${e.path} holds ${s.slice(0, 6)}…`);
  }
  return found;
}

/** A request with a Host header of the caller's choosing (fetch will not send one). */
export function withHost(url: string, host: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: { ...opts.headers, host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
