/**
 * The headers a browser sends with each kind of request (docs/SERVICE.md §4: every live client
 * that works sends a browser's headers; one that names itself is what bot scoring looks for).
 * The session adds its User-Agent and Accept-Language; the caller says what kind of request it
 * makes and for which book, so the Referer and the `sec-fetch-*` headers fit it.
 */
export type RequestKind =
  /** A page load the user started (the profile probe). */
  | 'document'
  /** The web app's XHR for JSON. */
  | 'json'
  /** The reader's XHR for a chapter's (X)HTML. */
  | 'html'
  | 'image'
  | 'style'
  | 'font'
  | 'other';

const ACCEPT: Record<RequestKind, string> = {
  document: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  json: 'application/json',
  // The exact Accept the 2026-09 client verified: with any other the service sends a sample.
  html: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  image: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  style: 'text/css,*/*;q=0.1',
  font: '*/*',
  other: '*/*',
};

const FETCH: Record<RequestKind, { dest: string; mode: string }> = {
  document: { dest: 'document', mode: 'navigate' },
  json: { dest: 'empty', mode: 'cors' },
  html: { dest: 'empty', mode: 'cors' },
  image: { dest: 'image', mode: 'no-cors' },
  style: { dest: 'style', mode: 'no-cors' },
  font: { dest: 'font', mode: 'cors' },
  other: { dest: 'empty', mode: 'cors' },
};

/** The reader page a book's requests come from (docs/SERVICE.md §4). */
export function bookReferer(baseUrl: string, bookId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/library/view/-/${bookId}/`;
}

/**
 * Request headers for one request of `kind`. `site` is how the target relates to the page the
 * request comes from: the service's own origin, or its auth origin on another subdomain.
 */
export function browserHeaders(kind: RequestKind, opts: { referer?: string; site?: 'same-origin' | 'same-site' } = {}): Record<string, string> {
  const f = FETCH[kind];
  const headers: Record<string, string> = {
    accept: ACCEPT[kind],
    'sec-fetch-dest': f.dest,
    'sec-fetch-mode': f.mode,
    'sec-fetch-site': kind === 'document' && !opts.referer ? 'none' : (opts.site ?? 'same-origin'),
  };
  if (kind === 'document') headers['sec-fetch-user'] = '?1';
  if (opts.referer) headers.referer = opts.referer;
  return headers;
}

/** What kind of request fetching a package file is, from its listed media type or name. */
export function fileKind(mediaType: string, path: string): RequestKind {
  const t = mediaType.toLowerCase();
  if (/html/.test(t) || /\.x?html?$/i.test(path)) return 'html';
  if (t.startsWith('image/') || /\.(png|jpe?g|gif|svg|webp|avif)$/i.test(path)) return 'image';
  if (t === 'text/css' || /\.css$/i.test(path)) return 'style';
  if (t.startsWith('font/') || /woff2?|opentype|truetype|font/.test(t) || /\.(woff2?|otf|ttf)$/i.test(path)) return 'font';
  return 'other';
}
