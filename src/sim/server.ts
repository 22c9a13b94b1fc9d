import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import { jwtSetCookie, makeAccounts, pageSetCookies, refreshSetCookie, TokenChains } from './auth.js';
import { addBook, generateCatalogue, GrowError, growBook, type Catalogue, type GrownBook } from './catalogue.js';
import { ContentCache } from './content-cache.js';
import { applyBehaviour, ControlError, parseControl, type ControlPatch } from './control.js';
import { parseCookieHeader } from './cookies.js';
import { failure, pickFault } from './faults.js';
import { secretFor } from './jwt.js';
import { Limits } from './limits.js';
import { mintAccount, mintSession } from './mint.js';
import { behaviourOf, catalogueOptionsOf, resolveOptions, type Behaviour, type SimOptions } from './options.js';
import { planBook } from './package.js';
import { Random } from './random.js';
import { guardForbidden, isGuarded, json, methodNotAllowed, NOT_FOUND_OLD, routeOf, type RequestContext, type SimState } from './routes.js';
import { send, type Reply } from './send.js';
import { ANON, DownloadTracker, StatsCollector, type SimStats } from './stats.js';

export interface MintOptions {
  /** Sessions of the lapsed account (`expired@sim.test`). */
  expired?: boolean;
}

/** What a control patch did besides changing behaviour. */
export interface ControlAnswer {
  /** `addBook`: the new book's id. */
  addedBook?: string;
  /** `growBook`: the book's new chapter count and date. */
  grownBook?: GrownBook;
}

export interface SimServer {
  /** e.g. `http://127.0.0.1:8765` */
  url: string;
  catalogue: Catalogue;
  stats(): SimStats;
  resetStats(): void;
  /** Changes behaviour at run time (`addBook` and `growBook` say what they did); throws ControlError on a bad patch. */
  control(patch: ControlPatch): ControlAnswer;
  behaviour(): Behaviour;
  /** New independent sessions `m1`, `m2`, … as flat `{name: value}` cookie sets. */
  mint(count: number, opts?: MintOptions): Record<string, string>[];
  /** Stops listening and closes every connection (keep-alive, stalled and endless ones too). */
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function edgeDenied(host: string, path: string, rng: Random): Reply {
  const enc = (s: string) => s.replace(/[^A-Za-z0-9]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const body = `<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \nYou don't have permission to access "${enc(`http://${host}${path}`)}" on this server.<P>\nReference&#32;&#35;18&#46;${rng.hex(8)}&#46;${rng.int(1_600_000_000, 1_800_000_000)}&#46;${rng.hex(8)}\n</BODY>\n</HTML>\n`;
  return { status: 403, headers: { server: 'AkamaiGHost', 'mime-version': '1.0', 'content-type': 'text/html' }, body: Buffer.from(body) };
}

function throttled(retryAfter: number): Reply {
  return json(429, { detail: `Request was throttled. Expected available in ${retryAfter} seconds.` }, { 'retry-after': String(retryAfter) });
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= MAX_BODY) parts.push(d);
    });
    req.on('end', () => resolve(size <= MAX_BODY ? Buffer.concat(parts) : undefined));
    req.on('error', () => resolve(undefined));
  });
}

function jsonBody(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(data.length) });
  res.end(data);
}

