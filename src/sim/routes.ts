import {
  bookPrefix, chapterView, isChapterView, collectionView, fileView, metadataView, paginate, searchResult, spineView, tocView,
} from './api.js';
import { companionCookies, EXPIRED_SUB, jwtSetCookie, loginSetCookies, refreshSetCookie, type Account, type TokenChains } from './auth.js';
import { endlessBody, gzipBombBody, hugeBody } from './bodies.js';
import { findBook, type Catalogue, type SimBook } from './catalogue.js';
import type { CachedBook, ContentCache } from './content-cache.js';
import { escapeXml } from './markup.js';
import type { Behaviour } from './options.js';
import type { ChapterEntry, PackageFile } from './package.js';
import { chapterApiPage, previewXhtml } from './chapter-api.js';
import { isRewritten, rewriteForFilesApi } from './rewrite.js';
import type { Reply } from './send.js';
import type { DownloadTracker, StatsCollector } from './stats.js';

/** What the endpoint handlers share: the simulator's state. */
export interface SimState {
  catalogue: Catalogue;
  behaviour: Behaviour;
  chains: TokenChains;
  accounts: Account[];
  stats: StatsCollector;
  downloads: DownloadTracker;
  books: ContentCache;
  seed: number;
  nextLoginSid(): string;
}

export interface RequestContext {
  method: string;
  query: URLSearchParams;
  /** This server as the client addressed it, e.g. `http://127.0.0.1:8765`. */
  base: string;
  cookies: Map<string, string>;
  /** Set when a current token authenticated the request: its 2xx answers may rotate the token. */
  authSid?: string;
  setCookies: string[];
  body?: Buffer;
}

type Handler = (s: SimState, c: RequestContext, m: RegExpExecArray) => Reply | Promise<Reply>;

interface Route {
  pattern: RegExp;
  endpoint: string;
  method: 'GET' | 'POST';
  handle: Handler;
}

const ORIGIN = { server: 'istio-envoy' };

export function json(status: number, body: unknown, headers: Record<string, string | string[]> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...ORIGIN, ...headers }, body: Buffer.from(JSON.stringify(body)) };
}

function html(status: number, body: string | Buffer, headers: Record<string, string | string[]> = {}): Reply {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', ...ORIGIN, ...headers }, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
}

export const NOT_FOUND_OLD = () => json(404, { detail: 'Not found.' });
const NOT_FOUND = () => json(404, { message: 'Not found' });
const UNAUTHENTICATED = () => json(401, { detail: 'Authentication credentials were not provided.' });

function intParam(q: URLSearchParams, name: string, fallback: number, max: number): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return undefined;
  return Math.min(Number(raw), max);
}

function badParam(name: string): Reply {
  return json(400, { detail: `Invalid value for "${name}": expected a whole number.` });
}

/**
 * Checks the session. On success records who is authenticated (so the answer may rotate the token)
 * and returns undefined; otherwise the answer to send: 401 JSON, 403 for a lapsed subscription,
 * or — in preview mode, for chapter bodies — the truncated preview.
 */
function authenticate(s: SimState, c: RequestContext, preview?: () => Reply): Reply | undefined {
  const check = s.chains.check(c.cookies.get('orm-jwt'));
  if (check.state === 'ok') {
    if (accountOf(s, check.sub).expired) {
      return json(403, { detail: 'Your subscription has expired. Renew it to keep reading.' });
    }
    c.authSid = check.sid;
    return undefined;
  }
  s.stats.token(check.state);
  if (preview && s.behaviour.staleMode !== '401') {
    s.stats.preview();
    return preview();
  }
  return UNAUTHENTICATED();
}

/** `urn:orm:book:<13 digits>` → the id; undefined for anything else. */
function bookIdOf(segment: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return /^urn:orm:book:(\d{13})$/.exec(decoded)?.[1];
}

/** The book a URL names, or the error answer for it (400 malformed, 404 unknown or withdrawn). */
function lookup(s: SimState, segment: string): { book: SimBook; entry: CachedBook } | Reply {
  const id = bookIdOf(segment);
  if (!id) return json(400, { message: `Invalid book identifier "${segment}"; expected urn:orm:book: followed by a 13-digit id.` });
  const book = findBook(s.catalogue, id);
  if (!book || book.format !== 'book' || book.flags.includes('poison-missing')) return NOT_FOUND();
  return { book, entry: s.books.get(book) };
}

const isReply = (x: unknown): x is Reply => typeof x === 'object' && x !== null && 'status' in x && 'body' in x;

