/** What `GET /__sim/stats` returns; tests assert on these counters. */
export interface SimStats {
  requests: { total: number; bySession: Record<string, number>; byEndpoint: Record<string, number> };
  /** Requests whose `orm-jwt` was superseded (beyond the grace) or expired. */
  staleTokenHits: number;
  /** The expired part of `staleTokenHits`. */
  expiredTokenHits: number;
  /** Requests for authenticated content with no (or an unsigned) `orm-jwt`. */
  missingTokenHits: number;
  previewsServed: number;
  sent: { '401': number; '403': number; '429': number; '5xx': number };
  /** Most requests of one session in flight at once. More than 1 means a jar was shared. */
  maxConcurrency: Record<string, number>;
  /** Full downloads per book id (see README: every chapter, or every package file, served whole). */
  downloads: Record<string, number>;
  logins: number;
  refreshes: number;
  rotations: number;
  faults: { fail: number; reset: number; stall: number; short: number };
  /** ~2 KB samples of (X)HTML files, for the file gate and the bulk-access guard alike. */
  samplesServed: number;
  /** What the per-IP bulk-access guard answered instead of the request: samples, and origin 403s. */
  guard: { samples: number; forbidden: number };
  /** New `orm-jwt`s handed out by `GET /api/v1/auth/openid/token/`. */
  tokenRefreshes: number;
  /** Requests whose `User-Agent` does not start with `Mozilla/5.0` (served all the same). */
  nonBrowserRequests: number;
  /** 404s given to a valid `orm-jwt` that came without `groot_sessionid`. */
  partialCookieHits: number;
  /** Redirects of the SSO profile chain (`/profile/` → `/profile/sso/` → `/u/{sub}/`) to logged-in sessions. */
  profileRedirects: number;
}

export const ANON = 'anon';

export class StatsCollector {
  private s: SimStats = StatsCollector.empty();
  private readonly inFlight = new Map<string, number>();

  static empty(): SimStats {
    return {
      requests: { total: 0, bySession: {}, byEndpoint: {} },
      staleTokenHits: 0,
      expiredTokenHits: 0,
      missingTokenHits: 0,
      previewsServed: 0,
      sent: { '401': 0, '403': 0, '429': 0, '5xx': 0 },
      maxConcurrency: {},
      downloads: {},
      logins: 0,
      refreshes: 0,
      rotations: 0,
      faults: { fail: 0, reset: 0, stall: 0, short: 0 },
      samplesServed: 0,
      guard: { samples: 0, forbidden: 0 },
      tokenRefreshes: 0,
      nonBrowserRequests: 0,
      partialCookieHits: 0,
      profileRedirects: 0,
    };
  }

  /** Counts a request and marks it in flight; call the returned function once it is over. */
  begin(sid: string, endpoint: string): () => void {
    const s = this.s;
    s.requests.total++;
    s.requests.bySession[sid] = (s.requests.bySession[sid] ?? 0) + 1;
    s.requests.byEndpoint[endpoint] = (s.requests.byEndpoint[endpoint] ?? 0) + 1;
    const now = (this.inFlight.get(sid) ?? 0) + 1;
    this.inFlight.set(sid, now);
    if (now > (s.maxConcurrency[sid] ?? 0)) s.maxConcurrency[sid] = now;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.inFlight.get(sid) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(sid);
      else this.inFlight.set(sid, left);
    };
  }

  status(code: number): void {
    if (code === 401) this.s.sent['401']++;
    else if (code === 403) this.s.sent['403']++;
    else if (code === 429) this.s.sent['429']++;
    else if (code >= 500) this.s.sent['5xx']++;
  }

  token(state: 'stale' | 'expired' | 'missing'): void {
    if (state === 'missing') this.s.missingTokenHits++;
    else {
      this.s.staleTokenHits++;
      if (state === 'expired') this.s.expiredTokenHits++;
    }
  }

  preview(): void {
    this.s.previewsServed++;
  }

  download(bookId: string): void {
    this.s.downloads[bookId] = (this.s.downloads[bookId] ?? 0) + 1;
  }

  login(): void {
    this.s.logins++;
  }

  refresh(): void {
    this.s.refreshes++;
  }

  rotation(): void {
    this.s.rotations++;
  }

  fault(kind: keyof SimStats['faults']): void {
    this.s.faults[kind]++;
  }

  /** A sample went out; `byGuard` when the bulk-access guard, not the file gate, asked for it. */
  sample(byGuard: boolean): void {
    this.s.samplesServed++;
    if (byGuard) this.s.guard.samples++;
  }

  guardForbidden(): void {
    this.s.guard.forbidden++;
  }

  tokenRefresh(): void {
    this.s.tokenRefreshes++;
  }

  nonBrowser(): void {
    this.s.nonBrowserRequests++;
  }

  partialCookies(): void {
    this.s.partialCookieHits++;
  }

  profileRedirect(): void {
    this.s.profileRedirects++;
  }

  snapshot(): SimStats {
    return structuredClone(this.s);
  }

  /** Zeroes every counter; requests still in flight keep counting toward concurrency. */
  reset(): void {
    this.s = StatsCollector.empty();
    for (const [sid, n] of this.inFlight) this.s.maxConcurrency[sid] = n;
  }
}

/**
 * Tracks which distinct files of a book were served whole. A book counts one full download when
 * they cover every chapter (chapter API) or every required package file (files API); both
 * covered sets then start again.
 */
export class DownloadTracker {
  private readonly books = new Map<string, { chapters: Set<string>; files: Set<string> }>();

  served(bookId: string, mode: 'chapter' | 'file', path: string, need: { chapters: ReadonlySet<string>; files: ReadonlySet<string> }): boolean {
    const required = mode === 'chapter' ? need.chapters : need.files;
    if (!required.has(path)) return false;
    let entry = this.books.get(bookId);
    if (!entry) {
      entry = { chapters: new Set(), files: new Set() };
      this.books.set(bookId, entry);
    }
    const set = mode === 'chapter' ? entry.chapters : entry.files;
    set.add(path);
    const full = set.size === required.size;
    if (full) this.books.delete(bookId);
    return full;
  }

  reset(): void {
    this.books.clear();
  }
}
