import { bookPrefix, chapterView, isChapterView, collectionView, fileView, metadataView, paginate, searchResult, spineItems, tocView } from './api.js';
import { companionCookies, EXPIRED_SUB, jwtSetCookie, loginSetCookies, refreshSetCookie, type Account, type TokenChains } from './auth.js';
import { jpeg } from './images.js';
import { Random } from './random.js';
import { sampleOf } from './sample.js';
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
  /** The request's `Accept` header (the file gate reads it). */
  accept?: string;
  /** The bulk-access guard found this address's budget spent: (X)HTML files get a sample, the rest 403. */
  throttled?: boolean;
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

export const GUARD_DETAIL = 'Requests from scripted clients on this network are limited. Slow down.';

/** The origin's answer (never the edge's) to a guarded request from an address past its budget. */
export function guardForbidden(s: Pick<SimState, 'stats'>): Reply {
  s.stats.guardForbidden();
  return json(403, { detail: GUARD_DETAIL });
}

/** Paths the per-IP bulk-access guard counts: the content API and `/library/…` (covers). */
export function isGuarded(path: string): boolean {
  return path.startsWith('/api/v2/') || path.startsWith('/library/');
}

/** The media types the file gate and the guard answer with a sample. */
export function isDocument(mediaType: string): boolean {
  return mediaType === 'application/xhtml+xml' || mediaType === 'text/html';
}

/** Whether an `Accept` header names `text/html` or `application/xhtml+xml` (with a q above 0). */
export function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((x) => x.trim().toLowerCase());
    if (type !== 'text/html' && type !== 'application/xhtml+xml') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** The file gate's condition for the whole document: `download=false` and an HTML `Accept`. */
export function wantsWholeDocument(query: URLSearchParams, accept: string | undefined): boolean {
  return query.get('download') === 'false' && acceptsHtml(accept);
}

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
 * 404 for subscriber content asked with a partial cookie set (a valid token without
 * `groot_sessionid`, unless `partialCookies` is `ignore`), or — in preview mode, for chapter
 * bodies — the truncated preview.
 */