function chapterPageFor(s: SimState, c: RequestContext, entry: CachedBook, ch: ChapterEntry, preview: boolean): Buffer {
  const silent = preview && s.behaviour.staleMode === 'silent-preview';
  return s.books.rendered(entry, `page:${preview}:${silent}:${c.base}:${ch.path}`, () => chapterApiPage(entry.content, ch, c.base, preview, silent));
}

function previewFile(s: SimState, entry: CachedBook, ch: ChapterEntry): Buffer {
  const silent = s.behaviour.staleMode === 'silent-preview';
  return s.books.rendered(entry, `xpreview:${silent}:${ch.path}`, () => rewriteForFilesApi(previewXhtml(entry.content, ch, silent), ch.path, entry.content.book.id));
}

function servedFile(s: SimState, entry: CachedBook, f: PackageFile): Buffer {
  if (!isRewritten(f.mediaType)) return f.bytes;
  return s.books.rendered(entry, `file:${f.path}`, () => rewriteForFilesApi(f.bytes.toString('utf8'), f.path, entry.content.book.id));
}

function contentType(mediaType: string): string {
  return /^(text\/|application\/(xhtml\+xml|xml|oebps|x-dtbncx|json))|svg/.test(mediaType) ? `${mediaType}; charset=utf-8` : mediaType;
}

function trackFull(s: SimState, book: SimBook, entry: CachedBook, mode: 'chapter' | 'file', path: string): () => void {
  return () => {
    if (s.downloads.served(book.id, mode, path, entry.need)) s.stats.download(book.id);
  };
}

const handleFile: Handler = (s, c, m) => {
  const found = lookup(s, m[1]!);
  let rest: string;
  try {
    rest = decodeURIComponent(m[2]!);
  } catch {
    return json(400, { message: 'Malformed file path.' });
  }
  const asChapter = isChapterView(c.query);
  const chapter = isReply(found) ? undefined : found.entry.content.chapters.find((x) => x.path === rest);
  const denied = authenticate(s, c, chapter && !isReply(found)
    ? () => (asChapter
      ? html(200, chapterPageFor(s, c, found.entry, chapter, true))
      : { status: 200, headers: { 'content-type': 'application/xhtml+xml; charset=utf-8', ...ORIGIN }, body: previewFile(s, found.entry, chapter) })
    : undefined);
  if (denied) return denied;
  if (isReply(found)) return found;
  const { book, entry } = found;
  const file = entry.content.byPath.get(rest);
  if (!file || rest === 'mimetype') return NOT_FOUND();
  const flag = book.flags[0];
  const special = rest === entry.content.plan.specialFile;
  if (special && flag === 'poison-chapter') return json(500, { detail: 'A server error occurred.' });
  if (special && flag === 'poison-image') return NOT_FOUND();
  if (special && flag === 'hostile-huge') return { status: 200, headers: { 'content-type': 'image/png', ...ORIGIN }, body: hugeBody() };
  if (special && flag === 'hostile-endless') return { status: 200, headers: { 'content-type': 'image/png', ...ORIGIN }, body: endlessBody() };
  if (special && flag === 'hostile-gzip-bomb') {
    return { status: 200, headers: { 'content-type': 'image/png', 'content-encoding': 'gzip', ...ORIGIN }, body: gzipBombBody() };
  }
  if (special && flag === 'hostile-json-image') return { status: 200, headers: { 'content-type': 'application/json', ...ORIGIN }, body: file.bytes };
  if (chapter && asChapter) {
    return { ...html(200, chapterPageFor(s, c, entry, chapter, false)), onFull: trackFull(s, book, entry, 'chapter', rest) };
  }
  return {
    status: 200,
    headers: { 'content-type': contentType(file.mediaType), ...ORIGIN },
    body: servedFile(s, entry, file),
    onFull: trackFull(s, book, entry, 'file', rest),
  };
};

const handleFilesList: Handler = (s, c, m) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const found = lookup(s, m[1]!);
  if (isReply(found)) return found;
  const limit = intParam(c.query, 'limit', 20, 200);
  const offset = intParam(c.query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined || limit === 0) return badParam('limit');
  if (offset === undefined) return badParam('offset');
  const id = found.book.id;
  const files = found.entry.content.files.filter((f) => f.path !== 'mimetype').map((f) => fileView(c.base, id, f));
  return json(200, paginate(files, limit, offset, (o) => `${c.base}${bookPrefix(id)}/files/?limit=${limit}&offset=${o}`));
};

