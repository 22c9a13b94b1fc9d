import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

/** What decides the catalogue and every byte of every book (same values → same bytes). */
export interface CatalogueOptions {
  seed: number;
  /** Ordinary books; poison and hostile books come on top. */
  books: number;
  skills: string[];
  /** Chapters per ordinary book. */
  chapters: number;
  /** Text per chapter, in KiB of markup. */
  chapterKb: number;
  /** Figures per chapter, besides the fixed assets every book has. */
  images: number;
  imageKb: number;
  /** Books with hundreds of chapters, so chapter and file lists paginate. */
  bigBooks: number;
  bigChapters: number;
  poison: boolean;
  hostile: boolean;
  /**
   * Publisher packages in four layouts (`OEBPS/text/chNN.xhtml`, `chNN.html` at the root,
   * `OEBPS/xhtml/`, `EPUB/xhtml/`), a quarter of the ordinary books each; off: all `OEBPS/text/`.
   */
  packageLayouts: boolean;
  /** Files- and chapter-listing quirks (no `url`, a decoy OPF, no container, encoded `ourn`), each on a quarter of the ordinary books. */
  listingVariants: boolean;
}

/** How a session's `orm-jwt` moves on: after every authenticated 2xx, every N, by age, or never. */
export type RotatePolicy = { mode: 'every' } | { mode: 'count'; n: number } | { mode: 'age' } | { mode: 'off' };

/** What a stale, expired or missing token gets: 401 JSON, or 200 truncated previews for chapters. */
/** `silent-preview`: previews without the paywall marker, so only their length gives them away. */
export type StaleMode = '401' | 'preview' | 'silent-preview';

/** What a valid `orm-jwt` without a `groot_sessionid` cookie gets for subscriber content. */
export type PartialCookiesMode = '404' | 'ignore';

/** `/profile/` as SSO accounts see it (302 → 307 → page without `user_type`), or one 200 page with `user_type`. */
export type ProfileMode = 'redirect' | 'plain';

/** Everything that may change while the simulator runs (`POST /__sim/control`). */
export interface Behaviour {
  rotate: RotatePolicy;
  rotateAgeSec: number;
  grace: number;
  tokenTtlSec: number;
  staleMode: StaleMode;
  latencyMs: number;
  jitterMs: number;
  /** KiB per second per response; 0 = unpaced. */
  bandwidthKbps: number;
  /** Requests per second per session; 0 = unlimited. */
  rateLimit: number;
  burst: number;
  /** Requests per second over all traffic before the edge answers 403; 0 = unlimited. */
  edgeLimit: number;
  failRate: number;
  resetRate: number;
  stallRate: number;
  shortRate: number;
  /** (X)HTML files are whole only with `download=false` and an HTML `Accept`; else a ~2 KB sample. */
  fileGate: boolean;
  /** Requests per second per remote IP to `/api/v2/…` and `/library/…` before the bulk-access guard answers; 0 = off. */
  guardRate: number;
  guardBurst: number;
  partialCookies: PartialCookiesMode;
  profileMode: ProfileMode;
  /** `/profile/` refreshes an expired, stale or missing `orm-jwt` through `orm-rt` (and may rotate it). */
  profileRefresh: boolean;
  /** `GET /api/v1/auth/openid/token/` refreshes through `orm-rt`; off, it answers 401 to everyone. */
  tokenEndpoint: boolean;
  /** Login sends a second, bogus `Set-Cookie` line after each of `groot_sessionid`, `orm-jwt`, `orm-rt`. */
  duplicateLoginCookies: boolean;
  /** `/api/v2/search/` answers without cookies. */
  anonymousListing: boolean;
}

export interface SimOptions extends CatalogueOptions, Behaviour {
  host: string;
  port: number;
  /** Password accounts user1…userN, besides the lapsed `expired@sim.test`. */
  accounts: number;
  /** Time for tokens, limits and pacing; the control endpoint can move it forward. */
  clock?: Clock;
  logger?: Logger;
}

export const DEFAULT_SKILLS: readonly string[] = [
  'Python',
  'Go',
  'Kubernetes',
  'JavaScript',
  'C++',
  'Machine Learning',
  'Data Science',
  'Rust',
  'Java',
  'Linux',
  'Security',
  'DevOps',
  'Cloud Computing',
  'SQL',
  'TypeScript',
  'Artificial Intelligence',
];

export const DEFAULT_BOOKS = 300;

export function defaultCatalogueOptions(books = DEFAULT_BOOKS): CatalogueOptions {
  return {
    seed: 1,
    books,
    skills: [...DEFAULT_SKILLS],
    chapters: 8,
    chapterKb: 12,
    images: 2,
    imageKb: 8,
    bigBooks: defaultBigBooks(books),
    bigChapters: 260,
    poison: false,
    hostile: false,
    packageLayouts: true,
    listingVariants: true,
  };
}

/** Two big books per ~300, none in the small catalogues tests use unless asked. */
export function defaultBigBooks(books: number): number {
  return Math.floor(books / 150);
}

export const DEFAULT_BEHAVIOUR: Readonly<Behaviour> = {
  rotate: { mode: 'age' },
  rotateAgeSec: 300,
  grace: 0,
  tokenTtlSec: 3600,
  staleMode: '401',
  latencyMs: 0,
  jitterMs: 0,
  bandwidthKbps: 0,
  rateLimit: 0,
  burst: 3,
  edgeLimit: 0,
  failRate: 0,
  resetRate: 0,
  stallRate: 0,
  shortRate: 0,
  fileGate: true,
  guardRate: 8,
  guardBurst: 16,
  partialCookies: '404',
  profileMode: 'redirect',
  profileRefresh: false,
  tokenEndpoint: true,
  duplicateLoginCookies: true,
  anonymousListing: true,
};

/** The behaviour part of the options (a fresh object: the server changes it at run time). */
export function behaviourOf(o: Behaviour): Behaviour {
  const out = {} as Record<string, unknown>;
  for (const key of Object.keys(DEFAULT_BEHAVIOUR)) out[key] = structuredClone((o as unknown as Record<string, unknown>)[key]);
  return out as unknown as Behaviour;
}

/** Fills in defaults; `bigBooks` follows `books` unless given. */
export function resolveOptions(partial: Partial<SimOptions> = {}): SimOptions {
  const books = partial.books ?? DEFAULT_BOOKS;
  const base: SimOptions = {
    ...defaultCatalogueOptions(books),
    ...DEFAULT_BEHAVIOUR,
    host: '127.0.0.1',
    port: 0,
    accounts: 16,
  };
  const out: SimOptions = { ...base };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  if (partial.bigBooks === undefined) out.bigBooks = defaultBigBooks(out.books);
  return out;
}

export function catalogueOptionsOf(o: CatalogueOptions): CatalogueOptions {
  return {
    seed: o.seed,
    books: o.books,
    skills: [...o.skills],
    chapters: o.chapters,
    chapterKb: o.chapterKb,
    images: o.images,
    imageKb: o.imageKb,
    bigBooks: o.bigBooks,
    bigChapters: o.bigChapters,
    poison: o.poison,
    hostile: o.hostile,
    packageLayouts: o.packageLayouts ?? true,
    listingVariants: o.listingVariants ?? true,
  };
}

export function rotateLabel(p: RotatePolicy): string {
  return p.mode === 'count' ? String(p.n) : p.mode;
}

/** `every`, `off`, `age` or a positive whole number; undefined when it is none of these. */
export function parseRotate(value: string): RotatePolicy | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'every' || v === 'off' || v === 'age') return { mode: v };
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v))) return { mode: 'count', n: Number(v) };
  return undefined;
}
