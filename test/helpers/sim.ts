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

/** Spawns the built `bookd sim --port 0 …args` and talks to its introspection endpoints. */
export async function startSimProcess(args: string[] = []): Promise<SimProcess> {
  const running = await startCli(['sim', '--port', '0', ...args]);
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
    mint: async (n, opts = {}) => (await call(`${url}/__sim/mint`, post({ count: n, ...opts }))) as Record<string, string>[],
    catalogue: async () => (await call(`${url}/__sim/catalogue`)) as SimCatalogue,
    stop: () => running.stop('SIGTERM'),
  };
}

/** A flat cookie set as one `Cookie:` header value. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ');
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