const handleChapters: Handler = (s, c) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const ident = c.query.get('epub_identifier');
  if (!ident) return json(400, { detail: 'The epub_identifier parameter is required, e.g. epub_identifier=urn:orm:book:9781492052203.' });
  const found = lookup(s, ident);
  if (isReply(found)) return found;
  const limit = intParam(c.query, 'limit', 20, 200);
  const offset = intParam(c.query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined || limit === 0) return badParam('limit');
  if (offset === undefined) return badParam('offset');
  const content = found.entry.content;
  const items = content.chapters.map((ch) => chapterView(c.base, content, ch));
  const id = found.book.id;
  return json(200, paginate(items, limit, offset, (o) => `${c.base}/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${id}&limit=${limit}&offset=${o}`));
};

function bookJson(view: (base: string, entry: CachedBook) => unknown): Handler {
  return (s, c, m) => {
    const denied = authenticate(s, c);
    if (denied) return denied;
    const found = lookup(s, m[1]!);
    if (isReply(found)) return found;
    return json(200, view(c.base, found.entry));
  };
}

/** Results past this offset are refused, as the live search refuses deep pages. */
export const SEARCH_DEPTH = 1000;

const handleSearch: Handler = (s, c) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const limit = intParam(c.query, 'limit', 10, 200);
  const page = intParam(c.query, 'page', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined || limit === 0) return badParam('limit');
  if (page === undefined) return badParam('page');
  if (page * limit > SEARCH_DEPTH) return json(403, { detail: 'Results beyond the first 1000 are not available.' });
  const query = (c.query.get('query') ?? '*').trim();
  const topics = c.query.getAll('topics').flatMap((t) => t.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean);
  // `formats` is deliberately ignored: like the live listing, a few videos come back among books.
  let books = s.catalogue.books;
  if (/^\d{10,13}$/.test(query)) books = books.filter((b) => b.id === query || b.isbn === query);
  else if (query !== '*' && query !== '') {
    const q = query.toLowerCase();
    books = books.filter((b) => b.title.toLowerCase().includes(q) || b.authors.some((a) => a.toLowerCase().includes(q)));
  }
  if (topics.length > 0) {
    books = books.filter((b) => b.skills.some((sk) => topics.includes(sk.toLowerCase()) || topics.includes(slugOf(sk))));
  }
  const total = books.length;
  const link = (p: number) => {
    const q = new URLSearchParams(c.query);
    q.set('page', String(p));
    q.set('limit', String(limit));
    return `${c.base}/api/v2/search/?${q.toString()}`;
  };
  return json(200, {
    results: books.slice(page * limit, (page + 1) * limit).map((b) => searchResult(c.base, b)),
    total,
    page,
    next: (page + 1) * limit < total ? link(page + 1) : null,
    previous: page > 0 ? link(page - 1) : null,
  });
};

function slugOf(skill: string): string {
  return skill.toLowerCase().replace(/\+/g, 'p').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

const handleCollections: Handler = (s, c) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  return json(200, s.catalogue.collections.map((col) => collectionView(c.base, col)));
};

const handleCollection: Handler = (s, c, m) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const col = s.catalogue.collections.find((x) => x.uuid === m[1]);
  return col ? json(200, collectionView(c.base, col)) : NOT_FOUND_OLD();
};

const handleCover: Handler = (s, _c, m) => {
  const book = findBook(s.catalogue, m[1]!);
  if (!book || book.format !== 'book' || book.flags.includes('poison-missing')) return NOT_FOUND();
  const entry = s.books.get(book);
  const cover = entry.content.byPath.get(entry.content.plan.cover)!;
  return { status: 200, headers: { 'content-type': 'image/jpeg', ...ORIGIN }, body: cover.bytes };
};

function profilePage(account: { sub: string; email: string; expired: boolean }, sid: string): string {
  const state = JSON.stringify({ user: { id: account.sub, email: account.email, user_type: account.expired ? 'Expired' : 'Individual', sim_session: sid } });
  return `<!DOCTYPE html>\n<html><head><title>Your Profile | O'Reilly</title></head><body><main id="profile"><h1>Profile</h1><p>${escapeXml(account.email)}</p></main><script id="initial-state" type="application/json">${state}</script></body></html>\n`;
}

function accountOf(s: SimState, sub: string): { sub: string; email: string; expired: boolean } {
  return s.accounts.find((a) => a.sub === sub) ?? { sub, email: `user-${sub}@sim.test`, expired: sub === EXPIRED_SUB };
}