function authenticate(s: SimState, c: RequestContext, preview?: () => Reply, subscriber = true): Reply | undefined {
  const check = s.chains.check(c.cookies.get('orm-jwt'));
  if (check.state === 'ok') {
    if (subscriber && s.behaviour.partialCookies === '404' && !c.cookies.get('groot_sessionid')) {
      s.stats.partialCookies();
      return NOT_FOUND();
    }
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
  // Audiobook ids (13 digits and "AU") are well-formed too: they answer 404, not 400.
  return /^urn:orm:book:(\d{13}(?:AU)?)$/.exec(decoded)?.[1];
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
  return s.books.rendered(entry, `xpreview:${silent}:${ch.path}`, () =>
    rewriteForFilesApi(previewXhtml(entry.content, ch, silent), ch.path, entry.content.book.id),
  );
}

function servedFile(s: SimState, entry: CachedBook, f: PackageFile): Buffer {
  if (!isRewritten(f.mediaType)) return f.bytes;
  return s.books.rendered(entry, `file:${f.path}`, () => rewriteForFilesApi(f.bytes.toString('utf8'), f.path, entry.content.book.id));
}

/** What the files API serves for a file, in bytes: what `file_size` says in the listing. */
function servedLength(s: SimState, entry: CachedBook, f: PackageFile): number {
  const flag = f.path === entry.content.plan.specialFile ? entry.content.book.flags[0] : undefined;
  // The hostile bodies are streamed, never made: their (inflated) size is what the listing declares.
  if (flag === 'hostile-huge' || flag === 'hostile-gzip-bomb') return 1 << 30;
  return servedFile(s, entry, f).length;
}

/** The ~2 KB sample of an answer's document, made once per book while it stays cached. */
function sampleFor(s: SimState, entry: CachedBook, key: string, full: Buffer): Buffer {
  return s.books.rendered(entry, `sample:${key}`, () => sampleOf(full));
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
  const entry = isReply(found) ? undefined : found.entry;
  const file = rest === 'mimetype' ? undefined : entry?.content.byPath.get(rest);
  const document = file !== undefined && isDocument(file.mediaType);
  // The guard refuses all but (X)HTML files outright, before it looks at the session; those go on
  // through authentication (a stale token still gets its preview or 401) and then get a sample.
  if (c.throttled && !document) return guardForbidden(s);
  const chapter = file?.kind === 'chapter' ? entry!.content.chapters.find((x) => x.path === rest) : undefined;
  const denied = authenticate(
    s,
    c,
    chapter && !isReply(found)
      ? () =>
          asChapter
            ? html(200, chapterPageFor(s, c, found.entry, chapter, true))
            : { status: 200, headers: { 'content-type': 'application/xhtml+xml; charset=utf-8', ...ORIGIN }, body: previewFile(s, found.entry, chapter) }
      : undefined,
  );
  if (denied) return denied;
  if (isReply(found)) return found;
  const { book } = found;
  if (!file || !entry) return NOT_FOUND();
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
  const page = chapter !== undefined && asChapter;
  const full: Reply = page
    ? html(200, chapterPageFor(s, c, entry, chapter, false))
    : { status: 200, headers: { 'content-type': contentType(file.mediaType), ...ORIGIN }, body: servedFile(s, entry, file) };
  if (document) {
    const byGuard = c.throttled === true;
    if (byGuard || (s.behaviour.fileGate && !wantsWholeDocument(c.query, c.accept))) {
      s.stats.sample(byGuard);
      // The same document, cut short: never counted toward a download.
      return { ...full, body: sampleFor(s, entry, page ? `page:${c.base}:${rest}` : `file:${rest}`, full.body as Buffer) };
    }
  }
  return { ...full, onFull: trackFull(s, book, entry, page ? 'chapter' : 'file', rest) };
};

const handleFilesList: Handler = (s, c, m) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const found = lookup(s, m[1]!);
  if (isReply(found)) return found;
  const limit = intParam(c.query, 'limit', 20, FILES_MAX_LIMIT);
  const offset = intParam(c.query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined || limit === 0) return badParam('limit');
  if (offset === undefined) return badParam('offset');
  const { book, entry } = found;
  const withUrl = !book.variants.includes('no-url');
  const files = entry.content.files.filter((f) => f.path !== 'mimetype');
  const page = paginate(files, limit, offset, (o) => `${c.base}${bookPrefix(book.id)}/files/?limit=${limit}&offset=${o}`);
  return json(200, { ...page, results: page.results.map((f) => fileView(c.base, book.id, f, servedLength(s, entry, f), withUrl)) });
};

/** The files listing takes `limit` up to this, as the live one does; more is served as this many. */
export const FILES_MAX_LIMIT = 300;
export const SPINE_MAX_LIMIT = 300;

const handleSpine: Handler = (s, c, m) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const found = lookup(s, m[1]!);
  if (isReply(found)) return found;
  const limit = intParam(c.query, 'limit', 100, SPINE_MAX_LIMIT);
  const offset = intParam(c.query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined || limit === 0) return badParam('limit');
  if (offset === undefined) return badParam('offset');
  const id = found.book.id;
  return json(
    200,
    paginate(spineItems(found.entry.content), limit, offset, (o) => `${c.base}${bookPrefix(id)}/spine/?limit=${limit}&offset=${o}`),
  );
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
  return json(
    200,
    paginate(items, limit, offset, (o) => `${c.base}/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${id}&limit=${limit}&offset=${o}`),
  );
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
  if (s.behaviour.anonymousListing) {
    // Anyone may list; a current token is still a session's request (and may rotate).
    const check = s.chains.check(c.cookies.get('orm-jwt'));
    if (check.state === 'ok') c.authSid = check.sid;
  } else {
    const denied = authenticate(s, c, undefined, false);
    if (denied) return denied;
  }
  const limit = intParam(c.query, 'limit', 10, 200);
  const page = intParam(c.query, 'page', 0, Number.MAX_SAFE_INTEGER);
  if (limit === undefined || limit === 0) return badParam('limit');
  if (page === undefined) return badParam('page');
  if (page * limit > SEARCH_DEPTH) return json(403, { detail: 'Results beyond the first 1000 are not available.' });
  const query = (c.query.get('query') ?? '*').trim();
  const topics = c.query
    .getAll('topics')
    .flatMap((t) => t.split(','))
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  // `formats` is deliberately ignored: like the live listing, a few videos come back among books.
  let books = s.catalogue.books;
  if (/^\d{10,13}(AU)?$/i.test(query)) books = books.filter((b) => b.id === query.toUpperCase() || b.isbn === query);
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
  return skill
    .toLowerCase()
    .replace(/\+/g, 'p')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

