import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import { systemClock } from '../clock.js';
import { BookdError } from '../errors.js';
import { silentLogger } from '../log.js';
import { EdgeGate } from '../pool/edge-gate.js';
import { jarFromImport } from '../pool/jar.js';
import { Pacer } from '../pool/pacer.js';
import { Session } from '../pool/session.js';
import { DEFAULT_TUNING } from '../config.js';

/**
 * A profile page whose shape each test picks: the live variants of docs/SERVICE.md §2 (redirects
 * for working SSO sessions, no user_type) and the classic one.
 */
let mode = 'classic';
let metadataStatus = 200;
const seen: { path: string; headers: IncomingMessage['headers'] }[] = [];
let base = '';
const agent = new Agent();

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, base);
  seen.push({ path: url.pathname + url.search, headers: req.headers });
  const page = (body: string) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><html><head><title>Profile</title></head><body>${body}</body></html>`);
  };
  const redirect = (status: number, to: string) => {
    res.writeHead(status, { location: to });
    res.end();
  };
  if (url.pathname === '/api/v2/search/') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        results: [
          { archive_id: '1234567890123AU', format: 'audiobook' },
          { archive_id: '9781492056348', format: 'book' },
        ],
      }),
    );
    return;
  }
  if (url.pathname.startsWith('/api/v2/epubs/')) {
    res.writeHead(metadataStatus, { 'content-type': 'application/json' });
    res.end(metadataStatus === 200 ? '{"title":"x"}' : '{"detail":"no"}');
    return;
  }
  if (mode === 'classic') return page('<script>{"user_type":"Individual"}</script>');
  if (mode === 'expired') return page('<script>{"user_type":"Expired"}</script>');
  if (mode === 'login') return redirect(302, '/login/?next=/profile/');
  if (mode === 'sso') {
    if (url.pathname === '/profile/') return redirect(302, '/profile/sso/');
    if (url.pathname === '/profile/sso/') return redirect(307, '/u/1001/');
    return page('<main>Welcome back</main>');
  }
  if (mode === 'sso-to-login') {
    if (url.pathname === '/profile/') return redirect(302, '/profile/sso/');
    return redirect(302, '/accounts/login/?next=/profile/');
  }
  if (mode === 'loop') return redirect(302, `/hop/${seen.length}/`);
  page('nothing');
}

const server = createServer(handle);
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await agent.close();
});

function session(): Session {
  const { jar } = jarFromImport(
    [
      { name: 'orm-jwt', value: 'x' },
      { name: 'groot_sessionid', value: 'g' },
    ],
    base,
  );
  return new Session({
    name: 'p',
    baseUrl: base,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    acceptLanguage: 'en-GB,en;q=0.8',
    jar,
    agent,
    clock: systemClock,
    pacer: new Pacer(systemClock, 0),
    edge: new EdgeGate(systemClock, DEFAULT_TUNING.edge),
    persistJar: () => {},
    logger: silentLogger,
    timeouts: DEFAULT_TUNING.requests.pool,
    refresh: DEFAULT_TUNING.session,
  });
}

function probe(m: string, status = 200) {
  mode = m;
  metadataStatus = status;
  seen.length = 0;
  return session().probe();
}

test('a profile page with a user type is the whole answer', async () => {
  const r = await probe('classic');
  assert.equal(r.status, 'ok');
  assert.equal(r.userType, 'Individual');
  assert.deepEqual(
    seen.map((s) => s.path),
    ['/profile/'],
  );
});

test('"user_type":"Expired" means the subscription lapsed', async () => {
  const r = await probe('expired');
  assert.equal(r.status, 'lapsed');
});

test('working SSO sessions answer 302 and 307 on the same origin: followed, then confirmed by the API', async () => {
  const r = await probe('sso');
  assert.equal(r.status, 'ok');
  assert.equal(r.userType, undefined);
  assert.match(r.evidence, /302 → \/profile\/sso\/, 307 → \/u\/1001\//);
  assert.match(r.evidence, /metadata API accepted it \(200 for 9781492056348\)/);
  // The audiobook in the search answer is not what the confirmation asks about.
  assert.deepEqual(
    seen.map((s) => s.path),
    ['/profile/', '/profile/sso/', '/u/1001/', '/api/v2/search/?query=*&formats=book&limit=10', '/api/v2/epubs/urn:orm:book:9781492056348/'],
  );
});

test('an ambiguous page whose API call is refused is not logged in', async () => {
  await assert.rejects(probe('sso', 401), (err: unknown) => err instanceof BookdError && err.kind === 'auth');
});

test('a 404 from the API proves nothing about the login: accepted, and said', async () => {
  const r = await probe('sso', 404);
  assert.equal(r.status, 'ok');
  assert.match(r.evidence, /answered 404 for 9781492056348, as it does for a withdrawn book or a partial cookie set/);
});

test('a redirect to a login page, first hop or last, is not logged in', async () => {
  await assert.rejects(probe('login'), (err: unknown) => err instanceof BookdError && err.kind === 'auth' && /login page/.test(err.message));
  await assert.rejects(probe('sso-to-login'), (err: unknown) => err instanceof BookdError && err.kind === 'auth' && /accounts\/login/.test(err.message));
});

test('at most three redirects are followed; past them the API decides', async () => {
  const r = await probe('loop');
  assert.equal(r.status, 'ok');
  assert.match(r.evidence, /redirects more than 3 times/);
  assert.equal(seen.filter((s) => s.path.startsWith('/hop/') || s.path === '/profile/').length, 3);
});

test('the probe looks like a page load of the browser the session came from, never like bookd', async () => {
  await probe('sso');
  const first = seen[0]!.headers;
  assert.equal(first['user-agent'], 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
  assert.equal(first['accept-language'], 'en-GB,en;q=0.8');
  assert.equal(first['sec-fetch-mode'], 'navigate');
  assert.equal(first['sec-fetch-dest'], 'document');
  const api = seen.at(-1)!.headers;
  assert.equal(api.accept, 'application/json');
  assert.equal(api['sec-fetch-mode'], 'cors');
  assert.equal(api.referer, `${base}/`);
  for (const s of seen) assert.doesNotMatch(String(s.headers['user-agent']), /bookd/i);
});
