import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import { isLoopbackHost, type Config } from '../config.js';
import type { EventBus } from '../daemon/events.js';
import type { Store } from '../db/store.js';
import { apiGet, answerPost, type ApiDeps } from './api.js';
import { APP_CSS, APP_JS } from './assets.js';
import { webAuth, type Principal } from './auth.js';
import { daysChart, hoursChart } from './charts.js';
import { crossSiteReason, hostAllowed } from './guard.js';
import { setSecurityHeaders } from './headers.js';
import { searchLibrary } from './library-search.js';
import { readLive, type LiveData } from './live.js';
import { paceMeter } from './pace.js';
import { LIVE_SECTIONS, renderError, renderLogin, renderPage, renderSection, type RenderContext } from './page.js';
import { failureLimiter } from './rate-limit.js';
import { readBody, redirect, remoteAddress, sendHtml, sendJson, sendText, WebError, type Body } from './respond.js';
import type { Route } from './route.js';
import { liveHub } from './sse.js';

export interface WebDeps {
  store: Store;
  clock: Clock;
  config: Pick<Config, 'tuning' | 'expiryWarningMs' | 'httpToken'>;
  /** The daemon's events (job changes, books archived): pushed to the page as they come. */
  events: EventBus;
  /** The address the server listens on: off loopback, /metrics needs the token too. */
  boundHost: string;
  /** /metrics. */
  metrics: Route;
  /** /healthz and /readyz: always open, they reveal nothing. */
  health: Route;
  /** Requests this daemon has sent to the service so far (for requests per second). */
  requests: () => number;
  /**
   * More of the HTTP surface (the library's files, OPDS), tried in order after the token, Host,
   * Origin and CSRF checks passed and none of the page's own paths matched.
   */
  routes: readonly Route[];
  onError: (err: unknown) => void;
}

export interface WebServer {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

/** What a live section holds, with the counts the script (and tests) read without parsing HTML. */
function snapshotPayload(d: LiveData, ctx: RenderContext) {
  return {
    at: d.now,
    jobs: d.status.jobs,
    paused: d.status.paused,
    html: Object.fromEntries(LIVE_SECTIONS.map((s) => [s, renderSection(s, d, ctx)])),
  };
}

const isApi = (path: string) => path === '/api' || path.startsWith('/api/');

/**
 * The daemon's web surface on its --http address: the page, its JSON API and event stream, the
 * charts, /metrics and health, and the routes mounted by others. Every request is checked here, in
 * this order, before any route sees it: method; health (open); Host (without a token: loopback
 * names only); the token (Bearer, Basic or the login cookie, rate-limited per address); for a
 * POST, Origin and the CSRF token.
 */
export function webServer(deps: WebDeps): WebServer {
  const { store, clock, config } = deps;
  const auth = webAuth(config.httpToken);
  const limiter = failureLimiter(clock, config.tuning.web.loginFailures, config.tuning.web.loginWindowMs);
  const metricsOpen = isLoopbackHost(deps.boundHost);
  const pace = paceMeter({ store, clock, requests: deps.requests, window: config.tuning.status });
  const live = () => readLive(store, clock, config, () => pace.read());
  const hub = liveHub<LiveData, RenderContext>({
    events: deps.events,
    everyMs: config.tuning.web.snapshotEveryMs,
    maxStreams: config.tuning.web.maxEventStreams,
    read: live,
    render: snapshotPayload,
    onError: deps.onError,
  });
  const api: ApiDeps = { store, clock, config, changed: () => hub.changed() };
  const ctxOf = (req: IncomingMessage, principal: Principal): RenderContext => ({
    csrf: auth.csrfFor(req, principal),
    loggedIn: auth.required && principal === 'cookie',
  });

  const tooMany = (res: ServerResponse, path: string, waitMs: number) => {
    res.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
    const message = `too many wrong tokens from this address; try again in ${Math.ceil(waitMs / 1000)} s`;
    if (isApi(path) || path !== '/login') sendJson(res, 429, { error: message });
    else sendHtml(res, 429, renderLogin(message));
  };

  const unauthorized = (res: ServerResponse, path: string, method: string) => {
    if (isApi(path)) {
      res.setHeader('www-authenticate', 'Bearer realm="bookd"');
      return sendJson(res, 401, { error: 'this needs the token: send Authorization: Bearer TOKEN' });
    }
    // The page sends a browser to the login form (a document answered 401 is an error in its console).
    if (path === '/' && method !== 'POST') return redirect(res, '/login');
    // /metrics, OPDS, the library's files: clients that speak HTTP Basic (any user name, the token as password).
    res.setHeader('www-authenticate', 'Basic realm="bookd", charset="UTF-8"');
    sendText(res, 401, 'this needs the token (HTTP Basic: any user name, the token as the password; or Authorization: Bearer TOKEN)\n');
  };

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return auth.required ? sendHtml(res, 200, renderLogin(undefined)) : redirect(res, '/');
    const refused = crossSiteReason(req, true);
    if (refused) return sendHtml(res, 403, renderLogin(refused));
    const address = remoteAddress(req);
    const wait = limiter.blockedFor(address);
    if (wait > 0) return tooMany(res, '/login', wait);
    const body = await readBody(req, config.tuning.web.maxBodyBytes);
    const token = typeof body.fields.token === 'string' ? body.fields.token : '';
    if (!auth.required) return redirect(res, '/');
    if (!auth.tokenMatches(token)) {
      limiter.fail(address);
      return sendHtml(res, 401, renderLogin('That is not the token.'));
    }
    limiter.succeed(address);
    res.setHeader('set-cookie', auth.loginCookie());
    redirect(res, '/');
  }

