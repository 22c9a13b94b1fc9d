import type { CookieJar } from 'tough-cookie';
import { Agent } from 'undici';
import { systemClock, type Clock } from '../clock.js';
import { BookdError, errorMessage } from '../errors.js';
import { isEdgeRefusal } from '../oreilly/classify.js';
import { coverPath, epubPath, filesUrl, withDownloadFalse } from '../oreilly/client.js';
import { bookReferer, browserHeaders, fileKind, type RequestKind } from '../oreilly/headers.js';
import { MAX_DOCUMENT_BYTES, MAX_FILE_BYTES, header, type HttpResponse } from '../oreilly/http.js';
import { anyBookId, probeProfile } from '../oreilly/profile.js';
import { isSample, SAMPLE_MIN_DECLARED_BYTES } from '../oreilly/sample.js';
import { arr, num, obj, str, type Json } from '../oreilly/shape.js';
import { TOKEN_PATH } from '../oreilly/token.js';
import { tokenExpiry } from '../pool/jar.js';
import { readBody } from '../pool/read-body.js';
import type { RequestTimeouts } from '../config.js';

/**
 * `bookd doctor`: each expectation of docs/SERVICE.md (the 2026-09 rows above all) set against
 * what the service answers one session, slowly, in about 15 requests. Nothing here prints or
 * returns a cookie value, a token or a header value other than `Server`: the report is meant to
 * be shared.
 */

export type CheckStatus = 'pass' | 'fail' | 'unknown';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What the service answered: statuses, sizes, field names. */
  evidence: string;
  /** What docs/SERVICE.md says it answers. */
  expected: string;
  /** For a difference: what changes in bookd's behaviour (or that nothing does). */
  impact: string | null;
}

export interface DoctorReport {
  book: string;
  /** HTTP requests sent: the session's (its own token renewals included) and the anonymous one. */
  requests: number;
  checks: CheckResult[];
}

/** The held session, as far as the checks need it. */
export interface DoctorSession {
  readonly name: string;
  readonly baseUrl: string;
  readonly authUrl: string;
  readonly jar: CookieJar;
}

export interface SendOptions {
  /** The book the request is for: its reader page is the Referer (docs/SERVICE.md §4). */
  bookId?: string;
  maxBytes?: number;
}

/** One request through the held session (its jar, pacing and saves); redirects are not followed. */
export type DoctorSend = (url: string, kind: RequestKind, opts?: SendOptions) => Promise<HttpResponse>;

export interface DoctorIo {
  send: DoctorSend;
  /** One request with a browser's headers and no cookie at all, outside the session. */
  anonymous: (url: string, kind: RequestKind) => Promise<HttpResponse>;
  /** Requests sent so far through both. */
  requests(): number;
  /** Requests the session sent on its own (renewing a token close to exp before a request). */
  ownRequests(): number;
}

/** What `doctorIo` needs of a session: `request`, and its counter of requests really sent. */
export interface RequestingSession extends DoctorSession {
  request(req: { url: string; headers?: Record<string, string>; maxBytes?: number }): Promise<HttpResponse>;
  readonly requests: number;
}

/**
 * The requests of a doctor run, at least `intervalMs` apart whoever sends them (docs/SERVICE.md §4:
 * about one request per second per identity), with the browser headers of src/oreilly/headers.ts.
 */
export function doctorIo(
  session: RequestingSession,
  opts: { intervalMs: number; userAgent: string; acceptLanguage: string; timeouts: RequestTimeouts; clock?: Clock },
): DoctorIo & { close(): Promise<void> } {
  const clock = opts.clock ?? systemClock;
  const agent = new Agent({ connections: 1 });
  const baseOrigin = new URL(session.baseUrl).origin;
  const startCount = session.requests;
  let anonymousCount = 0;
  let asked = 0;
  let lastAt = -Infinity;
  const pace = async () => {
    const wait = lastAt + opts.intervalMs - clock.now();
    if (wait > 0) await clock.sleep(wait);
    lastAt = clock.now();
  };
  const headersFor = (url: string, kind: RequestKind, bookId?: string) => {
    if (kind === 'document') return browserHeaders('document');
    const target = new URL(url, `${session.baseUrl}/`);
    const referer = bookId ? bookReferer(session.baseUrl, bookId) : `${session.baseUrl}/`;
    return browserHeaders(kind, { referer, site: target.origin === baseOrigin ? 'same-origin' : 'same-site' });
  };
  return {
    async send(url, kind, o = {}) {
      await pace();
      asked++;
      return session.request({ url, headers: headersFor(url, kind, o.bookId), maxBytes: o.maxBytes ?? MAX_DOCUMENT_BYTES });
    },
    async anonymous(path, kind) {
      await pace();
      const url = new URL(path, `${session.baseUrl}/`);
      anonymousCount++;
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: { 'accept-encoding': 'gzip, deflate', 'accept-language': opts.acceptLanguage, ...headersFor(url.href, kind), 'user-agent': opts.userAgent },
        headersTimeout: opts.timeouts.headersMs,
        bodyTimeout: opts.timeouts.bodyMs,
      });
      const headers = res.headers as Record<string, string | string[] | undefined>;
      const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
      const body = await readBody(res.body, {
        maxBytes: MAX_DOCUMENT_BYTES,
        contentLength: first(headers['content-length']),
        contentEncoding: first(headers['content-encoding']),
        url: url.href,
      });
      return { url: url.href, status: res.statusCode, headers, body };
    },
    requests: () => session.requests - startCount + anonymousCount,
    ownRequests: () => session.requests - startCount - asked,
    close: () => agent.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading answers without trusting them (and without ever quoting a header value but Server).

