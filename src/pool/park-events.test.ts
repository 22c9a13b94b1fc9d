import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { systemClock } from '../clock.js';
import { tuned } from '../config.js';
import { createEventBus, type BookdEvent } from '../daemon/events.js';
import { openStore } from '../db/store.js';
import { silentLogger } from '../log.js';
import { OreillyClient } from '../oreilly/client.js';
import { parseCookieExport } from './cookie-import.js';
import { jarFromImport, serializeJar } from './jar.js';
import { SessionPool } from './pool.js';

const TOKEN = `x.${Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url')}.SECRETSIG`;

test('a session the pool parks is one event (session.expired or session.failed) with the command that mends it and no cookie value', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"detail":"Authentication credentials were not provided."}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const store = openStore(':memory:');
  for (const name of ['s1', 's2']) {
    await store.sessions.add({ name, jarJson: serializeJar(jarFromImport(parseCookieExport(JSON.stringify({ 'orm-jwt': TOKEN })).cookies, url).jar) });
  }
  const events = createEventBus(systemClock);
  const heard: BookdEvent[] = [];
  events.on((e) => heard.push(e));
  const pool = await SessionPool.open({
    baseUrl: url,
    store: store.sessions,
    logger: silentLogger,
    intervalMs: 0,
    tuning: tuned({ pool: { acquireTimeoutMs: 300 } }),
    events,
  });
  try {
    await assert.rejects(
      pool.withSession((s) => new OreillyClient().epub(s, '9781234567890')),
      { kind: 'auth' },
    );
    const name = heard[0]?.session;
    assert.ok(name);
    assert.equal((await store.sessions.get(name))!.state, 'expired');
    assert.deepEqual(
      heard.map((e) => [e.event, e.session]),
      [['session.expired', name]],
    );
    assert.match(
      heard[0]!.message,
      new RegExp(`^session ${name} is logged out .*: log in again in the browser and run bookd sessions renew ${name} --from-browser`),
    );
    // Parked again from outside (the daemon's verdict): no second event for the same state.
    await pool.park(name, 'expired', 'again');
    const other = name === 's1' ? 's2' : 's1';
    await pool.park(other, 'partial', 'answered 404 for a book another session read');
    assert.deepEqual(
      heard.map((e) => [e.event, e.session]),
      [
        ['session.expired', name],
        ['session.failed', other],
      ],
    );
    assert.match(
      heard[1]!.message,
      new RegExp(`^session ${other} was parked as partial \\(answered 404.*\\): once that is mended, run bookd sessions renew ${other}`),
    );
    for (const e of heard) assert.ok(!JSON.stringify(e).includes('SECRETSIG'), 'no token in an event');
  } finally {
    await pool.close();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
  }
});