  async function page(req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal): Promise<void> {
    const q = (url.searchParams.get('q') ?? '').slice(0, 500);
    const note = url.searchParams.get('note')?.slice(0, 300);
    const books = await store.books.list();
    const html = renderPage({
      live: await live(),
      ctx: ctxOf(req, principal),
      q,
      hits: searchLibrary(books, q),
      libraryTotal: books.length,
      ...(note && { note }),
    });
    sendHtml(res, 200, html);
  }

  async function post(req: IncomingMessage, res: ServerResponse, path: string, principal: Principal): Promise<void> {
    let body: Body;
    try {
      body = await readBody(req, config.tuning.web.maxBodyBytes);
    } catch (err) {
      if (err instanceof WebError) return sendJson(res, err.status, { error: err.message });
      throw err;
    }
    const presented = (typeof body.fields._csrf === 'string' ? body.fields._csrf : undefined) ?? headerValue(req, 'x-csrf-token');
    const refused = crossSiteReason(req, auth.csrfMatches(req, principal, presented));
    if (refused) return body.form ? sendHtml(res, 403, renderError(refused)) : sendJson(res, 403, { error: refused });
    if (path === '/logout') {
      res.setHeader('set-cookie', auth.logoutCookie());
      return redirect(res, auth.required ? '/login' : '/');
    }
    if (!isApi(path)) return sendJson(res, 404, { error: `nothing to POST to at ${path}` });
    const { _csrf: _ignored, ...fields } = body.fields;
    await answerPost(api, res, path, { form: body.form, fields });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://bookd.invalid');
    } catch {
      return sendText(res, 400, 'bad request target\n');
    }
    const path = url.pathname;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return sendText(res, 405, 'method not allowed\n');
    if (method !== 'POST' && (await deps.health(req, res, url))) return;
    if (!hostAllowed(req, deps.boundHost, auth.required)) {
      return sendText(res, 421, `this daemon answers only to its loopback address (Host ${JSON.stringify(req.headers.host ?? '')} refused)\n`);
    }
    if (method !== 'POST' && path === '/assets/app.css') return sendText(res, 200, APP_CSS, 'text/css; charset=utf-8');
    if (method !== 'POST' && path === '/assets/app.js') return sendText(res, 200, APP_JS, 'text/javascript; charset=utf-8');
    if (path === '/login') return login(req, res);
    if (metricsOpen && method !== 'POST' && path === '/metrics' && (await deps.metrics(req, res, url))) return;

    const address = remoteAddress(req);
    const presentsToken = req.headers.authorization !== undefined;
    if (auth.required && presentsToken) {
      const wait = limiter.blockedFor(address);
      if (wait > 0) return tooMany(res, path, wait);
    }
    const who = auth.check(req);
    if (!who.ok) {
      if (who.presented) limiter.fail(address);
      return unauthorized(res, path, method);
    }
    if (presentsToken) limiter.succeed(address);
    const principal = who.principal;

    if (method === 'POST') return post(req, res, path, principal);
    if (path === '/') return page(req, res, url, principal);
    if (path === '/metrics' && (await deps.metrics(req, res, url))) return;
    if (path === '/charts/hours.svg' || path === '/charts/days.svg') {
      const times = (await store.books.list()).map((b) => b.archivedAt);
      const now = clock.now();
      return sendText(res, 200, path === '/charts/hours.svg' ? hoursChart(times, now) : daysChart(times, now), 'image/svg+xml; charset=utf-8');
    }
    if (path === '/api/events' && method === 'GET') return hub.open(req, res, ctxOf(req, principal));
    if (path === '/api/csrf') return sendJson(res, 200, { csrf: auth.csrfFor(req, principal) });
    if (isApi(path)) {
      try {
        return sendJson(res, 200, await apiGet(api, path, url));
      } catch (err) {
        if (err instanceof WebError) return sendJson(res, err.status, { error: err.message });
        throw err;
      }
    }
    for (const r of deps.routes) if (await r(req, res, url)) return;
    sendText(res, 404, 'not found: try /, /api/status, /metrics, /healthz or /readyz\n');
  }

  return {
    handle(req, res) {
      route(req, res).catch((err: unknown) => {
        deps.onError(err);
        if (!res.headersSent) sendJson(res, err instanceof WebError ? err.status : 500, { error: err instanceof WebError ? err.message : 'internal error' });
        else res.destroy();
      });
    },
    close: () => hub.close(),
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