const handleCollections: Handler = (s, c) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  return json(
    200,
    s.catalogue.collections.map((col) => collectionView(c.base, col)),
  );
};

const handleCollection: Handler = (s, c, m) => {
  const denied = authenticate(s, c);
  if (denied) return denied;
  const col = s.catalogue.collections.find((x) => x.uuid === m[1]);
  return col ? json(200, collectionView(c.base, col)) : NOT_FOUND_OLD();
};

/** `/library/cover/{id}/`: a thumbnail, `/library/cover/{id}/600/`: the package's own cover JPEG. No auth. */
function cover(full: boolean): Handler {
  return (s, _c, m) => {
    const book = findBook(s.catalogue, m[1]!);
    if (!book || book.format !== 'book' || book.flags.includes('poison-missing')) return NOT_FOUND();
    const entry = s.books.get(book);
    const art = entry.content.byPath.get(entry.content.plan.cover)!.bytes;
    // The thumbnail is its own, smaller JPEG (a real one, made from the seed).
    const body = full
      ? art
      : s.books.rendered(entry, 'cover-thumbnail', () => jpeg(new Random('thumbnail', s.seed, book.id), Math.max(400, Math.floor(art.length / 8))));
    return { status: 200, headers: { 'content-type': 'image/jpeg', ...ORIGIN }, body };
  };
}

/**
 * The logged-in profile page. `withUserType` (plain mode) always says `user_type`; the SSO page of
 * redirect mode says it only for a lapsed subscription (`"user_type":"Expired"`).
 */
function profilePage(account: { sub: string; email: string; expired: boolean }, sid: string, withUserType = true): string {
  const userType = withUserType || account.expired ? { user_type: account.expired ? 'Expired' : 'Individual' } : {};
  const state = JSON.stringify({ user: { id: account.sub, email: account.email, ...userType, sim_session: sid } });
  return `<!DOCTYPE html>\n<html><head><title>Your Profile | O'Reilly</title></head><body><main id="profile"><h1>Profile</h1><p>${escapeXml(account.email)}</p></main><script id="initial-state" type="application/json">${state}</script></body></html>\n`;
}

function accountOf(s: SimState, sub: string): { sub: string; email: string; expired: boolean } {
  return s.accounts.find((a) => a.sub === sub) ?? { sub, email: `user-${sub}@sim.test`, expired: sub === EXPIRED_SUB };
}

function redirect(status: 302 | 307, location: string): Reply {
  return { status, headers: { location, 'cache-control': 'no-store', ...ORIGIN }, body: Buffer.alloc(0) };
}

const TO_LOGIN = () => redirect(302, '/login/?next=%2Fprofile%2F');

/**
 * Who a profile hop is for: a current `orm-jwt`, else a valid `orm-rt`. With `profileRefresh` an
 * expired, stale or missing token is refreshed through `orm-rt` (Set-Cookie) and a current one may
 * rotate; without it the profile never sets `orm-jwt`, yet a valid `orm-rt` still shows the
 * logged-in page. Undefined: not logged in.
 */
function profileSession(s: SimState, c: RequestContext): { sid: string; sub: string } | undefined {
  const check = s.chains.check(c.cookies.get('orm-jwt'));
  if (check.state === 'ok') {
    if (s.behaviour.profileRefresh) c.authSid = check.sid;
    return check;
  }
  if (check.state !== 'missing') s.stats.token(check.state);
  const rt = c.cookies.get('orm-rt');
  if (!s.behaviour.profileRefresh) return s.chains.refreshSession(rt);
  const refreshed = s.chains.refresh(rt);
  if (!refreshed) return undefined;
  s.stats.refresh();
  s.stats.rotation();
  c.setCookies.push(jwtSetCookie(refreshed.jwt, s.behaviour.tokenTtlSec), refreshSetCookie(rt!));
  return refreshed;
}

