import type { SimStats } from '../../src/sim/stats.js';
import type { ControlPatch } from '../../src/sim/control.js';
import type { CatalogueOptions } from '../../src/sim/options.js';
import type { BookFlag, SimBook, SimCollection } from '../../src/sim/catalogue.js';
import { request } from 'undici';
import { startCli, type Running } from './cli.js';

export type { SimStats, ControlPatch };

/** A book as `GET /__sim/catalogue` lists it. */
export interface SimCatalogueBook extends SimBook {
  /** Package files the files API lists. */
  files: number;
  /** The file a poison or hostile book misbehaves on. */
  specialFile?: string;
  flags: BookFlag[];
}

export interface SimCatalogue {
  seed: number;
  options: CatalogueOptions;
  skills: string[];
  books: SimCatalogueBook[];
  collections: SimCollection[];
}

export interface SimProcess {
  url: string;
  /** The child process, for tests that signal it themselves. */
  running: Running;
  stats(): Promise<SimStats>;
  resetStats(): Promise<void>;
  control(patch: ControlPatch): Promise<void>;
  /** Publishes a new book in `skill` (control `addBook`); its id. */
  addBook(skill: string): Promise<string>;
  /** Grows a book by `chapters` (control `growBook`); its new chapter count and date. */
  growBook(id: string, chapters?: number): Promise<{ id: string; chapters: number; issued: string }>;
  /** New sessions m1, m2, … (in mint order) as flat `{name: value}` cookie sets. */
  mint(n: number, opts?: { expired?: boolean }): Promise<Record<string, string>[]>;
  catalogue(): Promise<SimCatalogue>;
  /** SIGTERM, then the exit; the sim exits 0 on a clean stop. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function call(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text) as unknown;
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The simulator's bulk-access guard in tests: the live 8 requests/s, scaled as TEST_BUDGET is. */
export const SIM_GUARD = { rate: 800, burst: 400 } as const;

/** Spawns the built `bookd sim --port 0 …args` and talks to its introspection endpoints. */
export async function startSimProcess(args: string[] = []): Promise<SimProcess> {
  // The live guard (8 requests/s per machine) scaled like the budget tests give bookd (TEST_BUDGET
  // in library.ts: 100× the live 3 → 6), unless a test sets its own.
  const guard = args.includes('--guard-rate') ? [] : ['--guard-rate', String(SIM_GUARD.rate), '--guard-burst', String(SIM_GUARD.burst)];
  const running = await startCli(['sim', '--port', '0', ...guard, ...args]);
  const url = running.firstLine.trim();
  if (!/^http:\/\/[^/]+:\d+$/.test(url)) {
    await running.stop('SIGKILL');
    throw new Error(`bookd sim printed "${url}" instead of its base URL; stderr: ${running.stderr()}`);
  }
  return {
    url,
    running,
    stats: async () => (await call(`${url}/__sim/stats`)) as SimStats,
    resetStats: async () => {
      await call(`${url}/__sim/reset-stats`, post({}));
    },
    control: async (patch) => {
      await call(`${url}/__sim/control`, post(patch));
    },
    addBook: async (skill) => ((await call(`${url}/__sim/control`, post({ addBook: { skill } }))) as { addedBook: string }).addedBook,
    growBook: async (id, chapters) =>
      (
        (await call(`${url}/__sim/control`, post({ growBook: { id, ...(chapters !== undefined && { chapters }) } }))) as {
          grownBook: { id: string; chapters: number; issued: string };
        }
      ).grownBook,
    mint: async (n, opts = {}) => (await call(`${url}/__sim/mint`, post({ count: n, ...opts }))) as Record<string, string>[],
    catalogue: async () => (await call(`${url}/__sim/catalogue`)) as SimCatalogue,
    stop: () => running.stop('SIGTERM'),
  };
}

/** The `Accept` a browser sends for a document: with `download=false`, what gets an (X)HTML file whole. */
export const HTML_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** A current desktop browser's `User-Agent`. */
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

/** `url` with `download=false` added to its query (other parameters, e.g. `format=html`, stay). */
export function downloadUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('download', 'false');
  return u.href;
}

/** A files-API request the file gate lets through whole: `download=false` and the HTML `Accept`. */
export function simWhole(url: string, opts: SimRequestOptions = {}): Promise<SimResponse> {
  return simRequest(downloadUrl(url), { ...opts, headers: { accept: HTML_ACCEPT, ...opts.headers } });
}

/** A files-listing item's URL: its `url`, or `…/files/{full_path}` when the listing leaves `url` out. */
export function fileItemUrl(base: string, bookId: string, item: { url?: string; full_path: string }): string {
  return item.url ?? `${base}/api/v2/epubs/urn:orm:book:${bookId}/files/${item.full_path.split('/').map(encodeURIComponent).join('/')}`;
}

/** A chapter-list item's file path: from `reference_id` (`{id}-/{path}`), else the decoded end of its `ourn`. */
export function chapterPathOf(item: { reference_id?: string; ourn: string }): string {
  if (item.reference_id) return item.reference_id.slice(item.reference_id.indexOf('-/') + 2);
  return decodeURIComponent(item.ourn.slice(item.ourn.indexOf(':chapter:') + ':chapter:'.length));
}

/** A flat cookie set as one `Cookie:` header value. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

export interface SimResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  /** All `Set-Cookie` lines. */
  setCookies: string[];
  json<T = unknown>(): T;
}

export interface SimRequestOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  /** A `Cookie:` header value, or a flat cookie set. */
  cookie?: string | Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  /** Fail (reject) when headers or the body take longer than this. */
  timeoutMs?: number;
}

/** One request without redirects or decompression: the simulator's answer exactly as sent. */
export async function simRequest(url: string, opts: SimRequestOptions = {}): Promise<SimResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie !== undefined) headers.cookie = typeof opts.cookie === 'string' ? opts.cookie : cookieHeader(opts.cookie);
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body,
    headersTimeout: opts.timeoutMs ?? 10_000,
    bodyTimeout: opts.timeoutMs ?? 10_000,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const raw = res.headers['set-cookie'];
  const text = body.toString('utf8');
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    text,
    setCookies: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
    json: <T>() => JSON.parse(text) as T,
  };
}
