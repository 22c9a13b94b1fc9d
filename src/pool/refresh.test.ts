import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { Agent } from 'undici';
import { ManualClock } from '../clock.js';
import { BookdError } from '../errors.js';
import { silentLogger } from '../log.js';
import { EdgeGate } from './edge-gate.js';
import { jarFromImport, serializeJar, restoreJar } from './jar.js';
import { Pacer } from './pacer.js';
import { Session } from './session.js';
import { DEFAULT_TUNING } from '../config.js';

/**
 * A content origin and a separate auth origin (docs/SERVICE.md §1): the profile page never
 * renews the token; the token endpoint on the auth origin does, unless told not to.
 */
const clock = new ManualClock(Date.UTC(2026, 11, 1));
/** A one-hour token that ends at `exp`. */
const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ iat: Math.floor(exp / 1000) - 3600, exp: Math.floor(exp / 1000) })).toString('base64url')}.s`;
let tokenEndpointWorks = true;
const contentHits: string[] = [];
const authHits: { path: string; cookie: string | undefined }[] = [];
const otherHits: string[] = [];
let content: Server;
let auth: Server;
let other: Server;
let contentUrl = '';
let authUrl = '';
let otherUrl = '';
const agent = new Agent();

function contentHandler(req: IncomingMessage, res: ServerResponse): void {
  contentHits.push(req.url!);
  if (req.url === '/login-twice') {
    // Two lines of one name in one response: the first is the one to keep.
    res.writeHead(200, {
      'content-type': 'application/json',
      'set-cookie': ['orm-jwt=first; Path=/', 'orm-jwt=second; Path=/', 'groot_sessionid=g1; Path=/', 'groot_sessionid=g2; Path=/'],
    });
    res.end('{}');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<html><script>{"user_type":"Individual"}</script></html>');
}

function authHandler(req: IncomingMessage, res: ServerResponse): void {
  authHits.push({ path: req.url!, cookie: req.headers.cookie });
  if (req.url === '/api/v1/auth/openid/token/' && tokenEndpointWorks) {
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': `orm-jwt=${jwt(clock.now() + 3_600_000)}; Path=/; HttpOnly` });
    res.end('{"expires_in":3600}');
    return;
  }
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end('{"detail":"Authentication credentials were not provided."}');
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<[Server, string]> {
  const s = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return [s, `http://127.0.0.1:${(s.address() as AddressInfo).port}`];
}

before(async () => {
  [content, contentUrl] = await listen(contentHandler);
  [auth, authUrl] = await listen(authHandler);
  [other, otherUrl] = await listen((req, res) => {
    otherHits.push(req.headers.cookie ?? '');
    res.end('x');
  });
});
after(async () => {
  for (const s of [content, auth, other]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await agent.close();
});
beforeEach(() => {
  contentHits.length = 0;
  authHits.length = 0;
  tokenEndpointWorks = true;
});

function session(expiresInMs: number, saved: string[] = []): Session {
  const { jar } = jarFromImport(
    [
      { name: 'orm-jwt', value: jwt(clock.now() + expiresInMs) },
      { name: 'orm-rt', value: 'rt' },
      { name: 'groot_sessionid', value: 'g' },
    ],
    contentUrl,
  );
  return new Session({
    name: 'r',
    baseUrl: contentUrl,
    authUrl,
    userAgent: 'Mozilla/5.0 (test)',
    acceptLanguage: 'en',
    jar,
    agent,
    clock,
    pacer: new Pacer(clock, 0),
    edge: new EdgeGate(clock, DEFAULT_TUNING.edge),
    persistJar: (json) => {
      saved.push(json);
    },
    logger: silentLogger,
    timeouts: DEFAULT_TUNING.requests.pool,
    refresh: DEFAULT_TUNING.session,
  });
}

test('a token near exp that the profile page does not renew is renewed by the token endpoint on the auth origin', async () => {
  const saved: string[] = [];
  const s = session(5 * 60_000, saved);
  const before = s.tokenExpiresAt()!;
  await s.request({ url: '/api/v2/anything/' });
  assert.ok(s.tokenExpiresAt()! > before + 30 * 60_000, 'exp moved by the refresh');
  assert.deepEqual(contentHits, ['/profile/', '/api/v2/anything/'], 'the cheap request first, then the request itself');
  assert.deepEqual(
    authHits.map((h) => h.path),
    ['/api/v1/auth/openid/token/'],
  );
  assert.match(authHits[0]!.cookie ?? '', /orm-rt=rt/, 'the auth origin gets the session cookies');
  // The renewed token was saved before the request that followed it went out.
  assert.ok(saved.length >= 1);
  assert.equal(
    restoreJar(saved.at(-1)!)
      .getCookiesSync(`${contentUrl}/`)
      .find((c) => c.key === 'orm-jwt')?.value,
    s.jar.getCookiesSync(`${contentUrl}/`).find((c) => c.key === 'orm-jwt')?.value,
  );
});

test('a token past exp that nothing renews is an expired session, with what to do', async () => {
  tokenEndpointWorks = false;
  const s = session(-60_000);
  await assert.rejects(s.request({ url: '/api/v2/anything/' }), (err: unknown) => {
    assert.ok(err instanceof BookdError && err.kind === 'auth');
    assert.match(err.message, /neither \/profile\/ nor the token endpoint renewed it: import fresh cookies with bookd sessions add r --cookies FILE --replace/);
    return true;
  });
});

test('a token that is merely close to exp and cannot be renewed yet lets the request go on', async () => {
  tokenEndpointWorks = false;
  const s = session(5 * 60_000);
  const res = await s.request({ url: '/api/v2/anything/' });
  assert.equal(res.status, 200);
  // Asked again only after a minute, not on every request.
  await s.request({ url: '/api/v2/anything/' });
  assert.equal(authHits.length, 1);
  clock.advance(61_000);
  await s.request({ url: '/api/v2/anything/' });
  assert.equal(authHits.length, 2);
});

test('within one response the first Set-Cookie per name, domain and path wins', async () => {
  const s = session(3_600_000);
  await s.request({ url: '/login-twice' });
  const cookies = s.jar.getCookiesSync(`${contentUrl}/`);
  assert.equal(cookies.find((c) => c.key === 'orm-jwt')?.value, 'first');
  assert.equal(cookies.find((c) => c.key === 'groot_sessionid')?.value, 'g1');
  assert.equal(cookies.filter((c) => c.key === 'orm-jwt').length, 1);
  assert.ok(serializeJar(s.jar).includes('"first"'));
});

test('cookies go to the content and the auth origin, and nowhere else', async () => {
  const s = session(3_600_000);
  await assert.rejects(s.request({ url: `${otherUrl}/x` }), /refusing to send session r's cookies/);
  assert.equal(otherHits.length, 0);
  const res = await s.request({ url: `${authUrl}/somewhere` });
  assert.equal(res.status, 401);
});