/**
 * `plain`: 200 with `"user_type"`. `redirect`: 302 to `/profile/sso/` (which 307s to `/u/{sub}/`).
 * Not logged in: 302 to `/login/?next=%2Fprofile%2F` in both modes.
 */
const handleProfile: Handler = (s, c) => {
  const session = profileSession(s, c);
  if (!session) return TO_LOGIN();
  if (s.behaviour.profileMode === 'plain') return html(200, profilePage(accountOf(s, session.sub), session.sid), { 'cache-control': 'no-store' });
  s.stats.profileRedirect();
  return redirect(302, '/profile/sso/');
};

const handleProfileSso: Handler = (s, c) => {
  const session = profileSession(s, c);
  if (!session) return TO_LOGIN();
  s.stats.profileRedirect();
  return redirect(307, `/u/${encodeURIComponent(session.sub)}/`);
};

/** The SSO chain's last hop: the profile without `user_type`, unless the subscription lapsed. */
const handleUserPage: Handler = (s, c, m) => {
  const session = profileSession(s, c);
  if (!session) return TO_LOGIN();
  if (decodeURIComponentSafe(m[1]!) !== session.sub) return NOT_FOUND_OLD();
  return html(200, profilePage(accountOf(s, session.sub), session.sid, false), { 'cache-control': 'no-store' });
};

function decodeURIComponentSafe(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** `GET /api/v1/auth/openid/token/`: a valid `orm-rt` buys the next `orm-jwt` (Set-Cookie and JSON). */
const handleToken: Handler = (s, c) => {
  if (!s.behaviour.tokenEndpoint) return UNAUTHENTICATED();
  const refreshed = s.chains.refresh(c.cookies.get('orm-rt'));
  if (!refreshed) return UNAUTHENTICATED();
  s.stats.tokenRefresh();
  s.stats.rotation();
  c.setCookies.push(jwtSetCookie(refreshed.jwt, s.behaviour.tokenTtlSec));
  return json(200, { id_token: refreshed.jwt, expires_in: s.behaviour.tokenTtlSec }, { 'cache-control': 'no-store' });
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
  const lines = loginSetCookies(cookies, s.behaviour.tokenTtlSec, s.behaviour.duplicateLoginCookies);
  return json(200, { logged_in: true, id_token: jwt, refresh_token: rt, expires_in: s.behaviour.tokenTtlSec }, { 'set-cookie': lines });
};

const BOOK = '/api/v2/epubs/([^/]+)';

export const ROUTES: Route[] = [
  { pattern: /^\/api\/v1\/auth\/login\/?$/, endpoint: 'login', method: 'POST', handle: handleLogin },
  { pattern: /^\/api\/v1\/auth\/openid\/token\/?$/, endpoint: 'token', method: 'GET', handle: handleToken },
  { pattern: /^\/profile\/?$/, endpoint: 'profile', method: 'GET', handle: handleProfile },
  { pattern: /^\/profile\/sso\/?$/, endpoint: 'profile-sso', method: 'GET', handle: handleProfileSso },
  { pattern: /^\/u\/([^/]+)\/?$/, endpoint: 'profile-user', method: 'GET', handle: handleUserPage },
  { pattern: /^\/(?:accounts\/)?login\/?$/, endpoint: 'login-page', method: 'GET', handle: handleLoginPage },
  { pattern: /^\/library\/cover\/([^/]+)\/?$/, endpoint: 'cover', method: 'GET', handle: cover(false) },
  { pattern: /^\/library\/cover\/([^/]+)\/600\/?$/, endpoint: 'cover-full', method: 'GET', handle: cover(true) },
  { pattern: new RegExp(`^${BOOK}/?$`), endpoint: 'metadata', method: 'GET', handle: bookJson((base, e) => metadataView(base, e.content)) },
  { pattern: new RegExp(`^${BOOK}/table-of-contents/?$`), endpoint: 'toc', method: 'GET', handle: bookJson((base, e) => tocView(base, e.content)) },
  { pattern: new RegExp(`^${BOOK}/spine/?$`), endpoint: 'spine', method: 'GET', handle: handleSpine },
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
