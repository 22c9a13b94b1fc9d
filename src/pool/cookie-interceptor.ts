import { DecoratorHandler, type Dispatcher } from 'undici';
import { Cookie, type CookieJar } from 'tough-cookie';
import { dedupeByName } from './jar.js';

// Some Set-Cookie lines carry `Max-Age=1209600.0`; RFC 6265 parsers ignore a fractional max-age and
// the refresh token then silently becomes a session cookie. Read it as the whole seconds it means.
const FRACTIONAL_MAX_AGE = /(;\s*max-age\s*=\s*-?\d+)\.\d+/i;

export interface CookieLayerOptions {
  jar: CookieJar;
  /** Called synchronously after a response changed the jar, before the response is handed on. */
  onChange: () => void;
}

function originUrl(opts: Dispatcher.DispatchOptions): string {
  return new URL(opts.path, typeof opts.origin === 'string' ? opts.origin : opts.origin?.toString()).toString();
}

type Handler = Dispatcher.DispatchHandler;
// DecoratorHandler adapts whatever handler style the caller used (undici's request() still uses the
// older callbacks) to the controller-based API; its published types only describe the old one.
interface Decorated {
  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void;
}
const Decorator = DecoratorHandler as unknown as new (handler: Handler) => Decorated;

class CookieHandler extends Decorator {
  constructor(
    handler: Handler,
    private readonly url: string,
    private readonly layer: CookieLayerOptions,
  ) {
    super(handler);
  }

  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    const raw = headers['set-cookie'];
    const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    if (lines.length > 0) {
      const fresh: Cookie[] = [];
      for (const line of firstPerCookie(lines, this.url)) {
        const cookie = this.layer.jar.setCookieSync(line, this.url, { ignoreError: true });
        if (cookie) fresh.push(cookie);
      }
      dedupeByName(this.layer.jar, this.url, fresh);
      this.layer.onChange();
    }
    return super.onResponseStart(controller, statusCode, headers, statusMessage);
  }
}

/**
 * The lines of one response that set cookies, the first per (name, domain, path) only: the live
 * service has been seen to send two lines of one name on login and to expect the first to be
 * kept (docs/SERVICE.md §1), while a jar would keep the last.
 */
export function firstPerCookie(lines: readonly string[], url: string): string[] {
  const host = new URL(url).hostname;
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(FRACTIONAL_MAX_AGE, '$1');
    const c = Cookie.parse(line);
    if (!c) continue;
    const id = `${c.key}\u0000${(c.domain ?? host).replace(/^\./, '').toLowerCase()}\u0000${c.path ?? ''}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(line);
  }
  return out;
}

/**
 * An undici interceptor that sends the jar's cookies and stores what comes back. It sits innermost,
 * next to the Agent, so every response of every hop passes through it.
 */
export function cookieLayer(layer: CookieLayerOptions): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const url = originUrl(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((opts.headers ?? {}) as Record<string, string>)) {
      if (k.toLowerCase() !== 'cookie') headers[k] = v;
    }
    const cookies = layer.jar.getCookiesSync(url);
    const seen = new Set<string>();
    const pairs: string[] = [];
    for (const c of cookies) {
      if (seen.has(c.key)) continue;
      seen.add(c.key);
      pairs.push(c.cookieString());
    }
    if (pairs.length > 0) headers.cookie = pairs.join('; ');
    return dispatch({ ...opts, headers }, new CookieHandler(handler, url, layer));
  };
}