/** Starts the simulated library (docs/SERVICE.md §5) on `host:port` (port 0 picks a free one). */
export async function startSim(partial: Partial<SimOptions> = {}): Promise<SimServer> {
  const options = resolveOptions(partial);
  const catalogue = generateCatalogue(catalogueOptionsOf(options));
  const baseClock = options.clock ?? systemClock;
  let offset = 0;
  const clock: Clock = { now: () => baseClock.now() + offset, sleep: (ms, signal) => baseClock.sleep(ms, signal) };
  const behaviour: Behaviour = behaviourOf(options);
  const chains = new TokenChains(secretFor(options.seed), clock, behaviour);
  const stats = new StatsCollector();
  const downloads = new DownloadTracker();
  const limits = new Limits(behaviour);
  const faultRng = new Random('faults', options.seed);
  const paceRng = new Random('latency', options.seed);
  const edgeRng = new Random('edge', options.seed);
  let minted = 0;
  let logins = 0;

  const state: SimState = {
    catalogue,
    behaviour,
    chains,
    accounts: makeAccounts(options.accounts),
    stats,
    downloads,
    books: new ContentCache(catalogue),
    seed: options.seed,
    nextLoginSid: () => {
      do logins++;
      while (chains.has(`l${logins}`));
      return `l${logins}`;
    },
  };

  const mint = (count: number, opts: MintOptions = {}): Record<string, string>[] => {
    const out: Record<string, string>[] = [];
    for (let i = 0; i < count; i++) {
      do minted++;
      while (chains.has(`m${minted}`));
      out.push(mintSession(chains, options.seed, `m${minted}`, mintAccount(state.accounts, minted, opts.expired === true)));
    }
    return out;
  };

  /** A browser's way in (README.md, Introspection): one minted session, its cookies set by the answer. */
  const loginPage = (res: ServerResponse, expired: boolean): void => {
    const [cookies] = mint(1, { expired }) as [Record<string, string>];
    const body = Buffer.from(
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>bookd sim: logged in</title></head>` +
        `<body><p>Logged in to the simulator as session m${minted}: ${Object.keys(cookies).length} cookies set.</p></body></html>\n`,
    );
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(body.length),
      'cache-control': 'no-store',
      'set-cookie': pageSetCookies(cookies, behaviour.tokenTtlSec),
    });
    res.end(body);
  };

  let catalogueJson: Buffer | undefined;
  const introspect = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> => {
    const route = `${req.method} ${path.replace(/\/$/, '')}`;
    try {
      if (route === 'GET /__sim/login-page') return loginPage(res, query.get('expired') === '1');
      if (route === 'GET /__sim/stats') return jsonBody(res, 200, stats.snapshot());
      if (route === 'POST /__sim/reset-stats') {
        stats.reset();
        downloads.reset();
        return jsonBody(res, 200, { ok: true });
      }
      if (route === 'GET /__sim/catalogue') {
        catalogueJson ??= Buffer.from(
          JSON.stringify({
            seed: catalogue.options.seed,
            options: catalogue.options,
            skills: catalogue.skills,
            books: catalogue.books.map((b) => {
              const plan = b.format === 'book' ? planBook(catalogue, b) : undefined;
              return { ...b, files: plan ? plan.files.length : 0, specialFile: plan?.specialFile };
            }),
            collections: catalogue.collections,
          }),
        );
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(catalogueJson.length) });
        res.end(catalogueJson);
        return;
      }
      if (route === 'GET /__sim/control') return jsonBody(res, 200, behaviour);
      if (route === 'POST /__sim/control' || route === 'POST /__sim/mint') {
        const raw = await readBody(req);
        let body: unknown;
        try {
          body = JSON.parse(raw?.toString('utf8') || '{}');
        } catch {
          return jsonBody(res, 400, { detail: 'the body must be JSON' });
        }
        if (route === 'POST /__sim/control') {
          // Applied first: the answer shows the behaviour as the patch left it.
          const answer = control(body as ControlPatch);
          return jsonBody(res, 200, { ...behaviour, ...answer });
        }
        const { count, expired } = (body ?? {}) as { count?: unknown; expired?: unknown };
        if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > 10_000) {
          return jsonBody(res, 400, { detail: 'count must be a whole number from 1 to 10000' });
        }
        return jsonBody(res, 200, mint(count, { expired: expired === true }));
      }
      return jsonBody(res, 404, { detail: `no simulator endpoint ${route}` });
    } catch (err) {
      if (err instanceof ControlError) return jsonBody(res, 400, { detail: err.message });
      throw err;
    }
  };

  const control = (raw: ControlPatch): ControlAnswer => {
    const patch = parseControl(raw);
    const answer: ControlAnswer = {};
    if (patch.growBook) {
      try {
        answer.grownBook = growBook(catalogue, patch.growBook.id, patch.growBook.chapters);
      } catch (err) {
        if (err instanceof GrowError) throw new ControlError(err.message);
        throw err;
      }
      // Its chapters, package, page count and date are made again from the grown book.
      state.books.forget(patch.growBook.id);
      catalogueJson = undefined;
    }
    if (patch.addBook) {
      answer.addedBook = addBook(catalogue, patch.addBook.skill).id;
      catalogueJson = undefined;
    }
    applyBehaviour(behaviour, patch);
    if (patch.advanceClockMs) offset += patch.advanceClockMs;
    if (patch.edgeBlockMs !== undefined) limits.blockEdge(clock.now(), patch.edgeBlockMs);
    if (patch.storm) limits.storm(clock.now(), patch.storm.sessions, patch.storm.ms);
    for (const sid of patch.revoke ?? []) chains.revoke(sid);
    return answer;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: string): Promise<void> => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (path.startsWith('/__sim/')) return introspect(req, res, path, query);
    const host = req.headers.host && /^[A-Za-z0-9.\-:[\]]+$/.test(req.headers.host) ? req.headers.host : new URL(url).host;
    const cookies = parseCookieHeader(req.headers.cookie);
    const sid = chains.sessionOf(cookies.get('orm-jwt'), cookies.get('orm-rt'));
    const routed = routeOf(path, query);
    const done = stats.begin(sid ?? ANON, routed.endpoint);
    res.once('close', done);

    const ua = req.headers['user-agent'];
    if (typeof ua !== 'string' || !ua.startsWith('Mozilla/5.0')) stats.nonBrowser();
    const accept = req.headers.accept;
    const ctx: RequestContext = { method: req.method ?? 'GET', query, base: `http://${host}`, cookies, setCookies: [], accept };
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    let reply: Reply;
    let fault = pickFault(faultRng, behaviour);
    const ip = req.socket.remoteAddress ?? 'unknown';
    let verdict = limits.check(sid, clock.now(), isGuarded(path) ? ip : undefined);
    // The guard answers (X)HTML files with a sample: the file handler makes it, after authentication.
    const toSample =
      !verdict.ok && verdict.kind === 'guard' && (routed.endpoint === 'file' || routed.endpoint === 'chapter-content') && routed.route?.method === method;
    if (toSample) {
      ctx.throttled = true;
      verdict = { ok: true };
    }
    if (!verdict.ok) {
      fault = 'none';
      reply = verdict.kind === 'edge' ? edgeDenied(host, path, edgeRng) : verdict.kind === 'guard' ? guardForbidden(state) : throttled(verdict.retryAfter);
    } else if (ctx.throttled) {
      fault = 'none';
      reply = await routed.route!.handle(state, ctx, routed.match!);
    } else if (fault === 'fail') {
      stats.fault('fail');
      const f = failure(faultRng);
      reply = { status: f.status, headers: { 'content-type': f.type, server: 'istio-envoy' }, body: Buffer.from(f.body) };
    } else if (!routed.route || !routed.match) {
      reply = NOT_FOUND_OLD();
    } else if (routed.route.method !== method) {
      reply = methodNotAllowed(ctx.method);
    } else {
      if (method === 'POST') {
        const body = await readBody(req);
        if (body === undefined) {
          reply = json(413, { detail: 'Request body too large.' });
        } else {
          ctx.body = body;
          reply = await routed.route.handle(state, ctx, routed.match);
        }
      } else {
        reply = await routed.route.handle(state, ctx, routed.match);
      }
    }

    // The token moves on the moment an authenticated request is answered with success, before any
    // latency: a second request that carries the old token and arrives meanwhile is stale.
    if (ctx.authSid && reply.status >= 200 && reply.status < 300) {
      const next = chains.rotateIfDue(ctx.authSid);
      if (next) {
        stats.rotation();
        ctx.setCookies.push(jwtSetCookie(next, behaviour.tokenTtlSec));
        const gen = chains.generation(ctx.authSid) ?? 0;
        const rt = cookies.get('orm-rt');
        if (gen % 5 === 0 && rt) ctx.setCookies.push(refreshSetCookie(rt));
      }
    }
    if (ctx.setCookies.length > 0) {
      const existing = reply.headers['set-cookie'];
      reply.headers['set-cookie'] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), ...ctx.setCookies];
    }
    stats.status(reply.status);
    if (fault !== 'none' && fault !== 'fail') {
      if (!Buffer.isBuffer(reply.body)) fault = 'none';
      else {
        stats.fault(fault);
        reply.onFull = undefined;
      }
    }

    // Delays emulate the network, so they run on real timers even when a test drives the clock.
    const delay = behaviour.latencyMs + (behaviour.jitterMs > 0 ? paceRng.next() * behaviour.jitterMs : 0);
    if (delay > 0) await systemClock.sleep(delay);
    if (res.destroyed) return;
    options.logger?.debug({ method: ctx.method, path, status: reply.status, session: sid ?? ANON, endpoint: routed.endpoint, fault }, 'sim request');
    await send(req, res, reply, { fault: fault === 'fail' ? 'none' : fault, bandwidthKbps: behaviour.bandwidthKbps, sleep: (ms) => systemClock.sleep(ms) });
  };

  let baseUrl = '';
  const server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    handle(req, res, baseUrl).catch((err: unknown) => {
      options.logger?.error({ err, path: req.url }, 'sim request failed');
      if (!res.headersSent && !res.destroyed) jsonBody(res, 500, { detail: 'simulator error' });
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  baseUrl = `http://${host}:${addr.port}`;

  return {
    url: baseUrl,
    catalogue,
    stats: () => stats.snapshot(),
    resetStats: () => {
      stats.reset();
      downloads.reset();
    },
    control,
    behaviour: () => structuredClone(behaviour),
    mint,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
