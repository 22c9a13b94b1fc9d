import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { Agent } from 'undici';
import { systemClock } from '../clock.js';
import { BookdError } from '../errors.js';
import { silentLogger } from '../log.js';
import { OreillyClient } from '../oreilly/client.js';
import { MachineBudget } from '../pool/budget.js';
import { EdgeGate } from '../pool/edge-gate.js';
import { jarFromImport } from '../pool/jar.js';
import { Pacer } from '../pool/pacer.js';
import { Session } from '../pool/session.js';
import { retrying } from './retry.js';
import { DEFAULT_TUNING } from '../config.js';

/** A service that throttles the way docs/SERVICE.md §3 describes: samples and origin 403s. */
const FULL = `<html><body>${'<p>word '.repeat(4000)}</p></body></html>`;
const SAMPLE = FULL.slice(0, 1994);
let samplesLeft = 0;
let forbiddenLeft = 0;
let loggedIn = true;
const hits: string[] = [];
let base = '';
const agent = new Agent();

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, base);
  hits.push(url.pathname + url.search);
  if (url.pathname === '/profile/') {
    if (!loggedIn) {
      res.writeHead(302, { location: '/login/' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><script>{"user_type":"Individual"}</script></html>');
    return;
  }
  if (forbiddenLeft > 0) {
    forbiddenLeft--;
    res.writeHead(403, { 'content-type': 'application/json', server: 'istio-envoy' });
    res.end('{"detail":"Requests from scripted clients on this network are limited."}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/xhtml+xml' });
  if (samplesLeft > 0) {
    samplesLeft--;
    res.end(SAMPLE);
  } else res.end(FULL);
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
beforeEach(() => {
  hits.length = 0;
  loggedIn = true;
  samplesLeft = 0;
  forbiddenLeft = 0;
});

function setup() {
  const budget = new MachineBudget(systemClock, { start: 400, ceiling: 800, floor: 1, riseMs: 60_000 });
  const { jar } = jarFromImport(
    [
      { name: 'orm-jwt', value: 'x' },
      { name: 'groot_sessionid', value: 'g' },
    ],
    base,
  );
  const session = new Session({
    name: 't',
    baseUrl: base,
    userAgent: 'Mozilla/5.0 (test)',
    acceptLanguage: 'en',
    jar,
    agent,
    clock: systemClock,
    pacer: new Pacer(systemClock, 0),
    edge: new EdgeGate(systemClock, DEFAULT_TUNING.edge),
    budget,
    persistJar: () => {},
    logger: silentLogger,
    timeouts: DEFAULT_TUNING.requests.pool,
    refresh: DEFAULT_TUNING.session,
  });
  const requests = retrying({ clock: systemClock, baseMs: 1, probeFreshMs: DEFAULT_TUNING.retry.probeFreshMs, session, budget, bookId: '9781492056348' });
  const client = new OreillyClient();
  const url = '/api/v2/epubs/urn:orm:book:9781492056348/files/OEBPS/ch01.xhtml';
  const get = () => requests.run(() => client.file(session, url, { fileSize: FULL.length, mediaType: 'application/xhtml+xml' }));
  return { budget, get };
}

test('a sample is fetched again on the same session, every throttle signal halves the budget, and the whole file comes back', async () => {
  const { budget, get } = setup();
  samplesLeft = 2;
  const got = await get();
  assert.equal(got.data.length, FULL.length);
  assert.equal(budget.state().rate, 100, 'two samples, two cuts (400 → 200 → 100)');
  const fileHits = hits.filter((h) => h.includes('/files/'));
  assert.equal(fileHits.length, 3);
  for (const h of fileHits) assert.match(h, /\?download=false$/, 'every file request carries download=false');
  assert.equal(hits.filter((h) => h === '/profile/').length, 0, 'no session is suspected while the file comes');
});

test('samples that outlast the retries end as throttled when the session is fine, never as a session fault', async () => {
  const { get } = setup();
  samplesLeft = 100;
  await assert.rejects(get(), (err: unknown) => err instanceof BookdError && err.kind === 'throttled');
  assert.equal(hits.filter((h) => h.includes('/files/')).length, 5, 'the first try and retries after 1, 2, 4, 8 units');
  assert.equal(hits.filter((h) => h === '/profile/').length, 1, 'one probe decides who is at fault');
});

test('samples for a session whose probe fails too blame the session', async () => {
  const { get } = setup();
  samplesLeft = 100;
  loggedIn = false;
  await assert.rejects(get(), (err: unknown) => err instanceof BookdError && err.kind === 'auth' && /probe fails too/.test(err.message));
});

test('an origin 403 while the probe passes is throttling: retried, and the budget goes down', async () => {
  const { budget, get } = setup();
  forbiddenLeft = 2;
  const got = await get();
  assert.equal(got.data.length, FULL.length);
  assert.ok(budget.state().rate < 400);
  assert.equal(hits.filter((h) => h === '/profile/').length, 1, 'the probe is asked once a minute at most');
});

test('an origin 403 for a session that is not logged in is the session problem it looks like', async () => {
  const { budget, get } = setup();
  forbiddenLeft = 1;
  loggedIn = false;
  await assert.rejects(get(), (err: unknown) => err instanceof BookdError && err.kind === 'auth' && err.status === 403);
  assert.equal(budget.state().rate, 400, 'no throttle signal');
});