const kb = (n: number) => (n >= 10_240 ? `${Math.round(n / 1024)} KB` : `${n} B`);
const mediaType = (res: HttpResponse) => (header(res, 'content-type') ?? '').split(';')[0]!.trim() || 'no content type';

function jsonOf(res: HttpResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const ok = (res: HttpResponse) => res.status >= 200 && res.status < 300;

/** `404 application/json "Not found"`: a failed answer in a few words (the service's own detail or message, if any). */
function answerText(res: HttpResponse): string {
  if (res.status >= 300 && res.status < 400) return `${res.status}, a redirect (not followed)`;
  const body = obj(jsonOf(res));
  const said = str(body.detail) || str(body.message);
  const shown = said
    ? ` "${said.length > 120 ? `${said.slice(0, 117)}...` : said}"`
    : Object.keys(body).length
      ? ` {${Object.keys(body).slice(0, 4).join(', ')}}`
      : '';
  return `${res.status} ${mediaType(res)}${shown}, ${kb(res.body.length)}`;
}

/**
 * A non-2xx answer that says nothing about the expectation being checked: too fast, the edge, a
 * server error. Undefined when the answer is the service's word on it.
 */
function inconclusive(res: HttpResponse): string | undefined {
  if (res.status === 429)
    return `429 (too fast for this session; Retry-After ${header(res, 'retry-after') === undefined ? 'absent' : 'given'}): try again later with a longer --interval`;
  if (isEdgeRefusal(res)) return '403 from the edge (Access Denied): this machine is refused for now; wait and try again';
  // The origin's bulk-access guard (docs/SERVICE.md §3: "scripted clients from this network").
  const said = (() => {
    const body = obj(jsonOf(res));
    return str(body.detail) || str(body.message);
  })();
  if (res.status === 403 && /scripted|too many|slow down|limited/i.test(said))
    return '403 from the origin limiting this network: the service is throttling this machine; wait and run bookd doctor again at the default --interval';
  if (res.status >= 500) return `${res.status} (a server error): try again later`;
  return undefined;
}

/** A path as shown in a report: no query (it may carry codes), ids and long tokens masked. */
function shownPath(url: string): string {
  const u = new URL(url);
  return u.pathname
    .split('/')
    .map((seg) => ((seg.length >= 3 && /\d/.test(seg)) || seg.length >= 20 ? '…' : seg))
    .join('/');
}

function cookieNames(jar: CookieJar, url: string): string[] {
  return jar.getCookiesSync(url, { expire: false }).map((c) => c.key);
}

function jwtValue(jar: CookieJar, url: string): string | undefined {
  return jar.getCookiesSync(url, { expire: false }).find((c) => c.key === 'orm-jwt')?.value;
}

function inTime(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const text =
    s < 60
      ? `${s}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m ${s % 60}s`
        : s < 172_800
          ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
          : `${Math.floor(s / 86_400)}d`;
  return ms < 0 ? `expired ${text} ago` : `expires in ${text}`;
}

/** Every response's header names, `Server` values and `Set-Cookie` cookie names (docs/SERVICE.md §3 reads Server). */
class HeaderLog {
  readonly names = new Set<string>();
  readonly servers = new Map<string, number>();
  readonly cookies = new Set<string>();
  apiAnswers = 0;
  apiIstio = 0;
  apiServers = new Set<string>();

  /** Only the content origin's API answers are judged: docs/SERVICE.md §3 says what they carry. */
  constructor(private readonly contentOrigin: string) {}

  record(res: HttpResponse): void {
    for (const name of Object.keys(res.headers)) this.names.add(name.toLowerCase());
    const server = header(res, 'server')?.slice(0, 60);
    const key = server ?? '(none)';
    this.servers.set(key, (this.servers.get(key) ?? 0) + 1);
    const raw = res.headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const name = line.split('=')[0]!.trim();
      if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/.test(name)) this.cookies.add(name);
    }
    const at = new URL(res.url);
    if (at.origin === this.contentOrigin && at.pathname.startsWith('/api/v2/')) {
      this.apiAnswers++;
      if (server !== undefined && /^istio-envoy$/i.test(server.trim())) this.apiIstio++;
      else this.apiServers.add(key);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The checks.

export interface DoctorInput {
  session: DoctorSession;
  io: DoctorIo;
  /** The book to check; without one, the first book the search lists. */
  bookId?: string | undefined;
  clock?: Clock;
}

const METADATA_FIELDS = [
  'ourn',
  'identifier',
  'isbn',
  'title',
  'descriptions',
  'language',
  'publication_date',
  'virtual_pages',
  'tags',
  'content_format',
  'chapters',
  'table_of_contents',
  'spine',
  'files',
] as const;
const SEARCH_FIELDS = ['archive_id', 'isbn', 'title', 'authors', 'publishers', 'cover_url', 'issued'] as const;
const CHAPTER_FIELDS = ['ourn', 'title', 'content_url', 'virtual_pages'] as const;
const HTML_ACCEPT_TEXT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const OPF_TYPE = 'application/oebps-package+xml';

const present = (j: Json, key: string) => j[key] !== undefined && j[key] !== null && j[key] !== '';

/**
 * Runs every check against one held session. Throws a BookdError only when there is nothing to
 * check with: the session is not logged in, its subscription lapsed, or no book can be found.
 */
export async function runChecks(input: DoctorInput): Promise<DoctorReport> {
  const { session } = input;
  const clock = input.clock ?? systemClock;
  const now = () => clock.now();
  const base = session.baseUrl;
  const log = new HeaderLog(new URL(base).origin);
  // Whether the service said "too fast" to any request of this run (429, the edge, the guard).
  let throttled = false;
  const seen = (res: HttpResponse) => {
    log.record(res);
    if (res.status === 429 || (res.status === 403 && inconclusive(res))) throttled = true;
    return res;
  };
  const send: DoctorSend = async (url, kind, o) => seen(await input.io.send(url, kind, o));
  const anonymous = async (url: string, kind: RequestKind) => seen(await input.io.anonymous(url, kind));
  const renew = `bookd sessions add ${session.name} --cookies FILE --replace`;
  const checks: CheckResult[] = [];
  const add = (c: CheckResult) => checks.push(c);
  const failed = (err: unknown) => `the request failed: ${errorMessage(err)}`;

  // --- 1. probe -------------------------------------------------------------------------------
  const expBefore = tokenExpiry(session.jar, base);
  let bookId = input.bookId;
  let metadata: HttpResponse | Error | undefined;
  const pickBook = async (): Promise<string> => {
    if (bookId) return bookId;
    try {
      bookId = await anyBookId((url, kind) => send(url, kind), now());
    } catch (err) {
      throw new BookdError('bad_input', `could not pick a book to check (${errorMessage(err)}): name one with --book ID`);
    }
    return bookId;
  };
  const fetchMetadata = async (id: string): Promise<HttpResponse | Error> => {
    try {
      return await send(epubPath(id), 'json', { bookId: id });
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
  const hops: HttpResponse[] = [];
  // exp after the profile's own hops: the confirmation that may follow can rotate the token too.
  let expAfterHops = expBefore;
  let confirmation = '';
  {
    const expected =
      'GET /profile/ following at most 3 same-origin redirects: logged in unless the last hop is a login page; user_type may be absent; "Expired" means the subscription lapsed';
    let verdict;
    try {
      verdict = await probeProfile(
        async (url, kind) => {
          const res = await send(url, kind);
          hops.push(res);
          expAfterHops = tokenExpiry(session.jar, base);
          return res;
        },
        {
          now,
          // A page that does not say (no user_type) is confirmed with the book's metadata, which
          // check 3 reads anyway: one request serves both.
          confirm: async () => {
            const id = await pickBook();
            metadata = await fetchMetadata(id);
            // A 403 may be the origin's bulk-access guard (docs/SERVICE.md §3): the metadata check says which.
            if (!(metadata instanceof Error) && metadata.status === 401) throw new BookdError('auth', 'the book metadata API answered 401', { status: 401 });
            confirmation =
              metadata instanceof Error
                ? `the metadata API could not confirm it (${metadata.message})`
                : `the metadata API answered ${metadata.status} for ${id}`;
            return confirmation;
          },
        },
      );
    } catch (err) {
      if (err instanceof BookdError && err.kind === 'auth') {
        throw new BookdError(
          'auth',
          `session ${session.name} is not logged in (${err.message}): log in to the service in a browser, export its cookies and renew the session with ${renew}`,
        );
      }
      if (err instanceof BookdError && err.kind === 'bad_input') throw err;
      verdict = err instanceof Error ? err : new Error(String(err));
    }
    const trail = hops.map((r) => `${r.status} ${shownPath(r.url)}`).join(' → ');
    const last = hops.at(-1);
    const location = last && last.status >= 300 && last.status < 400 ? header(last, 'location') : undefined;
    let onward = '';
    if (location) {
      try {
        const target = new URL(location, last!.url);
        onward =
          target.origin === new URL(last!.url).origin ? ` → ${shownPath(target.href)} (not followed)` : ` → ${target.origin} (off the service, not followed)`;
      } catch {
        onward = ' → an unreadable location';
      }
    }
    if (verdict instanceof Error) {
      add({ id: 'probe', title: 'session probe', status: 'unknown', evidence: `${trail || 'no answer'}${onward}; ${verdict.message}`, expected, impact: null });
    } else if (verdict.status === 'lapsed') {
      throw new BookdError(
        'auth',
        `the account behind session ${session.name} has no active subscription (the profile says user_type "${verdict.userType}"): renew the subscription, then ${renew}`,
      );
    } else {
      const userType =
        verdict.userType !== undefined ? `user_type "${verdict.userType}"` : `no user_type (allowed: its absence means nothing); ${confirmation}`;
      add({
        id: 'probe',
        title: 'session probe',
        status: 'pass',
        evidence: `${trail}${onward}; logged in (the last hop is no login page); ${userType}`,
        expected,
        impact: null,
      });
    }
  }

  // --- 2. token ---------------------------------------------------------------------------------
  {
    const expected = `the orm-jwt exp moves when GET ${TOKEN_PATH} on the auth origin answers with a fresh orm-jwt (Set-Cookie)`;
    const afterProbe = expAfterHops;
    const parts: string[] = [];
    if (expBefore === undefined) parts.push('the jar has no orm-jwt with an exp');
    else parts.push(`orm-jwt ${inTime(expBefore - now())}`);
    if (expBefore !== undefined)
      parts.push(
        afterProbe !== undefined && afterProbe > expBefore
          ? `/profile/ moved it by ${Math.round((afterProbe - expBefore) / 1000)}s`
          : '/profile/ did not move it (none is reported to)',
      );
    const own = input.io.ownRequests();
    if (own > 0) parts.push(`the session first renewed its token on its own (${own} requests: it was within minutes of exp)`);
    const before = tokenExpiry(session.jar, base);
    const jwtBeforeToken = jwtValue(session.jar, base);
    const tokenUrl = new URL(TOKEN_PATH, `${session.authUrl}/`).href;
    let res: HttpResponse | undefined;
    let error: unknown;
    try {
      res = await send(tokenUrl, 'json');
    } catch (err) {
      error = err;
    }
    const after = tokenExpiry(session.jar, base);
    const changed = jwtValue(session.jar, base) !== jwtBeforeToken;
    const where = new URL(tokenUrl).origin === new URL(base).origin ? TOKEN_PATH : `${new URL(tokenUrl).origin}${TOKEN_PATH}`;
    if (!res) {
      parts.push(`${where}: ${failed(error)}`);
      add({ id: 'token', title: 'token renewal', status: 'unknown', evidence: parts.join('; '), expected, impact: null });
    } else {
      // A token rotated earlier in this run and renewed again within the same second keeps its exp:
      // both are as fresh as tokens get.
      const moved =
        before !== undefined &&
        after !== undefined &&
        (after > before || (changed && ok(res) && after === before && expBefore !== undefined && before > expBefore));
      parts.push(`${where} answered ${answerText(res)}${changed ? ', with a new orm-jwt' : ', no new orm-jwt'}`);
      if (moved)
        parts.push(
          after > before
            ? `exp moved by ${Math.round((after - before) / 1000)}s (now ${inTime(after - now())})`
            : `a fresh exp (${inTime(after - now())}), as fresh as the one this run just got`,
        );
      else parts.push('exp did not move');
      const why = inconclusive(res);
      if (moved) add({ id: 'token', title: 'token renewal', status: 'pass', evidence: parts.join('; '), expected, impact: null });
      else if (why || (ok(res) && changed)) {
        // A new token issued within the same second as the old one carries the same exp.
        add({ id: 'token', title: 'token renewal', status: 'unknown', evidence: `${parts.join('; ')}${why ? `; ${why}` : ''}`, expected, impact: null });
      } else {
        const until = after ?? before;
        const profileRenews = expBefore !== undefined && afterProbe !== undefined && afterProbe > expBefore;
        add({
          id: 'token',
          title: 'token renewal',
          status: 'fail',
          evidence: parts.join('; '),
          expected,
          impact: profileRenews
            ? 'the token endpoint did not renew, but /profile/ did: bookd tries /profile/ first, so nothing changes'
            : `the token endpoint did not renew: sessions will expire at exp${until !== undefined ? ` (this one ${inTime(until - now()).replace('expires ', '')})` : ''} and bookd cannot refresh them; renew them with bookd sessions add NAME --cookies FILE --replace (bookd warns before it happens)`,
        });
      }
    }
  }

  // --- 3. metadata ------------------------------------------------------------------------------
  const id = await pickBook();
  const metaExpected = `GET /api/v2/epubs/urn:orm:book:{id}/ answers JSON with ${METADATA_FIELDS.join(', ')}`;
  metadata ??= await fetchMetadata(id);
  let bookReadable = false;
  let tags: string[] = [];
  {
    const m = metadata;
    if (m instanceof Error) {
      add({ id: 'metadata', title: 'book metadata', status: 'unknown', evidence: failed(m), expected: metaExpected, impact: null });
    } else if (!ok(m)) {
      const why = inconclusive(m);
      const names = cookieNames(session.jar, base);
      const partial = !names.includes('groot_sessionid');
      add({
        id: 'metadata',
        title: 'book metadata',
        status: why ? 'unknown' : 'fail',
        evidence: `${answerText(m)} for ${id}${why ? `; ${why}` : ''}${m.status === 404 ? `; the session sends ${names.length} cookies${partial ? ', no groot_sessionid' : ', groot_sessionid among them'}` : ''}`,
        expected: metaExpected,
        impact: why
          ? null
          : m.status === 404
            ? `${input.bookId ? 'unless the id is wrong, ' : ''}this session is answered 404 for the book as the service answers a partial cookie set (treated as anonymous): with it bookd archives nothing, and a daemon parks it as "partial" once another session reads the book; export all cookies of the site${partial ? ' (groot_sessionid is missing)' : ''} and renew it with ${renew}`
            : m.status === 403
              ? `refused although the profile says logged in: if the service speaks of scripted clients or limits, it is throttling this machine (bookd slows down; wait and run bookd doctor again at the default --interval), otherwise bookd treats it as a session problem and parks the session; renew it with ${renew}`
              : `this session is refused the book's metadata although the profile says it is logged in: bookd treats that as a session problem (refresh, then park it as expired); renew it with ${renew}`,
      });
    } else {
      const j = obj(jsonOf(m));
      const missing = METADATA_FIELDS.filter((k) => !present(j, k));
      const odd: string[] = [];
      if (present(j, 'descriptions') && (typeof j.descriptions !== 'object' || Array.isArray(j.descriptions))) odd.push('descriptions is not an object');
      if (present(j, 'tags') && !Array.isArray(j.tags)) odd.push('tags is not a list');
      if (present(j, 'virtual_pages') && typeof j.virtual_pages !== 'number') odd.push('virtual_pages is not a number');
      const identifier = str(j.identifier);
      if (identifier && identifier !== id) odd.push(`identifier is ${identifier}`);
      const notJson = jsonOf(m) === undefined;
      bookReadable = true;
      tags = arr(j.tags)
        .map((t) => str(t))
        .filter(Boolean);
      const differs = notJson || missing.length > 0 || odd.length > 0;
      add({
        id: 'metadata',
        title: 'book metadata',
        status: differs ? 'fail' : 'pass',
        evidence: notJson
          ? `${answerText(m)}: not JSON`
          : `${m.status} for ${id}, ${missing.length === 0 ? `all ${METADATA_FIELDS.length} fields` : `${METADATA_FIELDS.length - missing.length} of ${METADATA_FIELDS.length} fields, missing: ${missing.join(', ')}`}${odd.length ? `; ${odd.join('; ')}` : ''}; virtual_pages ${num(j.virtual_pages)}`,
        expected: metaExpected,
        impact: differs
          ? 'bookd reads title, language, publication date, descriptions, page count and tags from here: what is missing stays empty in the EPUB (identifier falls back to the id, language to en) and the page count cannot help to recognise previews; please report'
          : null,
      });
    }
  }

  // --- 4. search --------------------------------------------------------------------------------
  let topic: string | undefined;
  {
    const expected = `GET /api/v2/search/?query={id}&formats=book&limit=1: results[0] with ${SEARCH_FIELDS.join(', ')}, topics/subjects (authors and publishers as strings)`;
    try {
      const res = await send(`/api/v2/search/?query=${encodeURIComponent(id)}&formats=book&limit=1`, 'json', { bookId: id });
      const why = inconclusive(res);
      const first = obj(arr(obj(jsonOf(res)).results)[0]);
      if (!ok(res) || Object.keys(first).length === 0) {
        add({
          id: 'search',
          title: 'search record',
          status: why ? 'unknown' : 'fail',
          evidence: ok(res) ? `${res.status}, no results for ${id}` : `${answerText(res)}${why ? `; ${why}` : ''}`,
          expected,
          impact: why
            ? null
            : 'without a search record the book is archived without authors, publishers, cover art link and topics (its text is unaffected); please report',
        });
      } else {
        const missing: string[] = SEARCH_FIELDS.filter((k) => !present(first, k));
        const hasTopics = Array.isArray(first.topics) || Array.isArray(first.subjects);
        if (!hasTopics) missing.push('topics/subjects');
        const odd: string[] = [];
        for (const k of ['authors', 'publishers', 'topics', 'subjects'] as const) {
          if (present(first, k) && (!Array.isArray(first[k]) || !(first[k] as unknown[]).every((x) => typeof x === 'string'))) odd.push(`${k} are not strings`);
        }
        const archiveId = str(first.archive_id);
        if (archiveId && archiveId !== id && str(first.isbn) !== id) odd.push(`results[0] is another book (${archiveId})`);
        const topics = [...arr(first.topics), ...arr(first.subjects)].map((t) => str(t)).filter(Boolean);
        topic = topics[0];
        const differs = missing.length > 0 || odd.length > 0;
        add({
          id: 'search',
          title: 'search record',
          status: differs ? 'fail' : 'pass',
          evidence: `${res.status}, results[0] ${missing.length === 0 ? 'has every field' : `lacks ${missing.join(', ')}`}${odd.length ? `; ${odd.join('; ')}` : ''}; ${topics.length} topics`,
          expected,
          impact: differs
            ? 'bookd takes authors, publishers and topics from this record: what is missing or not a string is left out of the EPUB and the library file name, and a book the search does not find is archived without them; please report'
            : null,
        });
      }
    } catch (err) {
      add({ id: 'search', title: 'search record', status: 'unknown', evidence: failed(err), expected, impact: null });
    }
  }
  topic ??= tags[0];

  // --- 5. files listing ---------------------------------------------------------------------------
  interface Item {
    url: string;
    fullPath: string;
    mediaType: string;
    kind: string;
    fileSize: number | undefined;
  }
  let items: Item[] | undefined;
  const notTried = "not tried: the book's metadata did not come";
  {
    const expected =
      'GET …/files/?limit=300&offset=0 is accepted; items have url (or full_path), full_path, media_type, kind, file_size; the OPF (application/oebps-package+xml) is among them';
    if (!bookReadable) add({ id: 'files', title: 'files listing', status: 'unknown', evidence: notTried, expected, impact: null });
    else {
      try {
        const res = await send(`${epubPath(id)}files/?limit=300&offset=0`, 'json', { bookId: id });
        const why = inconclusive(res);
        const page = obj(jsonOf(res));
        if (!ok(res) || !Array.isArray(page.results)) {
          add({
            id: 'files',
            title: 'files listing',
            status: why ? 'unknown' : 'fail',
            evidence: `${answerText(res)}${why ? `; ${why}` : ''}`,
            expected,
            impact: why
              ? null
              : 'bookd lists the publisher package with limit=300: without a listing every book is rebuilt from its chapters (build mode auto; "package" fails them); please report',
          });
        } else {
          const raw = arr(page.results).map((r) => obj(r));
          items = raw.map((f) => {
            const fullPath = str(f.full_path);
            return {
              url: str(f.url) || (fullPath ? filesUrl(id, fullPath) : ''),
              fullPath,
              mediaType: str(f.media_type),
              kind: str(f.kind),
              fileSize: num(f.file_size) > 0 ? num(f.file_size) : undefined,
            };
          });
          const count = num(page.count);
          const lacking = (key: string) => raw.filter((f) => !present(f, key)).length;
          const noUrl = lacking('url');
          const noPath = lacking('full_path');
          const noType = lacking('media_type');
          const noKind = lacking('kind');
          const noSize = raw.filter((f) => !(num(f.file_size) > 0)).length;
          const opfs = items.filter((f) => f.mediaType === OPF_TYPE || /\.opf$/i.test(f.fullPath));
          const firstPageFull = raw.length >= Math.min(count || raw.length, 300);
          const facts = [
            `${res.status}, ${raw.length} items on the first page of ${count || '?'}${str(page.next) ? ' (next given)' : ''}${firstPageFull ? ', limit=300 accepted' : `, fewer than asked (bookd follows next)`}`,
            noUrl ? `${noUrl} without url (full_path used)` : 'every item has url',
            ...[
              ['full_path', noPath],
              ['media_type', noType],
              ['kind', noKind],
              ['file_size', noSize],
            ]
              .filter(([, n]) => n)
              .map(([k, n]) => `${n} without ${k}`),
            opfs.length === 0
              ? 'no OPF'
              : opfs.length === 1
                ? `one OPF (${opfs[0]!.fullPath})`
                : `${opfs.length} OPFs (${opfs.map((o) => o.fullPath).join(', ')}; bookd prefers content.opf)`,
          ];
          const impacts: string[] = [];
          if (noSize) impacts.push('file_size missing: bookd cannot recognise samples by size and falls back to word counts; please report');
          if (noPath) impacts.push('full_path missing: those files cannot be placed in the package, and books may be rebuilt from chapters; please report');
          if (opfs.length === 0) impacts.push('no OPF: bookd cannot use the publisher package and rebuilds every book from its chapters; please report');
          if (noType) impacts.push('media_type missing: bookd goes by the file name for those files; nothing else changes');
          if (noKind) impacts.push('kind missing: bookd does not use it (it goes by media type and name): nothing changes');
          add({
            id: 'files',
            title: 'files listing',
            status: impacts.length ? 'fail' : 'pass',
            evidence: facts.join('; '),
            expected,
            impact: impacts.length ? impacts.join('; ') : null,
          });
        }
      } catch (err) {
        add({ id: 'files', title: 'files listing', status: 'unknown', evidence: failed(err), expected, impact: null });
      }
    }
  }

  // --- 6. one chapter file, three ways ------------------------------------------------------------
  {
    const file = items
      ?.filter((f) => fileKind(f.mediaType, f.fullPath) === 'html' && (f.fileSize ?? 0) >= SAMPLE_MIN_DECLARED_BYTES)
      .sort((a, b) => Number(b.kind === 'chapter') - Number(a.kind === 'chapter'))[0];
    const ways = [
      {
        id: 'file-whole',
        title: 'chapter file, download=false + HTML Accept',
        download: true,
        kind: 'html' as const,
        expected: `…/files/{path}?download=false with Accept ${HTML_ACCEPT_TEXT} answers the whole file (file_size bytes)`,
      },
      {
        id: 'file-no-download-param',
        title: 'chapter file without download=false',
        download: false,
        kind: 'html' as const,
        expected: 'without download=false the service answers a ~2 KB sample (verified live 2026-09)',
      },
      {
        id: 'file-json-accept',
        title: 'chapter file with a JSON Accept',
        download: true,
        kind: 'json' as const,
        expected: 'with Accept application/json the service answers a ~2 KB sample even with download=false (verified live 2026-09)',
      },
    ];
    for (const way of ways) {
      if (!file) {
        const why = !bookReadable
          ? notTried
          : !items
            ? 'not tried: the files listing did not come'
            : `no (X)HTML file of at least ${SAMPLE_MIN_DECLARED_BYTES / 1024} KB with a file_size in the listing`;
        add({ id: way.id, title: way.title, status: 'unknown', evidence: why, expected: way.expected, impact: null });
        continue;
      }
      const size = file.fileSize!;
      let url: string;
      if (way.download) url = withDownloadFalse(file.url, base);
      else {
        const u = new URL(file.url, `${base}/`);
        u.searchParams.delete('download');
        url = u.origin === new URL(base).origin ? u.pathname + u.search : u.href;
      }
      try {
        const res = await send(url, way.kind, { bookId: id, maxBytes: MAX_FILE_BYTES });
        const bytes = res.body.length;
        const why = inconclusive(res);
        const whole = ok(res) && bytes >= size;
        const sample = ok(res) && isSample(bytes, size);
        const evidence = `${file.fullPath}: ${ok(res) ? `${res.status}, ${bytes} of its ${size} bytes (${whole ? 'whole' : sample ? 'a sample' : 'short'})` : answerText(res)}${why ? `; ${why}` : ''}`;
        if (way.download && way.kind === 'html') {
          add({
            id: way.id,
            title: way.title,
            status: whole ? 'pass' : why ? 'unknown' : 'fail',
            evidence,
            expected: way.expected,
            impact:
              whole || why
                ? null
                : sample
                  ? 'files come as samples even as a reader asks for them: bookd takes them for throttling, retries each after 1, 2, 4, 8 s and slows the whole machine down, and books do not finish; if other requests were refused (403) too, the service is throttling this machine: wait and run bookd doctor again at the default --interval; otherwise please report'
                  : ok(res)
                    ? 'a file shorter than its file_size but more than half of it: bookd would keep it as it came, so a book could be written short; please report'
                    : "bookd cannot fetch the publisher's files: books are rebuilt from their chapters where possible; please report",
          });
        } else {
          const harmless =
            way.kind === 'json'
              ? 'the whole file came, not the sample reported in 2026-09: harmless, bookd always sends the HTML Accept for (X)HTML files'
              : 'the whole file came, not the sample reported in 2026-09: harmless, bookd sends download=false anyway';
          add({
            id: way.id,
            title: way.title,
            status: sample ? 'pass' : why || (ok(res) && !whole) ? 'unknown' : 'fail',
            evidence,
            expected: way.expected,
            impact: sample || why || (ok(res) && !whole) ? null : harmless,
          });
        }
      } catch (err) {
        add({ id: way.id, title: way.title, status: 'unknown', evidence: `${file.fullPath}: ${failed(err)}`, expected: way.expected, impact: null });
      }
    }
  }

  // --- 7. chapter list --------------------------------------------------------------------------
  let chapterPaths: string[] | undefined;
  {
    const expected =
      'GET /api/v2/epub-chapters/?epub_identifier=urn:orm:book:{id}: {count, next, results} with ourn, title, reference_id (or a path at the end of ourn), content_url, virtual_pages';
    if (!bookReadable) add({ id: 'chapters', title: 'chapter list', status: 'unknown', evidence: notTried, expected, impact: null });
    else {
      try {
        const res = await send(`/api/v2/epub-chapters/?epub_identifier=urn:orm:book:${id}`, 'json', { bookId: id });
        const why = inconclusive(res);
        const page = obj(jsonOf(res));
        if (!ok(res) || !Array.isArray(page.results)) {
          add({
            id: 'chapters',
            title: 'chapter list',
            status: why ? 'unknown' : 'fail',
            evidence: `${answerText(res)}${why ? `; ${why}` : ''}`,
            expected,
            impact: why
              ? null
              : 'bookd reads the chapter list for page counts (preview detection) and to rebuild books without a usable package: those books fail; please report',
          });
        } else {
          const raw = arr(page.results).map((r) => obj(r));
          const lacking = CHAPTER_FIELDS.map((k) => [k, raw.filter((c) => !present(c, k)).length] as const).filter(([, n]) => n > 0);
          const noRef = raw.filter((c) => !present(c, 'reference_id'));
          const pathOf = (c: Json) => {
            const ref = str(c.reference_id);
            const at = ref.indexOf(`${id}-/`);
            if (at >= 0) return ref.slice(at + id.length + 2);
            const tail = str(c.ourn).split(':').pop() ?? '';
            try {
              return decodeURIComponent(tail);
            } catch {
              return tail;
            }
          };
          const pathless = raw.filter((c) => !pathOf(c));
          chapterPaths = raw.map(pathOf);
          const facts = [
            `${res.status}, count ${num(page.count)}, ${raw.length} on the first page${str(page.next) ? ' (next given)' : ''}`,
            lacking.length ? lacking.map(([k, n]) => `${n} without ${k}`).join(', ') : `every item has ${CHAPTER_FIELDS.join(', ')}`,
            noRef.length ? `${noRef.length} without reference_id (path from ourn, a reported variant)` : 'every item has reference_id',
            ...(pathless.length ? [`${pathless.length} with no file path in reference_id or ourn`] : []),
          ];
          const differs = lacking.length > 0 || pathless.length > 0 || raw.length === 0;
          add({
            id: 'chapters',
            title: 'chapter list',
            status: differs ? 'fail' : 'pass',
            evidence: facts.join('; '),
            expected,
            impact: differs
              ? `bookd rebuilds books from this list when the package is unusable and checks page counts against it: ${[...lacking.map(([k]) => k as string), ...(pathless.length ? ['file paths'] : [])].join(', ') || 'chapters'} missing weaken both; please report`
              : null,
          });
        }
      } catch (err) {
        add({ id: 'chapters', title: 'chapter list', status: 'unknown', evidence: failed(err), expected, impact: null });
      }
    }
  }

  // --- 8. spine -----------------------------------------------------------------------------------
  {
    const expected = 'GET …/spine/?limit=100: {count, next, results} with reference_id "{id}-/{path}" in reading order (verified live 2026-09)';
    if (!bookReadable) add({ id: 'spine', title: 'spine', status: 'unknown', evidence: notTried, expected, impact: null });
    else {
      try {
        const res = await send(`${epubPath(id)}spine/?limit=100`, 'json', { bookId: id });
        const why = inconclusive(res);
        const page = obj(jsonOf(res));
        if (!ok(res) || !Array.isArray(page.results)) {
          add({
            id: 'spine',
            title: 'spine',
            status: why ? 'unknown' : 'fail',
            evidence: `${answerText(res)}${why ? `; ${why}` : ''}`,
            expected,
            impact: why
              ? null
              : "the reading order comes from the publisher's OPF and the chapter list; nothing changes unless those are missing too; please report",
          });
        } else {
          const refs = arr(page.results).map((r) => str(obj(r).reference_id));
          const prefix = `${id}-/`;
          const bad = refs.filter((r) => !r.startsWith(prefix)).length;
          const paths = refs.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
          const listed = items ? new Set(items.map((f) => f.fullPath)) : undefined;
          const unlisted = listed ? paths.filter((p) => !listed.has(p)).length : 0;
          let order = 'order not compared (no chapter list)';
          let outOfOrder = false;
          if (chapterPaths) {
            const inSpine = new Set(paths);
            const fromChapters = chapterPaths.filter((p) => inSpine.has(p));
            const inChapters = new Set(chapterPaths);
            const fromSpine = paths.filter((p) => inChapters.has(p));
            outOfOrder = fromChapters.join('\n') !== fromSpine.join('\n');
            order = outOfOrder ? 'in another order than the chapter list' : `in the chapter list's order (${fromSpine.length} in both)`;
          }
          const differs = bad > 0 || refs.length === 0 || unlisted > 0 || outOfOrder;
          add({
            id: 'spine',
            title: 'spine',
            status: differs ? 'fail' : 'pass',
            evidence: `${res.status}, ${refs.length} items${bad ? `, ${bad} without a "{id}-/{path}" reference_id` : ', every reference_id "{id}-/{path}"'}${unlisted ? `, ${unlisted} not in the files listing` : ''}; ${order}`,
            expected,
            impact: differs
              ? "the reading order comes from the publisher's OPF and the chapter list, so nothing changes where those are sound; please report"
              : null,
          });
        }
      } catch (err) {
        add({ id: 'spine', title: 'spine', status: 'unknown', evidence: failed(err), expected, impact: null });
      }
    }
  }

  // --- 9. anonymous topic listing -----------------------------------------------------------------
  {
    const expected = 'GET /api/v2/search/?query=*&topics={topic}&formats=book&limit=100&page=0 answers without cookies: {results, total, page, next, previous}';
    if (!topic)
      add({ id: 'anonymous', title: 'topic listing without cookies', status: 'unknown', evidence: 'the book has no topic to list', expected, impact: null });
    else {
      try {
        const res = await anonymous(`/api/v2/search/?query=*&topics=${encodeURIComponent(topic)}&formats=book&limit=100&page=0`, 'json');
        const why = inconclusive(res);
        const page = obj(jsonOf(res));
        const listed = ok(res) && Array.isArray(page.results);
        const missing = ['total', 'page', 'next', 'previous'].filter((k) => !(k in page));
        add({
          id: 'anonymous',
          title: 'topic listing without cookies',
          status: listed ? 'pass' : why ? 'unknown' : 'fail',
          evidence: listed
            ? `${res.status} with no cookie sent, ${arr(page.results).length} results for one of the book's topics, total ${num(page.total)}${missing.length ? `; no ${missing.join(', ')}` : ''}`
            : `${answerText(res)} with no cookie sent${why ? `; ${why}` : ''}`,
          expected,
          impact: listed || why ? null : "the anonymous listing needs cookies: nothing changes, discovery sends a session's",
        });
      } catch (err) {
        add({ id: 'anonymous', title: 'topic listing without cookies', status: 'unknown', evidence: failed(err), expected, impact: null });
      }
    }
  }

  // --- 10. cover --------------------------------------------------------------------------------
  {
    const expected = `${coverPath('{id}')} is the full-resolution cover art (~300 KB), larger than the /library/cover/{id}/ thumbnail (~16 KB)`;
    try {
      const full = await send(coverPath(id), 'image', { bookId: id, maxBytes: MAX_FILE_BYTES });
      const thumb = await send(`/library/cover/${id}/`, 'image', { bookId: id, maxBytes: MAX_FILE_BYTES });
      const why = inconclusive(full) ?? inconclusive(thumb);
      const describe = (r: HttpResponse) => (ok(r) ? `${r.status} ${mediaType(r)} ${kb(r.body.length)}` : answerText(r));
      const larger = ok(full) && ok(thumb) && full.body.length > thumb.body.length;
      add({
        id: 'cover',
        title: 'cover art',
        status: larger ? 'pass' : why ? 'unknown' : 'fail',
        evidence: `/600/: ${describe(full)}; thumbnail: ${describe(thumb)}${why ? `; ${why}` : ''}`,
        expected,
        impact:
          larger || why
            ? null
            : ok(full)
              ? 'bookd asks /600/ for the cover: it is not the larger one, so EPUB covers come out small (nothing else changes)'
              : 'bookd asks /600/ for the cover: without it the EPUB has no cover image (the text is unaffected); please report',
      });
    } catch (err) {
      add({ id: 'cover', title: 'cover art', status: 'unknown', evidence: failed(err), expected, impact: null });
    }
  }

  // --- 11. headers --------------------------------------------------------------------------------
  {
    const expected = "the content origin's API answers carry Server: istio-envoy; the edge's refusals come from AkamaiGHost";
    const servers = [...log.servers].map(([v, n]) => `${v} ×${n}`).join(', ');
    const evidence = `Server: ${servers || 'none'}; Set-Cookie names: ${[...log.cookies].sort().join(', ') || 'none'}; header names: ${[...log.names].sort().join(', ')}`;
    const status: CheckStatus = log.apiAnswers === 0 ? 'unknown' : log.apiIstio === log.apiAnswers ? 'pass' : 'fail';
    add({
      id: 'headers',
      title: 'response headers',
      status,
      evidence,
      expected,
      impact:
        status === 'fail'
          ? `API answers with Server ${[...log.apiServers].join(', ')}: bookd tells the edge's refusals from the origin's by Server AkamaiGHost or an "Access Denied" page, and nothing else reads it, so nothing changes unless such a server answers 403; please report the values`
          : null,
    });
  }

  // A sample while the service throttles this machine is what its bulk-access guard answers
  // (docs/SERVICE.md §3): that says nothing about download=false, so the run could not tell.
  const whole = checks.find((c) => c.id === 'file-whole');
  if (throttled && whole?.status === 'fail' && whole.evidence.includes('(a sample)')) {
    whole.status = 'unknown';
    whole.evidence +=
      "; other requests of this run were throttled, so this may be the service's bulk-access guard: wait and run bookd doctor again at the default --interval";
    whole.impact = null;
  }

  return { book: id, requests: input.io.requests(), checks };
}

/** The lines of the summary: one per difference, saying what changes in bookd's behaviour. */
export function summaryLines(checks: readonly CheckResult[]): string[] {
  const out: string[] = [];
  for (const c of checks) if (c.status === 'fail') out.push(`${c.title}: ${c.impact ?? 'differs from what bookd expects (docs/SERVICE.md); please report'}`);
  // Checks that could not tell for one reason (those that need the book's metadata) share a line.
  const unknown = new Map<string, string[]>();
  for (const c of checks) if (c.status === 'unknown') unknown.set(c.evidence, [...(unknown.get(c.evidence) ?? []), c.title]);
  for (const [evidence, titles] of unknown) out.push(`${titles.join(', ')}: could not tell: ${evidence}`);
  if (out.length === 0) out.push('nothing differs from what bookd expects of the service: it should work as it is');
  return out;
}