/** 200 for a current token; a valid `orm-rt` refreshes an expired, stale or missing one; else 302 to /login/. */
const handleProfile: Handler = (s, c) => {
  const check = s.chains.check(c.cookies.get('orm-jwt'));
  if (check.state === 'ok') {
    c.authSid = check.sid;
    return html(200, profilePage(accountOf(s, check.sub), check.sid), { 'cache-control': 'no-store' });
  }
  if (check.state !== 'missing') s.stats.token(check.state);
  const refreshed = s.chains.refresh(c.cookies.get('orm-rt'));
  if (!refreshed) return { status: 302, headers: { location: '/login/?next=%2Fprofile%2F', ...ORIGIN }, body: Buffer.alloc(0) };
  s.stats.refresh();
  s.stats.rotation();
  c.setCookies.push(jwtSetCookie(refreshed.jwt, s.behaviour.tokenTtlSec), refreshSetCookie(c.cookies.get('orm-rt')!));
  return html(200, profilePage(accountOf(s, refreshed.sub), refreshed.sid), { 'cache-control': 'no-store' });
};

const LOGIN_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Sign In | O\'Reilly</title></head><body><form id="login-form" method="post" action="/api/v1/auth/login/"><input name="email" type="email"><input name="password" type="password"><button type="submit">Sign In</button></form></body></html>\n';

const handleLoginPage: Handler = () => html(200, LOGIN_PAGE);

/** Password login: a new independent session (`l1`, `l2`, …) with its cookies. */
const handleLogin: Handler = (s, c) => {
  let creds: { email?: unknown; password?: unknown };
  try {
    creds = JSON.parse((c.body ?? Buffer.alloc(0)).toString('utf8')) as { email?: unknown; password?: unknown };
  } catch {
    return json(400, { detail: 'JSON parse error - the body must be {"email": …, "password": …}.' });
  }
  const account = s.accounts.find((a) => a.email === creds?.email && a.password === creds?.password);
  if (!account) return json(401, { detail: 'Invalid credentials' });
  const sid = s.nextLoginSid();
  const { jwt, rt } = s.chains.start(sid, account.sub);
  s.stats.login();
  const cookies = { 'orm-jwt': jwt, 'orm-rt': rt, ...companionCookies(s.seed, sid) };
  return json(200, { logged_in: true, id_token: jwt, refresh_token: rt, expires_in: s.behaviour.tokenTtlSec }, { 'set-cookie': loginSetCookies(cookies, s.behaviour.tokenTtlSec) });
};

const BOOK = '/api/v2/epubs/([^/]+)';

export const ROUTES: Route[] = [
  { pattern: /^\/api\/v1\/auth\/login\/?$/, endpoint: 'login', method: 'POST', handle: handleLogin },
  { pattern: /^\/profile\/?$/, endpoint: 'profile', method: 'GET', handle: handleProfile },
  { pattern: /^\/login\/?$/, endpoint: 'login-page', method: 'GET', handle: handleLoginPage },
  { pattern: /^\/library\/cover\/([^/]+)\/?$/, endpoint: 'cover', method: 'GET', handle: handleCover },
  { pattern: new RegExp(`^${BOOK}/?$`), endpoint: 'metadata', method: 'GET', handle: bookJson((base, e) => metadataView(base, e.content)) },
  { pattern: new RegExp(`^${BOOK}/table-of-contents/?$`), endpoint: 'toc', method: 'GET', handle: bookJson((base, e) => tocView(base, e.content)) },
  { pattern: new RegExp(`^${BOOK}/spine/?$`), endpoint: 'spine', method: 'GET', handle: bookJson((base, e) => spineView(base, e.content)) },
  { pattern: new RegExp(`^${BOOK}/files/?$`), endpoint: 'files-list', method: 'GET', handle: handleFilesList },
  { pattern: new RegExp(`^${BOOK}/files/(.+)$`), endpoint: 'file', method: 'GET', handle: handleFile },
  { pattern: /^\/api\/v2\/epub-chapters\/?$/, endpoint: 'chapters', method: 'GET', handle: handleChapters },
  { pattern: /^\/api\/v2\/search\/?$/, endpoint: 'search', method: 'GET', handle: handleSearch },
  { pattern: /^\/api\/v2\/collections\/?$/, endpoint: 'collections', method: 'GET', handle: handleCollections },
  { pattern: /^\/api\/v2\/collections\/([^/]+)\/?$/, endpoint: 'collections', method: 'GET', handle: handleCollection },
];

export interface Routed {
  endpoint: string;
  route?: Route;
  match?: RegExpExecArray;
}

/** Which endpoint a request is for; `chapter-content` is the files URL with `?format=html`. */
export function routeOf(path: string, query: URLSearchParams): Routed {
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const endpoint = route.endpoint === 'file' && isChapterView(query) ? 'chapter-content' : route.endpoint;
    return { endpoint, route, match };
  }
  return { endpoint: 'not-found' };
}

export function methodNotAllowed(method: string): Reply {
  return json(405, { detail: `Method "${method}" not allowed.` });
}
